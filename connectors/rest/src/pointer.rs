//! JSON pointers (RFC 6901), checked when the manifest is read so that a
//! typo fails the manifest rather than every record.

use serde::Deserialize;
use serde_json::Value;

/// A JSON pointer: empty (the whole document) or `/`-separated tokens, with
/// `~0` for `~` and `~1` for `/`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct Pointer(String);

impl Pointer {
    /// Checks `text` is a JSON pointer.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if !(text.is_empty() || text.starts_with('/')) {
            return Err(format!(
                "`{text}` is not a JSON pointer: it must start with `/` (such as `/data` or `/contact/email`), or be empty for the whole document"
            ));
        }
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                return Err(format!(
                    "`{text}` is not a JSON pointer: `~` must be followed by 0 (for `~`) or 1 (for `/`)"
                ));
            }
        }
        Ok(Self(text.to_owned()))
    }

    /// The pointer as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The value it points at in `document`; JSON `null` counts as absent.
    pub(crate) fn find<'v>(&self, document: &'v Value) -> Option<&'v Value> {
        document.pointer(&self.0).filter(|v| !v.is_null())
    }
}

impl TryFrom<String> for Pointer {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl std::fmt::Display for Pointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            f.write_str("the whole document (``)")
        } else {
            write!(f, "`{}`", self.0)
        }
    }
}

/// A scalar as text: strings as they are, numbers and booleans as JSON
/// writes them; `None` for anything else.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// What kind of JSON value this is, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_follow_rfc_6901() {
        assert!(Pointer::parse("").is_ok());
        assert!(Pointer::parse("/a/b~1c/~0").is_ok());
        assert!(
            Pointer::parse("data")
                .unwrap_err()
                .contains("must start with `/`")
        );
        assert!(Pointer::parse("/a~2").unwrap_err().contains("`~` must be"));
        assert!(Pointer::parse("/a~").is_err());
    }

    #[test]
    fn null_counts_as_absent() {
        let doc = json!({"a": null, "b": {"c/d": 1}});
        assert_eq!(Pointer::parse("/a").unwrap().find(&doc), None);
        assert_eq!(
            Pointer::parse("/b/c~1d").unwrap().find(&doc),
            Some(&json!(1))
        );
    }
}
