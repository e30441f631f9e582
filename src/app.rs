//! The binary's glue: options to file descriptors, the endpoint, hooks for the driver (helper B).
