//! Mail: password-reset and invitation links, sent through the SMTP server
//! the configuration names. Without one the links are written to the log.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use onepane_domain::text::Email;

/// Why mail cannot be set up or sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The SMTP URL does not parse.
    #[error("not an SMTP URL (smtp://, smtps://): {0}")]
    Url(String),
    /// The sender is not a mailbox.
    #[error("not a mailbox such as `Onepane <no-reply@example.com>`: {0}")]
    Sender(String),
    /// The message cannot be built.
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The server refused or could not be reached.
    #[error("cannot send through the SMTP server: {0}")]
    Send(String),
}

/// Checks an SMTP URL without connecting.
pub fn check_url(url: &str) -> Result<(), MailError> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map(drop)
        .map_err(|e| MailError::Url(e.to_string()))
}

/// Checks a sender mailbox.
pub fn check_sender(from: &str) -> Result<(), MailError> {
    from.parse::<Mailbox>()
        .map(drop)
        .map_err(|e| MailError::Sender(e.to_string()))
}

/// Sends mail through one SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for the server at `url`, sending as `from`.
    pub fn new(url: &str, from: &str) -> Result<Mailer, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Url(e.to_string()))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from = from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Sender(e.to_string()))?;
        Ok(Mailer { transport, from })
    }

    /// Sends a plain-text message.
    pub async fn send(&self, to: &Email, subject: &str, body: String) -> Result<(), MailError> {
        let to: Mailbox = to
            .as_str()
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body)
            .map_err(|e| MailError::Build(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|e| MailError::Send(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_senders_are_checked_before_use() {
        assert!(check_url("smtp://127.0.0.1:2525").is_ok());
        assert!(check_url("smtps://user:secret@mail.example.com").is_ok());
        assert!(check_url("http://mail.example.com").is_err());
        assert!(check_sender("Onepane <no-reply@example.com>").is_ok());
        assert!(check_sender("not an address").is_err());
    }
}
