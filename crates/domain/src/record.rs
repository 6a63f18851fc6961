//! What vendor sources yield: records already mapped onto Onepane's
//! entities, a page at a time. The connector SDK reads them; the store
//! writes them.

use crate::Tier;
use crate::campaign::{AssetContent, CampaignContent};
use crate::lead::NewVendorLead;
use crate::price::{PriceItemInput, PriceListTerms};
use crate::text::ExternalId;
use serde::{Deserialize, Serialize};

/// The kinds of data a vendor source can yield.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Leads the vendor passes to the partner.
    Leads,
    /// Campaigns the partner may activate.
    Campaigns,
    /// Marketing assets.
    Assets,
    /// Price lists' terms (name, currency, tier discounts).
    PriceLists,
    /// Price lists' items.
    PriceItems,
    /// The partner's tier in the vendor's program.
    Tier,
    /// The vendor's decisions on the partner's deal registrations, read
    /// back from the vendor's own system.
    DealStatus,
}

impl Stream {
    /// Every stream, in the order a sync reads them: price lists before
    /// their items.
    pub const ALL: [Stream; 7] = [
        Stream::Tier,
        Stream::Campaigns,
        Stream::Assets,
        Stream::PriceLists,
        Stream::PriceItems,
        Stream::Leads,
        Stream::DealStatus,
    ];

    /// The stored spelling (`leads`, `price_items`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Leads => "leads",
            Stream::Campaigns => "campaigns",
            Stream::Assets => "assets",
            Stream::PriceLists => "price_lists",
            Stream::PriceItems => "price_items",
            Stream::Tier => "tier",
            Stream::DealStatus => "deal_status",
        }
    }
}

impl std::fmt::Display for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Stream {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Stream::ALL
            .into_iter()
            .find(|stream| stream.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a stream (leads, campaigns, assets, price_lists, price_items, tier, deal_status)"))
    }
}

/// How a stream is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Only records changed since the last complete pass (by the stream's
    /// cursor field); nothing is ever deleted.
    Incremental,
    /// Every record each time; after a complete successful pass, what the
    /// source no longer has is deleted.
    FullRefresh,
}

/// A stream a source offers, and how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSpec {
    /// The stream.
    pub stream: Stream,
    /// Incremental or full refresh.
    pub mode: SyncMode,
}

/// One record, mapped onto the entity it becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// A lead sent to the partner.
    Lead(NewVendorLead),
    /// A campaign.
    Campaign {
        /// The vendor's id for it.
        external_id: ExternalId,
        /// What it says and who may activate it.
        content: CampaignContent,
    },
    /// An asset.
    Asset {
        /// The vendor's id for it.
        external_id: ExternalId,
        /// What it is.
        content: AssetContent,
    },
    /// A price list's terms.
    PriceList {
        /// The vendor's id for it.
        external_id: ExternalId,
        /// Name, currency, discounts.
        terms: PriceListTerms,
    },
    /// One item of a price list.
    PriceItem {
        /// The vendor's id of the list it belongs to.
        price_list: ExternalId,
        /// The item.
        item: PriceItemInput,
    },
    /// The partner's tier.
    Tier(Tier),
    /// The vendor's word on one of the partner's registrations.
    DealStatus(crate::deal::VendorDealStatus),
}

impl Record {
    /// The key the record is stored under within its stream: the external
    /// id; for price items the list's external id, a space and the SKU
    /// (external ids have no spaces, so the first space splits them); `tier`
    /// for the tier.
    pub fn key(&self) -> String {
        match self {
            Record::Lead(lead) => lead.external_id.as_str().to_owned(),
            Record::Campaign { external_id, .. }
            | Record::Asset { external_id, .. }
            | Record::PriceList { external_id, .. } => external_id.as_str().to_owned(),
            Record::PriceItem { price_list, item } => {
                format!("{} {}", price_list.as_str(), item.sku.as_str())
            }
            Record::Tier(_) => "tier".to_owned(),
            Record::DealStatus(status) => status.key(),
        }
    }

    /// The stream a record of this kind belongs to.
    pub fn stream(&self) -> Stream {
        match self {
            Record::Lead(_) => Stream::Leads,
            Record::Campaign { .. } => Stream::Campaigns,
            Record::Asset { .. } => Stream::Assets,
            Record::PriceList { .. } => Stream::PriceLists,
            Record::PriceItem { .. } => Stream::PriceItems,
            Record::Tier(_) => Stream::Tier,
            Record::DealStatus(_) => Stream::DealStatus,
        }
    }
}

/// A record and the value of its stream's incremental cursor field, when
/// the stream has one.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// The record.
    pub record: Record,
    /// The cursor field's value (a timestamp string or a number).
    pub cursor: Option<serde_json::Value>,
}

impl SourceRecord {
    /// A record without a cursor value.
    pub fn new(record: Record) -> Self {
        Self {
            record,
            cursor: None,
        }
    }
}

/// A source record that could not be mapped; it counts as failed and does
/// not stop the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordError {
    /// Where: an index in the page, a JSON pointer or a line number.
    pub at: String,
    /// The record's key, when it could be read.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// One page of a stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The records.
    pub records: Vec<SourceRecord>,
    /// Records that could not be mapped.
    pub rejected: Vec<RecordError>,
    /// Where the next page starts; `None` when this was the last.
    pub next: Option<serde_json::Value>,
    /// How many records the stream has in all, when the source says.
    pub total: Option<u64>,
}

/// What a page's answer was when it was last read whole, kept so that the
/// same answer need not be read again: its fingerprint (a hash of what the
/// source's answer was made of), where the next page started, the total
/// the source gave and how many records it held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeenPage {
    /// The fingerprint of the answer.
    pub fingerprint: Vec<u8>,
    /// Where the next page started.
    pub next: Option<serde_json::Value>,
    /// The total the source gave.
    pub total: Option<u64>,
    /// The records it held.
    pub records: u64,
}

/// Orders two cursor values: numbers by value, strings (ISO 8601
/// timestamps in one format) lexicographically; numbers sort before
/// strings, anything else last.
pub fn cursor_cmp(a: &serde_json::Value, b: &serde_json::Value) -> std::cmp::Ordering {
    use serde_json::Value;
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => x
                .as_f64()
                .unwrap_or_default()
                .total_cmp(&y.as_f64().unwrap_or_default()),
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Number(_), _) => Ordering::Less,
        (_, Value::Number(_)) => Ordering::Greater,
        (Value::String(_), _) => Ordering::Less,
        (_, Value::String(_)) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::cmp::Ordering;

    #[test]
    fn streams_spell_and_parse() {
        for stream in Stream::ALL {
            assert_eq!(stream.as_str().parse::<Stream>(), Ok(stream));
        }
        assert!("users".parse::<Stream>().is_err());
    }

    #[test]
    fn cursors_order_numbers_by_value_and_strings_lexically() {
        assert_eq!(cursor_cmp(&json!(9), &json!(10)), Ordering::Less);
        assert_eq!(cursor_cmp(&json!(1.5), &json!(1.25)), Ordering::Greater);
        assert_eq!(
            cursor_cmp(
                &json!("2026-01-02T00:00:00Z"),
                &json!("2026-01-10T00:00:00Z")
            ),
            Ordering::Less
        );
        assert_eq!(cursor_cmp(&json!(5), &json!("a")), Ordering::Less);
        assert_eq!(cursor_cmp(&json!(null), &json!("a")), Ordering::Greater);
    }
}
