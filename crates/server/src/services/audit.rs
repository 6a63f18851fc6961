//! The audit log as both front ends read it: which kinds of record it
//! names, and what a kind filter may be.

/// The kinds of record the log names, for filters.
pub const KINDS: [&str; 11] = [
    "lead",
    "deal-registration",
    "activation",
    "campaign",
    "asset",
    "price-list",
    "link",
    "member",
    "token",
    "sso",
    "connection",
];

/// Whether `kind` looks like a record kind: lower-case letters and dashes,
/// 1 to 40 of them, starting with a letter.
pub fn valid_kind(kind: &str) -> bool {
    (1..=40).contains(&kind.len())
        && kind.starts_with(|c: char| c.is_ascii_lowercase())
        && kind.chars().all(|c| c.is_ascii_lowercase() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_lower_case_words_with_dashes() {
        assert!(KINDS.iter().all(|k| valid_kind(k)));
        for bad in ["", "Lead", "-lead", "lead_1", "lead; drop", &"a".repeat(41)] {
            assert!(!valid_kind(bad), "{bad}");
        }
    }
}
