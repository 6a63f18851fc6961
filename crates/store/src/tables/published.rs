//! What vendors publish to their programs, stored once per vendor
//! (`published_*`), and what a workspace sees of it together with what its
//! own connections pulled (the `workspace_*` views).

use chrono::{DateTime, Utc};
use onepane_domain::campaign::*;
use onepane_domain::price::*;
use onepane_domain::program::{PartnerType, Tier};
use onepane_domain::text::{ExternalId, Region, Sku};
use onepane_domain::*;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use crate::rows::*;

pub(crate) const PUBLISHED_CAMPAIGN_COLUMNS: &str =
    "id, vendor_id, external_id, status, content, created_at, updated_at";
pub(crate) const PUBLISHED_ASSET_COLUMNS: &str =
    "id, vendor_id, external_id, content, created_at, updated_at";
pub(crate) const PUBLISHED_LIST_COLUMNS: &str =
    "id, vendor_id, external_id, terms, created_at, updated_at";
pub(crate) const PUBLISHED_ITEM_COLUMNS: &str = "id, vendor_id, price_list_id, currency, item";

/// A campaign as its vendor published it: one row, whatever the number of
/// partners it reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedCampaign {
    /// Its id (the one partners' activations name).
    pub id: CampaignId,
    /// The vendor.
    pub vendor_id: VendorId,
    /// The vendor's id for it.
    pub external_id: ExternalId,
    /// Published or archived.
    pub status: CampaignStatus,
    /// What the vendor published.
    pub content: CampaignContent,
    /// When it was first published.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

table_row! {
    PublishedCampaignRow => PublishedCampaign {
        id: Uuid => CampaignId::from_uuid(id),
        vendor_id: Uuid => VendorId::from_uuid(vendor_id),
        external_id: String => parse("campaign", &external_id)?,
        status: String => parse("campaign", &status)?,
        content: Json<CampaignContent> => content.0,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
}

/// An asset as its vendor published it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedAsset {
    /// Its id.
    pub id: AssetId,
    /// The vendor.
    pub vendor_id: VendorId,
    /// The vendor's id for it.
    pub external_id: ExternalId,
    /// What the vendor published.
    pub content: AssetContent,
    /// When it was first published.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

table_row! {
    PublishedAssetRow => PublishedAsset {
        id: Uuid => AssetId::from_uuid(id),
        vendor_id: Uuid => VendorId::from_uuid(vendor_id),
        external_id: String => parse("asset", &external_id)?,
        content: Json<AssetContent> => content.0,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
}

/// A price list as its vendor published it (its items apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPriceList {
    /// Its id.
    pub id: PriceListId,
    /// The vendor.
    pub vendor_id: VendorId,
    /// The vendor's id for it.
    pub external_id: ExternalId,
    /// Its terms.
    pub terms: PriceListTerms,
    /// When it was first published.
    pub created_at: DateTime<Utc>,
    /// When its terms or items last changed.
    pub updated_at: DateTime<Utc>,
}

table_row! {
    PublishedListRow => PublishedPriceList {
        id: Uuid => PriceListId::from_uuid(id),
        vendor_id: Uuid => VendorId::from_uuid(vendor_id),
        external_id: String => parse("price list", &external_id)?,
        terms: Json<PriceListTerms> => terms.0,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
}

/// One item of a published price list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPriceItem {
    /// Its id.
    pub id: PriceItemId,
    /// The vendor.
    pub vendor_id: VendorId,
    /// The list it belongs to.
    pub price_list_id: PriceListId,
    /// The list's currency.
    pub currency: Currency,
    /// What the vendor published.
    pub item: PriceItemInput,
}

table_row! {
    PublishedItemRow => PublishedPriceItem {
        id: Uuid => PriceItemId::from_uuid(id),
        vendor_id: Uuid => VendorId::from_uuid(vendor_id),
        price_list_id: Uuid => PriceListId::from_uuid(price_list_id),
        currency: String => parse("price item", &currency)?,
        item: Json<PriceItemInput> => item.0,
    }
}

/// One change to a published price list's items, by SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceItemChange {
    /// Adds the item, or replaces the one with its SKU.
    Upsert(PriceItemInput),
    /// Removes the item with this SKU (nothing when there is none).
    Delete(Sku),
}

impl PriceItemChange {
    /// The SKU it changes.
    pub fn sku(&self) -> &Sku {
        match self {
            PriceItemChange::Upsert(i) => &i.sku,
            PriceItemChange::Delete(s) => s,
        }
    }
}

/// What a change to a price list's items did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemsChanged {
    /// Items added or replaced.
    pub upserted: u64,
    /// Items removed.
    pub deleted: u64,
    /// Items the list holds now.
    pub total: u64,
}

/// How many of a vendor's active partners each combination of tier,
/// partner type and regions has: what a piece of content reaches is
/// counted from it without touching a row per partner.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    pub(crate) groups: Vec<(Tier, PartnerType, Vec<Region>, u64)>,
}

impl Reach {
    /// How many active partners are in `audience`.
    pub fn of(&self, audience: &Audience) -> u64 {
        self.groups
            .iter()
            .filter(|(t, p, r, _)| audience.includes(*t, *p, r))
            .map(|(_, _, _, n)| n)
            .sum()
    }

    /// How many active partners there are.
    pub fn partners(&self) -> u64 {
        self.groups.iter().map(|g| g.3).sum()
    }
}
