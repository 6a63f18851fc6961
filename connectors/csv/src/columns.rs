//! Onepane's fields, and which column of a file fills each.

use std::collections::HashMap;

use csv::ByteRecord;

/// A field a column can fill.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Field {
    /// Its name in the settings' `columns` (and the default header).
    pub(crate) name: &'static str,
    /// Whether every file must have it.
    pub(crate) required: bool,
}

const fn field(name: &'static str, required: bool) -> Field {
    Field { name, required }
}

/// The fields of a lead.
pub(crate) const LEAD_FIELDS: &[Field] = &[
    field("external_id", true),
    field("name", true),
    field("email", false),
    field("phone", false),
    field("title", false),
    field("company", false),
    field("domain", false),
    field("country", false),
    field("message", false),
    field("respond_by", false),
];

/// The fields of a price item.
pub(crate) const PRICE_ITEM_FIELDS: &[Field] = &[
    field("sku", true),
    field("name", true),
    field("category", false),
    field("list_price", true),
    field("volume_breaks", false),
];

/// Where a field is in a file.
#[derive(Debug)]
pub(crate) struct Column {
    /// The cell's index in a row.
    pub(crate) index: usize,
    /// The header as the file spells it, for messages.
    pub(crate) header: String,
}

/// The columns a file has, by field name.
#[derive(Debug)]
pub(crate) struct Columns {
    by_field: HashMap<&'static str, Column>,
    /// How many cells the header has.
    pub(crate) width: usize,
}

impl Columns {
    /// Finds each mapped header in the file's header row (trimmed, ASCII
    /// case-insensitive). A required field's column, or one the settings
    /// named, must be there exactly once.
    pub(crate) fn resolve(
        mapping: &[(&'static Field, String, bool)],
        headers: &ByteRecord,
    ) -> Result<Self, String> {
        let names: Vec<Option<&str>> = headers
            .iter()
            .map(|h| std::str::from_utf8(h).ok().map(str::trim))
            .collect();
        let mut by_field = HashMap::new();
        let mut missing = Vec::new();
        let mut repeated = Vec::new();
        for (field, header, named) in mapping {
            let mut found = names
                .iter()
                .enumerate()
                .filter(|(_, name)| name.is_some_and(|n| n.eq_ignore_ascii_case(header)))
                .map(|(index, _)| index);
            match (found.next(), found.next()) {
                (None, _) => {
                    if field.required || *named {
                        missing.push(format!("`{header}` (for {})", field.name));
                    }
                }
                (Some(index), None) => {
                    let header = names[index].unwrap_or(header).to_owned();
                    by_field.insert(field.name, Column { index, header });
                }
                (Some(_), Some(_)) => repeated.push(format!("`{header}`")),
            }
        }
        let mut problems = Vec::new();
        if !missing.is_empty() {
            let present: Vec<String> = names
                .iter()
                .take(30)
                .map(|n| format!("`{}`", n.unwrap_or("(not UTF-8)")))
                .collect();
            problems.push(format!(
                "missing column{} {}; the header has {}",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                present.join(", ")
            ));
        }
        if !repeated.is_empty() {
            problems.push(format!(
                "the header has {} more than once",
                repeated.join(", ")
            ));
        }
        if problems.is_empty() {
            Ok(Self {
                by_field,
                width: names.len(),
            })
        } else {
            Err(problems.join("; "))
        }
    }

    /// Where `field` is, when the file has it.
    pub(crate) fn get(&self, field: &str) -> Option<&Column> {
        self.by_field.get(field)
    }
}
