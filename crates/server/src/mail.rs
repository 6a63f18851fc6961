//! Mail: password-reset and invitation links, and the clock's digests and
//! urgent leads, sent through the SMTP server the configuration names.
//! Without one the mail is written to the log.

use lettre::message::header::{
    ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue,
};
use lettre::message::{Body, Mailbox};
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

    /// Sends a plain-text message a member chose to get, with the RFC 8058
    /// one-click unsubscribe headers pointing at `unsubscribe` (an https
    /// or http URL), so mail programs offer the member a way out.
    pub async fn send_chosen(
        &self,
        to: &Email,
        subject: &str,
        body: String,
        unsubscribe: &str,
    ) -> Result<(), MailError> {
        let to: Mailbox = to
            .as_str()
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
        let unsubscribe = ListUnsubscribe::new(unsubscribe)?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(unsubscribe)
            .header(ListUnsubscribePost)
            .header(ContentType::TEXT_PLAIN)
            .body(
                Body::new_with_encoding(body, ContentTransferEncoding::QuotedPrintable)
                    .map_err(|_| MailError::Build("the body cannot be encoded".to_owned()))?,
            )
            .map_err(|e| MailError::Build(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|e| MailError::Send(e.to_string()))
    }
}

/// `List-Unsubscribe: <URL>` (RFC 2369).
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl ListUnsubscribe {
    /// The header for `url`, which must be a plain http(s) URL: it goes
    /// into the header as it is.
    fn new(url: &str) -> Result<Self, MailError> {
        let plain = (url.starts_with("https://") || url.starts_with("http://"))
            && url
                .chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | ','));
        if !plain {
            return Err(MailError::Build(format!(
                "not an unsubscribe URL for a header: {url}"
            )));
        }
        Ok(Self(format!("<{url}>")))
    }
}

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        // Checked plain ASCII without spaces: nothing to encode or fold.
        HeaderValue::dangerous_new_pre_encoded(Self::name(), self.0.clone(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): a POST
/// to the URL unsubscribes, with no page in between.
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
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

    #[test]
    fn only_a_plain_url_goes_into_the_unsubscribe_header() {
        let ok = ListUnsubscribe::new("https://onepane.example/unsubscribe/abc_DEF-1").unwrap();
        assert_eq!(ok.0, "<https://onepane.example/unsubscribe/abc_DEF-1>");
        for bad in [
            "mailto:x@example.com",
            "https://a.example/x y",
            "https://a.example/x>\r\nBcc: victim@example.com",
        ] {
            assert!(ListUnsubscribe::new(bad).is_err(), "{bad}");
        }
    }
}
