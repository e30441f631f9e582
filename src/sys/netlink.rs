//! (helper B)
