//! Onepane's webhook signature: what vendors' webhooks and the webhook CRM
//! sink send, and how a receiver checks it.
//!
//! Every signed request carries `Onepane-Signature: t=<unix seconds>,v1=<hex>`
//! where `<hex>` is the lowercase hex of `HMAC-SHA256(secret, "<t>.<raw body>")`.
//! The key is the secret's UTF-8 bytes, exactly as the partner or vendor was
//! shown it (prefix included). To verify a request:
//!
//! 1. Split `Onepane-Signature` on `,` into `key=value` pairs; take `t` and
//!    every `v1` (there may be more than one while a secret is rotated;
//!    unknown keys are ignored).
//! 2. Compute `HMAC-SHA256(secret, "<t>.<raw body>")`, where `<t>` is the
//!    `t` value exactly as sent and `<raw body>` the request body bytes
//!    exactly as received (not re-serialized JSON), and encode it as
//!    lowercase hex.
//! 3. Accept when it equals one of the `v1` values (compare in constant
//!    time) and `t` is within a few minutes of your clock (five is
//!    suggested), which stops an old request from being replayed.
//!
//! [`verify`] is the reference implementation; [`sign`] produces the header.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Onepane-Signature";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        // HMAC takes keys of any length (long ones are hashed first).
        Err(_) => unreachable!("HMAC-SHA256 accepts a key of any length"),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0x0f)]])
        .map(char::from)
        .collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

/// The `Onepane-Signature` value for `body` sent at `timestamp` (unix
/// seconds): `t=<timestamp>,v1=<lowercase hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    let signature = mac(secret, &t, body).finalize().into_bytes();
    format!("t={t},v1={}", to_hex(&signature))
}

/// Whether `header_value` is a valid `Onepane-Signature` of `body` under
/// `secret`, made at most `tolerance_secs` seconds from `now` (either way).
/// Any one matching `v1` suffices; the comparison is constant-time.
pub fn verify(
    secret: &[u8],
    header_value: &str,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance_secs: u64,
) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header_value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) if timestamp.is_none() => timestamp = Some(t),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let Some(t) = timestamp else {
        return false;
    };
    let Ok(seconds) = t.parse::<i64>() else {
        return false;
    };
    if now.timestamp().abs_diff(seconds) > tolerance_secs {
        return false;
    }
    signatures
        .into_iter()
        .filter_map(from_hex)
        .any(|expected| mac(secret, t, body).verify_slice(&expected).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_is_hmac_sha256_of_timestamp_dot_body_in_lowercase_hex() {
        let secret = b"whsec_test";
        let body = br#"{"id":"1","type":"lead.accepted"}"#;
        let header = sign(secret, 1_700_000_000, body);

        let mut expected = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        expected.update(b"1700000000.");
        expected.update(body);
        let expected: String = expected
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(header, format!("t=1700000000,v1={expected}"));
        assert_eq!(expected.len(), 64);
        assert!(
            expected
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }

    #[test]
    fn verify_accepts_a_fresh_signature_and_rejects_tampering() {
        let now = Utc::now();
        let body = br#"{"a":1}"#;
        let header = sign(b"whsec_right", now.timestamp(), body);
        assert!(verify(b"whsec_right", &header, body, now, 300));
        // A rotated secret: the receiver may be sent several v1 values.
        let other = sign(b"whsec_old", now.timestamp(), body);
        let v1_old = other.split_once(",v1=").unwrap().1;
        assert!(verify(
            b"whsec_right",
            &format!("{header}, v1={v1_old}"),
            body,
            now,
            300
        ));

        assert!(!verify(b"whsec_wrong", &header, body, now, 300));
        assert!(!verify(b"whsec_right", &header, br#"{"a":2}"#, now, 300));
        let old = sign(b"whsec_right", now.timestamp() - 301, body);
        assert!(!verify(b"whsec_right", &old, body, now, 300));
        let future = sign(b"whsec_right", now.timestamp() + 301, body);
        assert!(!verify(b"whsec_right", &future, body, now, 300));
        // The timestamp is signed: moving it forward breaks the signature.
        let moved = header.replacen(
            &format!("t={}", now.timestamp()),
            &format!("t={}", now.timestamp() + 1),
            1,
        );
        assert!(!verify(b"whsec_right", &moved, body, now, 300));
        for garbage in ["", "t=", "v1=00", "t=abc,v1=00", "t=1,v1=zz"] {
            assert!(
                !verify(b"whsec_right", garbage, body, now, 300),
                "{garbage}"
            );
        }
    }

    #[test]
    fn hex_round_trips() {
        let bytes = [0x00, 0x0f, 0xa5, 0xff];
        assert_eq!(to_hex(&bytes), "000fa5ff");
        assert_eq!(from_hex("000fa5ff").unwrap(), bytes);
        assert_eq!(from_hex("0"), None);
        assert_eq!(from_hex("+f"), None);
    }
}
