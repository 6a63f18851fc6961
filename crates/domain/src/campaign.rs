//! Vendor content published into workspaces: campaigns, their activations,
//! and marketing assets, with the audience rules that decide who sees them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::ids::{ActivationId, AssetId, CampaignId, UserId, VendorId, WorkspaceId};
use crate::program::{PartnerType, Tier, spelled_enum};
use crate::text::{ExternalId, Locale, LongText, Name, Region, Slug, Tag};

/// An inclusive range of days; an open end means no limit on that side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "RawWindow")]
pub struct DateWindow {
    starts_on: Option<NaiveDate>,
    ends_on: Option<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    starts_on: Option<NaiveDate>,
    ends_on: Option<NaiveDate>,
}

/// A window whose end comes before its start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the window ends ({ends_on}) before it starts ({starts_on})")]
pub struct DateWindowError {
    starts_on: NaiveDate,
    ends_on: NaiveDate,
}

impl TryFrom<RawWindow> for DateWindow {
    type Error = DateWindowError;
    fn try_from(raw: RawWindow) -> Result<Self, Self::Error> {
        DateWindow::new(raw.starts_on, raw.ends_on)
    }
}

impl DateWindow {
    /// A window from `starts_on` to `ends_on`, both inclusive.
    pub fn new(
        starts_on: Option<NaiveDate>,
        ends_on: Option<NaiveDate>,
    ) -> Result<Self, DateWindowError> {
        if let (Some(s), Some(e)) = (starts_on, ends_on)
            && e < s
        {
            return Err(DateWindowError {
                starts_on: s,
                ends_on: e,
            });
        }
        Ok(Self { starts_on, ends_on })
    }

    /// A window with no limits.
    pub const fn always() -> Self {
        Self {
            starts_on: None,
            ends_on: None,
        }
    }

    /// The first day, if limited.
    pub fn starts_on(&self) -> Option<NaiveDate> {
        self.starts_on
    }

    /// The last day, if limited.
    pub fn ends_on(&self) -> Option<NaiveDate> {
        self.ends_on
    }

    /// Whether `day` falls inside the window.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.starts_on.is_none_or(|s| s <= day) && self.ends_on.is_none_or(|e| day <= e)
    }
}

/// Who a campaign or asset is for. An empty list means "everyone" on that axis.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Audience {
    /// Tiers included.
    #[serde(default)]
    pub tiers: Vec<Tier>,
    /// Partner types included.
    #[serde(default)]
    pub partner_types: Vec<PartnerType>,
    /// Regions included.
    #[serde(default)]
    pub regions: Vec<Region>,
}

impl Audience {
    /// Whether a partner with this tier, type and regions is in the audience.
    pub fn includes(&self, tier: Tier, partner_type: PartnerType, regions: &[Region]) -> bool {
        (self.tiers.is_empty() || self.tiers.contains(&tier))
            && (self.partner_types.is_empty() || self.partner_types.contains(&partner_type))
            && (self.regions.is_empty() || regions.iter().any(|r| self.regions.contains(r)))
    }
}

/// The content of a co-branded landing page, in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LandingContent {
    /// The page's headline.
    pub headline: Name,
    /// The page's body text.
    pub body: LongText,
    /// The label of the form's submit button.
    pub call_to_action: Name,
}

/// A campaign's text in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CampaignVariant {
    /// The language.
    pub locale: Locale,
    /// The campaign's name in that language.
    pub name: Name,
    /// A short description for partners.
    pub description: Option<LongText>,
    /// The landing page.
    pub landing: LandingContent,
}

spelled_enum!(
    /// Whether a campaign is live.
    CampaignStatus, "campaign status" {
        /// Available to its audience.
        Published => "published",
        /// Withdrawn by the vendor; activations stop taking leads.
        Archived => "archived",
    }
);

/// What a vendor publishes as a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CampaignContent {
    /// When the campaign runs.
    #[serde(default)]
    pub window: DateWindow,
    /// Who may activate it.
    #[serde(default)]
    pub audience: Audience,
    /// The texts, one per language; the first is the default.
    pub variants: NonEmpty<CampaignVariant>,
    /// External ids of the assets that go with it.
    #[serde(default)]
    pub asset_external_ids: Vec<ExternalId>,
}

impl CampaignContent {
    /// The variant for `locale`, else one in the same language, else the default.
    pub fn variant_for(&self, locale: &Locale) -> &CampaignVariant {
        let all = self.variants.as_slice();
        all.iter()
            .find(|v| &v.locale == locale)
            .or_else(|| {
                all.iter()
                    .find(|v| v.locale.language() == locale.language())
            })
            .unwrap_or(self.variants.first())
    }
}

/// A vendor's campaign as it lands in one workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Campaign {
    /// Its id in the workspace.
    pub id: CampaignId,
    /// The workspace it was published into.
    pub workspace_id: WorkspaceId,
    /// The publishing vendor.
    pub vendor_id: VendorId,
    /// The vendor's id for it.
    pub external_id: ExternalId,
    /// Published or archived.
    pub status: CampaignStatus,
    /// What the vendor published.
    pub content: CampaignContent,
    /// When it arrived.
    pub created_at: DateTime<Utc>,
    /// When the vendor last changed it.
    pub updated_at: DateTime<Utc>,
}

/// A workspace's one-click activation of a campaign: a co-branded landing page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignActivation {
    /// Its id.
    pub id: ActivationId,
    /// The activating workspace.
    pub workspace_id: WorkspaceId,
    /// The campaign's vendor.
    pub vendor_id: VendorId,
    /// The campaign.
    pub campaign_id: CampaignId,
    /// The public landing page is at `/l/{slug}`.
    pub slug: Slug,
    /// Who clicked Activate.
    pub activated_by: Option<UserId>,
    /// When.
    pub activated_at: DateTime<Utc>,
}

spelled_enum!(
    /// What an asset is.
    AssetKind, "asset kind" {
        /// A PDF or office document.
        Document => "document",
        /// An image or banner.
        Image => "image",
        /// A video.
        Video => "video",
        /// A slide deck.
        Presentation => "presentation",
        /// A ready-made email.
        EmailTemplate => "email-template",
        /// A ready-made social media post.
        SocialPost => "social-post",
        /// A link to a page.
        Link => "link",
    }
);

/// A web address that is safe to link to from a page: `https` or `http`
/// with a host (never `javascript:`, `data:` or `file:`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebUrl(Url);

/// A URL that is not a web address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a web address (expected https://... or http://...)")]
pub struct WebUrlError(String);

impl WebUrl {
    /// The URL.
    pub fn as_url(&self) -> &Url {
        &self.0
    }
}

impl std::str::FromStr for WebUrl {
    type Err = WebUrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let shown = || WebUrlError(s.chars().take(200).collect());
        let url = Url::parse(s.trim()).map_err(|_| shown())?;
        if matches!(url.scheme(), "https" | "http") && url.host().is_some() {
            Ok(WebUrl(url))
        } else {
            Err(shown())
        }
    }
}

impl TryFrom<String> for WebUrl {
    type Error = WebUrlError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<WebUrl> for String {
    fn from(u: WebUrl) -> String {
        u.0.into()
    }
}

/// Where an asset variant's content is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AssetBody {
    /// Downloadable from a web address.
    Url(WebUrl),
    /// Inline text (emails, social posts).
    Text(LongText),
}

/// An asset in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssetVariant {
    /// The language.
    pub locale: Locale,
    /// The title in that language.
    pub title: Name,
    /// The content.
    pub body: AssetBody,
}

/// What a vendor publishes as an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssetContent {
    /// What it is.
    pub kind: AssetKind,
    /// Language variants; the first is the default.
    pub variants: NonEmpty<AssetVariant>,
    /// Search tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Who may see it.
    #[serde(default)]
    pub audience: Audience,
}

/// A vendor's asset as it lands in one workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Asset {
    /// Its id in the workspace.
    pub id: AssetId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The publishing vendor.
    pub vendor_id: VendorId,
    /// The vendor's id for it.
    pub external_id: ExternalId,
    /// What the vendor published.
    pub content: AssetContent,
    /// When it arrived.
    pub created_at: DateTime<Utc>,
    /// When the vendor last changed it.
    pub updated_at: DateTime<Utc>,
}

/// A list with at least one element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<T>", into = "Vec<T>")]
pub struct NonEmpty<T: Clone>(Vec<T>);

/// An empty list where one item at least is needed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the list must have at least one element")]
pub struct EmptyListError;

impl<T: Clone> NonEmpty<T> {
    /// A list of one.
    pub fn one(first: T) -> Self {
        Self(vec![first])
    }

    /// The first element.
    pub fn first(&self) -> &T {
        // Construction guarantees one element.
        &self.0[0]
    }

    /// All elements.
    pub fn as_slice(&self) -> &[T] {
        &self.0
    }
}

impl<T: Clone> TryFrom<Vec<T>> for NonEmpty<T> {
    type Error = EmptyListError;
    fn try_from(v: Vec<T>) -> Result<Self, Self::Error> {
        if v.is_empty() {
            Err(EmptyListError)
        } else {
            Ok(Self(v))
        }
    }
}

impl<T: Clone> From<NonEmpty<T>> for Vec<T> {
    fn from(v: NonEmpty<T>) -> Vec<T> {
        v.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn windows_are_inclusive_and_ordered() {
        let w = DateWindow::new(Some(day("2026-01-01")), Some(day("2026-01-31"))).unwrap();
        assert!(w.contains(day("2026-01-01")));
        assert!(w.contains(day("2026-01-31")));
        assert!(!w.contains(day("2026-02-01")));
        assert!(DateWindow::new(Some(day("2026-02-01")), Some(day("2026-01-01"))).is_err());
        let r: Result<DateWindow, _> =
            serde_json::from_str(r#"{"starts_on":"2026-02-01","ends_on":"2026-01-01"}"#);
        assert!(r.is_err());
    }

    #[test]
    fn empty_audience_axes_include_everyone() {
        let nordics = Region::parse("nordics").unwrap();
        let a = Audience {
            tiers: vec![Tier::Gold, Tier::Platinum],
            ..Audience::default()
        };
        assert!(a.includes(Tier::Gold, PartnerType::Var, &[]));
        assert!(!a.includes(Tier::Silver, PartnerType::Var, &[]));
        let b = Audience {
            regions: vec![nordics.clone()],
            ..Audience::default()
        };
        assert!(b.includes(Tier::Registered, PartnerType::Msp, &[nordics]));
        assert!(!b.includes(Tier::Registered, PartnerType::Msp, &[]));
    }

    #[test]
    fn variant_falls_back_by_language_then_default() {
        let v = |loc: &str| CampaignVariant {
            locale: Locale::parse(loc).unwrap(),
            name: Name::parse(loc).unwrap(),
            description: None,
            landing: LandingContent {
                headline: Name::parse("h").unwrap(),
                body: LongText::parse("b").unwrap(),
                call_to_action: Name::parse("c").unwrap(),
            },
        };
        let c = CampaignContent {
            window: DateWindow::always(),
            audience: Audience::default(),
            variants: NonEmpty::try_from(vec![v("en"), v("fi")]).unwrap(),
            asset_external_ids: vec![],
        };
        assert_eq!(
            c.variant_for(&Locale::parse("fi").unwrap()).name.as_str(),
            "fi"
        );
        assert_eq!(
            c.variant_for(&Locale::parse("fi-FI").unwrap())
                .name
                .as_str(),
            "fi"
        );
        assert_eq!(
            c.variant_for(&Locale::parse("sv").unwrap()).name.as_str(),
            "en"
        );
    }

    #[test]
    fn asset_links_are_web_addresses_only() {
        assert!("https://cdn.example.com/a.pdf".parse::<WebUrl>().is_ok());
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "nope",
        ] {
            assert!(bad.parse::<WebUrl>().is_err(), "{bad}");
        }
        let body: Result<AssetBody, _> = serde_json::from_str(r#"{"url":"javascript:alert(1)"}"#);
        assert!(body.is_err());
    }

    #[test]
    fn campaigns_need_a_variant() {
        let r: Result<NonEmpty<u8>, _> = serde_json::from_str("[]");
        assert!(r.is_err());
    }
}
