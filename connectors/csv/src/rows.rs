//! One row of a file, mapped onto a lead or a price item.

use std::fmt::Display;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use csv::ByteRecord;
use onepane_connector::Record;
use onepane_domain::lead::{Company, Contact, NewVendorLead};
use onepane_domain::price::{Percent, Price, PriceItemInput, VolumeBreak};
use onepane_domain::text::{Category, CountryCode, Email, ExternalId, LongText, Name, Sku};
use rust_decimal::Decimal;

use crate::columns::Columns;

/// What became of a row.
#[derive(Debug)]
pub(crate) struct Mapped {
    /// Its id (external id or SKU) as written, when readable.
    pub(crate) id: Option<String>,
    /// The record, when every cell it needs parsed.
    pub(crate) record: Option<Record>,
    /// What is wrong with it, naming the columns.
    pub(crate) problems: Vec<String>,
}

/// A lead from a row.
pub(crate) fn lead(columns: &Columns, row: &ByteRecord) -> Mapped {
    let mut cells = Cells::new(columns, row);
    let id = cells.peek("external_id");
    if !cells.problems.is_empty() {
        return cells.into_mapped(id, None);
    }
    let external_id = cells.required("external_id", ExternalId::parse);
    let name = cells.required("name", Name::parse);
    let email = cells.optional("email", Email::parse);
    let phone = cells.optional("phone", Name::parse);
    let title = cells.optional("title", Name::parse);
    let company_name = cells.optional("company", Name::parse);
    let domain = cells.optional("domain", Name::parse);
    let country = cells.optional("country", CountryCode::parse);
    let message = cells.optional("message", LongText::parse);
    let respond_by = cells.optional("respond_by", deadline);
    let company = match company_name {
        Some(name) => Some(Company {
            name,
            domain,
            country,
        }),
        None => {
            if (domain.is_some() || country.is_some()) && cells.peek("company").is_none() {
                let header = cells.header("company");
                cells.problems.push(format!(
                    "column `{header}` is empty, but the row gives the company's domain or country"
                ));
            }
            None
        }
    };
    let record = match (external_id, name) {
        (Some(external_id), Some(name)) => Some(Record::Lead(NewVendorLead {
            external_id,
            contact: Contact {
                name,
                email,
                phone,
                title,
            },
            company,
            message,
            respond_by,
        })),
        _ => None,
    };
    cells.into_mapped(id, record)
}

/// A price item of `list` from a row.
pub(crate) fn price_item(columns: &Columns, row: &ByteRecord, list: &ExternalId) -> Mapped {
    let mut cells = Cells::new(columns, row);
    let id = cells.peek("sku");
    if !cells.problems.is_empty() {
        return cells.into_mapped(id, None);
    }
    let sku = cells.required("sku", Sku::parse);
    let name = cells.required("name", Name::parse);
    let category = cells.optional("category", Category::parse);
    let list_price = cells.required("list_price", price);
    let volume_breaks = cells
        .optional("volume_breaks", volume_breaks)
        .unwrap_or_default();
    let record = match (sku, name, list_price) {
        (Some(sku), Some(name), Some(list_price)) => Some(Record::PriceItem {
            price_list: list.clone(),
            item: PriceItemInput {
                sku,
                name,
                category,
                list_price,
                volume_breaks,
                promotions: Vec::new(),
            },
        }),
        _ => None,
    };
    cells.into_mapped(id, record)
}

/// A row's cells by field, collecting what is wrong with them.
struct Cells<'r> {
    columns: &'r Columns,
    row: &'r ByteRecord,
    problems: Vec<String>,
}

impl<'r> Cells<'r> {
    /// The row's cells; a row shorter than the header, or longer with
    /// anything in the extra cells, is a problem.
    fn new(columns: &'r Columns, row: &'r ByteRecord) -> Self {
        let mut problems = Vec::new();
        let width = columns.width;
        let extra_filled = row
            .iter()
            .skip(width)
            .any(|cell| !cell.iter().all(u8::is_ascii_whitespace));
        if row.len() < width || extra_filled {
            problems.push(format!(
                "the row has {} cells; the header has {width} (is a quote or the delimiter off?)",
                row.len()
            ));
        }
        Self {
            columns,
            row,
            problems,
        }
    }

    /// The header `field` is read from, for messages.
    fn header(&self, field: &'static str) -> &'r str {
        self.columns
            .get(field)
            .map_or(field, |column| column.header.as_str())
    }

    /// The trimmed text of `field`'s cell: `None` when the file has no such
    /// column or the cell is empty; `Err` (reported) when it is not UTF-8.
    fn text(&mut self, field: &'static str) -> Result<Option<&'r str>, ()> {
        let Some(column) = self.columns.get(field) else {
            return Ok(None);
        };
        let Some(bytes) = self.row.get(column.index) else {
            return Ok(None);
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Some(text.trim()).filter(|t| !t.is_empty())),
            Err(_) => {
                self.problems.push(format!(
                    "column `{}` is not UTF-8 text (save the file as CSV UTF-8)",
                    column.header
                ));
                Err(())
            }
        }
    }

    /// The text of `field`'s cell, reporting nothing.
    fn peek(&self, field: &'static str) -> Option<String> {
        let column = self.columns.get(field)?;
        let text = std::str::from_utf8(self.row.get(column.index)?)
            .ok()?
            .trim();
        (!text.is_empty()).then(|| text.to_owned())
    }

    /// A cell that must be filled.
    fn required<T, E: Display>(
        &mut self,
        field: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        match self.text(field) {
            Err(()) => None,
            Ok(None) => {
                let header = self.header(field);
                self.problems.push(format!("column `{header}` is empty"));
                None
            }
            Ok(Some(text)) => self.parsed(field, text, parse),
        }
    }

    /// A cell that may be empty (or absent from the file).
    fn optional<T, E: Display>(
        &mut self,
        field: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        match self.text(field) {
            Err(()) | Ok(None) => None,
            Ok(Some(text)) => self.parsed(field, text, parse),
        }
    }

    fn parsed<T, E: Display>(
        &mut self,
        field: &'static str,
        text: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        match parse(text) {
            Ok(value) => Some(value),
            Err(e) => {
                let header = self.header(field);
                self.problems.push(format!("column `{header}`: {e}"));
                None
            }
        }
    }

    fn into_mapped(self, id: Option<String>, record: Option<Record>) -> Mapped {
        Mapped {
            id,
            record,
            problems: self.problems,
        }
    }
}

/// A decimal number written plainly (`1299.50`), exactly: no exponent,
/// no thousands separators, no rounding.
fn decimal(text: &str) -> Option<Decimal> {
    let plain = text
        .bytes()
        .enumerate()
        .all(|(i, b)| b.is_ascii_digit() || b == b'.' || (i == 0 && matches!(b, b'-' | b'+')));
    if !plain || text.bytes().filter(|b| *b == b'.').count() > 1 {
        return None;
    }
    Decimal::from_str_exact(text).ok()
}

/// A list price.
fn price(text: &str) -> Result<Price, String> {
    let value = decimal(text).ok_or_else(|| {
        format!("`{text}` is not a price (write a decimal number such as 1299.50)")
    })?;
    Price::new(value).map_err(|e| e.to_string())
}

/// Volume breaks as `min_quantity:discount` pairs separated by `;`, such
/// as `10:5; 100:12.5` (5 % off from 10 units, 12.5 % from 100).
fn volume_breaks(text: &str) -> Result<Vec<VolumeBreak>, String> {
    let mut breaks: Vec<VolumeBreak> = Vec::new();
    for pair in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || {
            format!(
                "`{pair}` is not a volume break (write quantity:discount pairs such as `10:5; 100:12.5`)"
            )
        };
        let (quantity, discount) = pair.split_once(':').ok_or_else(bad)?;
        let min_quantity: u32 = quantity.trim().parse().map_err(|_| bad())?;
        let discount = decimal(discount.trim()).ok_or_else(bad)?;
        let discount = Percent::new(discount).map_err(|e| e.to_string())?;
        if breaks.iter().any(|b| b.min_quantity == min_quantity) {
            return Err(format!("the quantity {min_quantity} has two volume breaks"));
        }
        breaks.push(VolumeBreak {
            min_quantity,
            discount,
        });
    }
    breaks.sort_by_key(|b| b.min_quantity);
    Ok(breaks)
}

/// A deadline: an RFC 3339 time, or a date meaning the end of that day (UTC).
fn deadline(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let end_of_day = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|day| day.and_time(end_of_day).and_utc())
        .map_err(|_| format!("`{text}` is not a date (write 2026-03-31 or 2026-03-31T17:00:00Z)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_and_plain() {
        assert_eq!(decimal("1299.50"), Some(Decimal::new(129950, 2)));
        assert_eq!(decimal("0.0125"), Some(Decimal::new(125, 4)));
        assert_eq!(decimal("+3"), Some(Decimal::from(3)));
        for bad in [
            "1,5", "1e3", "1_000", "12.5.0", "€12", "1 000", "NaN", "-", "",
        ] {
            assert_eq!(decimal(bad), None, "{bad}");
        }
        assert!(price("-1").is_err());
        // More digits than a decimal holds is refused, not rounded.
        assert!(price("0.12345678901234567890123456789012").is_err());
    }

    #[test]
    fn volume_breaks_read_as_quantity_discount_pairs() {
        let breaks = volume_breaks("100:12.5; 10:5").unwrap();
        let as_pairs: Vec<(u32, Decimal)> = breaks
            .iter()
            .map(|b| (b.min_quantity, b.discount.value()))
            .collect();
        assert_eq!(
            as_pairs,
            [(10, Decimal::from(5)), (100, Decimal::new(125, 1))]
        );
        assert!(volume_breaks("10").is_err());
        assert!(volume_breaks("10:150").is_err());
        assert!(volume_breaks("10:5;10:6").is_err());
    }

    #[test]
    fn a_date_deadline_means_the_end_of_that_day() {
        assert_eq!(
            deadline("2026-03-31").unwrap().to_rfc3339(),
            "2026-03-31T23:59:59+00:00"
        );
        assert_eq!(
            deadline("2026-03-31T17:00:00+02:00").unwrap().to_rfc3339(),
            "2026-03-31T15:00:00+00:00"
        );
        assert!(deadline("31.3.2026").is_err());
    }
}
