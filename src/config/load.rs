//! Reading a configuration file: at most [`Limits::max_bytes`] are read (a huge or endless file is
//! refused, not loaded), into a buffer that is wiped afterwards since it holds the private key.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

use super::error::{ConfigError, ErrorKind};
use super::{Config, Limits, parse};

/// Reads and parses the configuration at `path`; errors name the path as given.
pub(crate) fn load(path: &Path, limits: &Limits) -> Result<Config, ConfigError> {
    let source = path.display().to_string();
    let io_error = |e| ConfigError::new(&source, 0, ErrorKind::Io(e));
    let file = File::open(path).map_err(io_error)?;
    // One byte more than allowed tells "too large" from "exactly at the limit".
    let bound = limits.max_bytes.saturating_add(1);
    // Sized from fstat so reading does not reallocate (which would leave unwiped copies behind).
    let size = file.metadata().map_err(io_error)?.len();
    let mut text = Zeroizing::new(Vec::with_capacity(
        usize::try_from(size).unwrap_or(bound).min(bound),
    ));
    file.take(bound as u64)
        .read_to_end(&mut text)
        .map_err(io_error)?;
    parse(&text, &source, limits)
}
