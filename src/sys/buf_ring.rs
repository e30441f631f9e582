//! (helper D)
