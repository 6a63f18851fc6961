//! Money: exact decimal amounts in an ISO 4217 currency, rounded explicitly
//! to the currency's minor unit.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Active ISO 4217 codes that use two decimals are the default; these are the
/// exceptions (code, exponent).
const EXPONENT_EXCEPTIONS: &[(&str, u32)] = &[
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    ("CLF", 4),
    ("UYW", 4),
];

/// Active ISO 4217 currency codes (funds and precious metals excluded, except
/// the funds codes with a non-default exponent listed above).
const ACTIVE_CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHF", "CLF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYI", "UYU",
    "UYW", "UZS", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW",
    "ZWG",
];

/// The input was not an active ISO 4217 currency code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an ISO 4217 currency code (for example EUR, USD, JPY)")]
pub struct CurrencyParseError(String);

/// An ISO 4217 currency, such as EUR. The minor-unit exponent is looked up
/// once, when the code is parsed, since every rounding needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

impl Currency {
    /// Euro.
    pub const EUR: Currency = Currency {
        code: *b"EUR",
        exponent: 2,
    };
    /// US dollar.
    pub const USD: Currency = Currency {
        code: *b"USD",
        exponent: 2,
    };

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // Only ever built from ASCII codes in ACTIVE_CODES.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// Digits after the decimal point in the minor unit (JPY 0, EUR 2, KWD 3).
    pub fn exponent(&self) -> u32 {
        u32::from(self.exponent)
    }

    /// Rounds an amount to this currency's minor unit, half away from zero
    /// (the commercial convention).
    pub fn round(&self, amount: Decimal) -> Decimal {
        amount.round_dp_with_strategy(self.exponent(), RoundingStrategy::MidpointAwayFromZero)
    }

    /// Every currency this build knows.
    pub fn all() -> impl Iterator<Item = Currency> {
        ACTIVE_CODES.iter().filter_map(|c| c.parse().ok())
    }
}

impl FromStr for Currency {
    type Err = CurrencyParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        if ACTIVE_CODES.binary_search(&upper.as_str()).is_ok() {
            let b = upper.as_bytes();
            let exponent = EXPONENT_EXCEPTIONS
                .iter()
                .find(|(c, _)| *c == upper)
                .map_or(2, |(_, e)| *e as u8);
            Ok(Currency {
                code: [b[0], b[1], b[2]],
                exponent,
            })
        } else {
            Err(CurrencyParseError(s.to_owned()))
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An exact amount in a currency. The amount is not rounded: call
/// [`Money::rounded`] where a figure is shown or stored as final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// The amount, serialized as a decimal string named `value` (`amount`
    /// is read too).
    #[serde(rename = "value", alias = "amount")]
    pub amount: Decimal,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// An amount in a currency.
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// The same amount rounded to the currency's minor unit.
    pub fn rounded(&self) -> Self {
        Self::new(self.currency.round(self.amount), self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn codes_are_sorted_for_binary_search() {
        let mut sorted = ACTIVE_CODES.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, ACTIVE_CODES);
        for (code, _) in EXPONENT_EXCEPTIONS {
            assert!(ACTIVE_CODES.contains(code), "{code} missing");
        }
    }

    #[test]
    fn exponents_follow_iso_4217() {
        let exp = |c: &str| c.parse::<Currency>().unwrap().exponent();
        assert_eq!(exp("JPY"), 0);
        assert_eq!(exp("EUR"), 2);
        assert_eq!(exp("usd"), 2);
        assert_eq!(exp("KWD"), 3);
        assert_eq!(exp("CLF"), 4);
    }

    #[test]
    fn rounding_is_half_away_from_zero_to_the_minor_unit() {
        let jpy: Currency = "JPY".parse().unwrap();
        assert_eq!(jpy.round(dec!(100.5)), dec!(101));
        assert_eq!(Currency::EUR.round(dec!(1.005)), dec!(1.01));
        assert_eq!(Currency::EUR.round(dec!(-1.005)), dec!(-1.01));
        let kwd: Currency = "KWD".parse().unwrap();
        assert_eq!(kwd.round(dec!(2.12345)), dec!(2.123));
    }

    #[test]
    fn constants_match_their_parsed_codes() {
        assert_eq!("EUR".parse::<Currency>().unwrap(), Currency::EUR);
        assert_eq!("USD".parse::<Currency>().unwrap(), Currency::USD);
        for c in Currency::all() {
            assert_eq!(c.code().parse::<Currency>().unwrap(), c);
        }
    }

    #[test]
    fn money_reads_exact_decimal_strings_only() {
        let m: Money = serde_json::from_str(r#"{"amount":"12500.50","currency":"EUR"}"#).unwrap();
        assert_eq!(m, Money::new(dec!(12500.50), Currency::EUR));
        // A JSON number would pass through binary floating point: refused.
        assert!(serde_json::from_str::<Money>(r#"{"amount":12500.5,"currency":"EUR"}"#).is_err());
        assert!(
            serde_json::from_str::<Money>(r#"{"amount":"1","currency":"EUR","workspace_id":"x"}"#)
                .is_err()
        );
    }

    #[test]
    fn unknown_codes_are_refused() {
        assert!("EURO".parse::<Currency>().is_err());
        assert!("XYZ".parse::<Currency>().is_err());
        assert!("".parse::<Currency>().is_err());
    }
}
