//! What commands write: results on standard output, the error line on
//! standard error.
//!
//! Writes go through `io::Write` rather than `println!`, which panics when
//! the reader has gone away (`onepane ... | head`); a failed write here is
//! an ordinary error with an exit code.

use std::io::{self, Write as _};

use serde::Serialize;

use super::{CliError, error_line};

/// Writes one or more lines of human-readable output.
pub(crate) fn line(text: &str) -> Result<(), CliError> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(CliError::Output)
}

/// Writes a value as one line of JSON.
pub(crate) fn json(value: &impl Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string(value)
        .map_err(|e| CliError::Output(io::Error::new(io::ErrorKind::InvalidData, e)))?;
    line(&text)
}

/// Writes the error line. Nothing is left to tell if standard error is gone.
pub(crate) fn report(error: &CliError) {
    let _ = writeln!(io::stderr().lock(), "{}", error_line(error));
}
