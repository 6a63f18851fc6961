//! Errors told in one line: the message and its causes.

use std::error::Error as StdError;

/// The seconds a 503 asks the client to wait (API and portal alike):
/// about as long as a database restart or a replica's failover takes.
pub const UNAVAILABLE_RETRY_AFTER: u32 = 5;

/// The error and its causes on one line, `: `-separated, for logs and the
/// command line.
pub fn cause_chain(error: &(dyn StdError + 'static)) -> String {
    let mut line = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        // Some errors repeat their cause in their own message; say it once.
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        next = cause.source();
    }
    // Some causes (database drivers, parsers) span lines; a report must not.
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open the store: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot create {0}")]
    struct Wraps(&'static str, #[source] std::io::Error);

    #[test]
    fn causes_are_joined_on_one_line() {
        let error = Wraps("/data", std::io::Error::other("disk\nfull"));
        assert_eq!(cause_chain(&error), "cannot create /data: disk full");
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let error = Repeats(std::io::Error::other("refused"));
        assert_eq!(cause_chain(&error), "cannot open the store: refused");
    }
}
