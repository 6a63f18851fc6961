//! OpenAPI schemas for the types whose JSON is written by hand: parsed
//! text, ids, spelled enumerations, money, decimals and the few types with
//! their own serde. Each says what serde really sends and accepts, so the
//! API reference cannot promise a shape the code does not keep.

use std::borrow::Cow;

use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema,
    SchemaFormat, Type,
};
use utoipa::openapi::{RefOr, schema::Ref};
use utoipa::{PartialSchema, ToSchema};

use crate::campaign::{AssetBody, DateWindow, NonEmpty, WebUrl};
use crate::deal::{DealDecision, VendorFields};
use crate::money::{Currency, Money};
use crate::price::{Markup, Percent, Price};
use crate::text::LongText;

/// What a decimal string looks like when the server writes it; it reads
/// the same form.
pub const DECIMAL_PATTERN: &str = r"^-?[0-9]+(\.[0-9]+)?$";

/// A doc comment's lines as one paragraph.
pub(crate) fn doc_text(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn nullable(schema: impl Into<RefOr<Schema>>) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(schema)
        .into()
}

fn reference<T: ToSchema>() -> RefOr<Schema> {
    Ref::from_schema_name(T::name()).into()
}

/// An id: a UUID string.
pub(crate) fn id_schema(doc: &[&str]) -> RefOr<Schema> {
    string()
        .format(Some(SchemaFormat::Custom("uuid".into())))
        .description(Some(format!("{} A UUID.", doc_text(doc))))
        .into()
}

/// Text with no control character but tab and line break (long text).
pub const TEXT_PATTERN: &str = r"^[^\u0000-\u0008\u000B-\u001F\u007F]*$";
/// One line: no control character at all.
pub const LINE_PATTERN: &str = r"^[^\u0000-\u001F\u007F]*$";

/// The pattern a parsed text type's value must match, as its parser checks
/// it (what the parser trims or changes the case of, the pattern allows).
fn text_pattern(type_name: &str) -> &'static str {
    match type_name {
        "ExternalId" => "^[!-~]+$",
        "Sku" => r"^[^\s\u0000-\u001F\u007F]+$",
        "Region" => "^[A-Za-z0-9_-]+$",
        "Locale" => "^[A-Za-z]{2,3}([-_][A-Za-z]{2})?$",
        "CountryCode" => "^[A-Za-z]{2}$",
        "Slug" => "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
        "LongText" => TEXT_PATTERN,
        _ => LINE_PATTERN,
    }
}

/// Parsed text: trimmed, 1 to `max` characters, with a known format where
/// there is one and the pattern its parser checks.
pub(crate) fn text_schema(doc: &[&str], max: usize, type_name: &str) -> RefOr<Schema> {
    let format = match type_name {
        "Email" => Some(SchemaFormat::KnownFormat(KnownFormat::Email)),
        _ => None,
    };
    string()
        .format(format)
        .pattern(Some(text_pattern(type_name)))
        .min_length(Some(1))
        .max_length(Some(max))
        .description(Some(format!(
            "{} Leading and trailing whitespace is trimmed.",
            doc_text(doc)
        )))
        .into()
}

/// A spelled enumeration: a string that is one of its spellings, each
/// described.
pub(crate) fn spelled_schema(doc: &[&str], spellings: &[(&str, &[&str])]) -> RefOr<Schema> {
    let mut description = doc_text(doc);
    description.push('\n');
    for (spelling, doc) in spellings {
        description.push_str(&format!("\n- `{spelling}`: {}", doc_text(doc)));
    }
    string()
        .enum_values(Some(spellings.iter().map(|(s, _)| *s)))
        .description(Some(description))
        .into()
}

/// A string that is one of `values`.
pub fn one_of_strings(values: &[&str], description: &str) -> ObjectBuilder {
    string()
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
}

/// A decimal number written as a string, so no digit is lost to binary
/// floating point.
pub fn decimal_schema(description: &str) -> ObjectBuilder {
    string()
        .pattern(Some(DECIMAL_PATTERN))
        .description(Some(format!(
            "{description} A decimal number as a string (`\"12.50\"`); a JSON number is refused."
        )))
        .examples(["12.50"])
}

/// A decimal amount per unit.
pub fn unit_amount_schema() -> ObjectBuilder {
    decimal_schema("An amount per unit.")
}

/// A decimal percentage that may be null.
pub fn decimal_or_null_schema() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(decimal_schema("A percentage."))
        .into()
}

macro_rules! schema_named {
    ($ty:ty, $name:literal, |$unused:ident| $schemas:block) => {
        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }

            fn schemas($unused: &mut Vec<(String, RefOr<Schema>)>) $schemas
        }
    };
    ($ty:ty, $name:literal) => {
        schema_named!($ty, $name, |_schemas| {});
    };
}

/// Pushes a referenced schema and everything it references.
fn collect<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

impl PartialSchema for Currency {
    fn schema() -> RefOr<Schema> {
        string()
            .pattern(Some("^[A-Z]{3}$"))
            .description(Some(
                "An ISO 4217 currency code such as `EUR`, `USD` or `JPY`. Sent in uppercase; \
                 lowercase is accepted.",
            ))
            .examples(["EUR"])
            .into()
    }
}
schema_named!(Currency, "Currency");

impl PartialSchema for Money {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "An exact amount in a currency. `amount` is read as another name for `value`.",
            ))
            .property(
                "value",
                decimal_schema("The amount, not rounded to the currency's minor unit."),
            )
            .required("value")
            .property("currency", reference::<Currency>())
            .required("currency")
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
            .into()
    }
}
schema_named!(Money, "Money", |schemas| { collect::<Currency>(schemas) });

macro_rules! decimal_type {
    ($ty:ty, $name:literal, $description:literal) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                decimal_schema($description).into()
            }
        }
        schema_named!($ty, $name);
    };
}

decimal_type!(
    Percent,
    "Percent",
    "A percentage from 0 to 100 inclusive (`12.5` is 12.5 %)."
);
decimal_type!(
    Markup,
    "Markup",
    "A markup on cost from 0 to 1000 percent inclusive."
);
decimal_type!(
    Price,
    "Price",
    "A price of zero or more, with as many decimals as needed (`0.0125`)."
);

// utoipa's derive builds a generic field's schema through `ComposeSchema`,
// handing over the type arguments' schemas inline; the items refer to
// `T`'s component instead, so it is described once.
impl<T: Clone + ToSchema> utoipa::__dev::ComposeSchema for NonEmpty<T> {
    fn compose(_generics: Vec<RefOr<Schema>>) -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(reference::<T>())
            .min_items(Some(1))
            .description(Some("A list with at least one element."))
            .into()
    }
}

impl<T: Clone + ToSchema> ToSchema for NonEmpty<T> {
    fn name() -> Cow<'static, str> {
        // utoipa appends the type arguments: `NonEmpty_CampaignVariant`.
        Cow::Borrowed("NonEmpty")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        collect::<T>(schemas);
    }
}

impl PartialSchema for VendorFields {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A vendor's own deal-registration fields by name: at most 50, names of 1 to 64 \
                 visible ASCII characters, values of at most 2,000 characters.",
            ))
            .property_names(Some(
                string()
                    .min_length(Some(1))
                    .max_length(Some(64))
                    .pattern(Some("^[!-~]+$")),
            ))
            .additional_properties(Some(string().max_length(Some(2000))))
            .max_properties(Some(50))
            .into()
    }
}
schema_named!(VendorFields, "VendorFields");

impl PartialSchema for DateWindow {
    fn schema() -> RefOr<Schema> {
        let day = |description: &str| {
            nullable(
                string()
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
                    .description(Some(description)),
            )
        };
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "An inclusive range of days; a missing or null end means no limit on that side. \
                 `ends_on` must not come before `starts_on`.",
            ))
            .property("starts_on", day("The first day."))
            .property("ends_on", day("The last day."))
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
            .into()
    }
}
schema_named!(DateWindow, "DateWindow");

impl PartialSchema for WebUrl {
    fn schema() -> RefOr<Schema> {
        string()
            .format(Some(SchemaFormat::Custom("uri".into())))
            .description(Some(
                "A web address: `https://` or `http://` with a host (never `javascript:`, \
                 `data:` or `file:`).",
            ))
            .into()
    }
}
schema_named!(WebUrl, "WebUrl");

/// An object with exactly one property, as serde writes an externally
/// tagged variant.
fn single_property(name: &str, schema: RefOr<Schema>, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .property(name, schema)
        .required(name)
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
}

impl PartialSchema for AssetBody {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .description(Some(
                "Where an asset variant's content is: `{\"url\": ...}` or `{\"text\": ...}`.",
            ))
            .item(single_property(
                "url",
                reference::<WebUrl>(),
                "Downloadable from a web address.",
            ))
            .item(single_property(
                "text",
                reference::<LongText>(),
                "Inline text (emails, social posts).",
            ))
            .into()
    }
}
schema_named!(AssetBody, "AssetBody", |schemas| {
    collect::<WebUrl>(schemas);
    collect::<LongText>(schemas);
});

fn tag(value: &str) -> ObjectBuilder {
    string().enum_values(Some([value]))
}

impl PartialSchema for DealDecision {
    fn schema() -> RefOr<Schema> {
        let approved = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "Protected until `protection_expires_on` (a day after today), with an optional \
                 extra discount.",
            ))
            .property("decision", tag("approved"))
            .required("decision")
            .property("reason", nullable(reference::<LongText>()))
            .property(
                "protection_expires_on",
                string()
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
                    .description(Some("The last day of protection.")),
            )
            .required("protection_expires_on")
            .property("extra_discount", nullable(reference::<Percent>()))
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
        let rejected = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("Refused, with the reason."))
            .property("decision", tag("rejected"))
            .required("decision")
            .property("reason", reference::<LongText>())
            .required("reason")
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
        OneOfBuilder::new()
            .description(Some(
                "The vendor's decision on a submitted registration, tagged by `decision`.",
            ))
            .item(approved)
            .item(rejected)
            .into()
    }
}
schema_named!(DealDecision, "DealDecision", |schemas| {
    collect::<LongText>(schemas);
    collect::<Percent>(schemas);
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::WorkspaceId;
    use crate::program::Tier;
    use crate::text::{Email, Name};

    fn json<T: PartialSchema>() -> serde_json::Value {
        serde_json::to_value(T::schema()).unwrap()
    }

    #[test]
    fn ids_are_uuid_strings_described_by_their_docs() {
        let s = json::<WorkspaceId>();
        assert_eq!(s["type"], "string");
        assert_eq!(s["format"], "uuid");
        assert_eq!(
            s["description"],
            "A partner organization's workspace. A UUID."
        );
        assert_eq!(WorkspaceId::name(), "WorkspaceId");
    }

    #[test]
    fn text_types_say_their_limits_and_format() {
        let name = json::<Name>();
        assert_eq!(
            (name["minLength"].as_u64(), name["maxLength"].as_u64()),
            (Some(1), Some(200))
        );
        assert_eq!(json::<Email>()["format"], "email");
        assert!(json::<Name>().get("format").is_none());
    }

    #[test]
    fn spelled_enums_list_every_spelling() {
        let s = json::<Tier>();
        assert_eq!(
            s["enum"],
            serde_json::json!(["registered", "silver", "gold", "platinum"])
        );
        assert!(
            s["description"]
                .as_str()
                .unwrap()
                .contains("- `gold`: Third tier.")
        );
    }

    #[test]
    fn money_names_its_amount_value() {
        let s = json::<Money>();
        assert_eq!(s["required"], serde_json::json!(["value", "currency"]));
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["properties"]["value"]["pattern"], DECIMAL_PATTERN);
        let written =
            serde_json::to_value(Money::new(rust_decimal::dec!(12.50), Currency::EUR)).unwrap();
        assert_eq!(
            written,
            serde_json::json!({"value": "12.50", "currency": "EUR"})
        );
    }

    #[test]
    fn decimals_are_strings_as_serde_writes_them() {
        let s = json::<Percent>();
        assert_eq!(
            (&s["type"], &s["pattern"]),
            (&"string".into(), &DECIMAL_PATTERN.into())
        );
        let p = Percent::new(rust_decimal::dec!(12.50)).unwrap();
        assert_eq!(serde_json::to_value(p).unwrap(), "12.5");
    }
}
