//! Logging to stderr with a level, and a rate limiter for lines caused by network input.
