//! Reading and generating the pre-shared key file (64 hex digits and a newline).
