//! One established session: a key per direction, the send counter and the replay window.
