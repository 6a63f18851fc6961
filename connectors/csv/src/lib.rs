//! Price lists and leads from CSV files: uploaded through the partner API,
//! or read from a path an operator configures.
//!
//! A file is applied whole or not at all. [`CsvSource::parse`] maps every
//! row or reports every bad one, each with its line number (the header is
//! line 1; a quoted cell spanning lines counts them all), so a partner can
//! fix the file in one go. The settings name the stream, map Onepane's
//! fields to the file's headers and, for price items, give the price list's
//! terms; see the crate's README for the formats.

mod columns;
mod rows;

use std::collections::BTreeMap;
use std::collections::hash_map::{Entry, HashMap};
use std::path::PathBuf;

use csv::{ByteRecord, ReaderBuilder};
use onepane_connector::{
    BoxFuture, ConnectorError, Io, Page, PageRequest, Record, RecordError, Source, SourceRecord,
    Stream, StreamSpec, SyncMode,
};
use onepane_domain::price::PriceListTerms;
use onepane_domain::text::ExternalId;
use serde::Deserialize;

use crate::columns::{Columns, Field, LEAD_FIELDS, PRICE_ITEM_FIELDS};

/// The largest file read from a path, in bytes.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
/// How many row errors [`Source::read`]'s error message lists.
const LISTED_ERRORS: usize = 20;

/// Which stream a file holds, as spelled in the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum FileStream {
    Leads,
    PriceItems,
}

/// The price list a file of price items belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceListSettings {
    external_id: ExternalId,
    terms: PriceListTerms,
}

/// A connection's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    stream: FileStream,
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    delimiter: Option<String>,
    #[serde(default)]
    path: Option<PathBuf>,
    #[serde(default)]
    price_list: Option<PriceListSettings>,
}

/// What the rows of a file become.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Leads,
    PriceItems {
        list: ExternalId,
        terms: PriceListTerms,
    },
}

/// A CSV source of leads or of one price list's items.
#[derive(Debug, Clone)]
pub struct CsvSource {
    kind: Kind,
    /// Each field the file may fill, the header it is read from, and
    /// whether the settings named that header (then it must be there).
    mapping: Vec<(&'static Field, String, bool)>,
    delimiter: u8,
    path: Option<PathBuf>,
}

impl CsvSource {
    /// A source from a connection's settings: `stream` (`leads` or
    /// `price_items`), optional `columns` (Onepane field to header),
    /// `delimiter` (one ASCII character, `,` by default), `path` (an
    /// operator's file) and, for price items, `price_list`
    /// (`{"external_id", "terms"}`).
    pub fn from_settings(settings: &serde_json::Value) -> Result<Self, ConnectorError> {
        let config = |message: String| ConnectorError::Config(format!("CSV settings: {message}"));
        let settings: Settings =
            serde_json::from_value(settings.clone()).map_err(|e| config(e.to_string()))?;
        let (kind, fields) = match (settings.stream, settings.price_list) {
            (FileStream::Leads, None) => (Kind::Leads, LEAD_FIELDS),
            (FileStream::Leads, Some(_)) => {
                return Err(config("`price_list` is only for price items".into()));
            }
            (FileStream::PriceItems, Some(list)) => (
                Kind::PriceItems {
                    list: list.external_id,
                    terms: list.terms,
                },
                PRICE_ITEM_FIELDS,
            ),
            (FileStream::PriceItems, None) => {
                return Err(config(
                    "price items need `price_list`: {\"external_id\", \"terms\"}".into(),
                ));
            }
        };
        let mut columns = settings.columns;
        let mut mapping = Vec::with_capacity(fields.len());
        for field in fields {
            match columns.remove(field.name) {
                Some(header) if header.trim().is_empty() => {
                    return Err(config(format!("the column for `{}` is empty", field.name)));
                }
                Some(header) => mapping.push((field, header.trim().to_owned(), true)),
                None => mapping.push((field, field.name.to_owned(), false)),
            }
        }
        if let Some(unknown) = columns.keys().next() {
            let known: Vec<&str> = fields.iter().map(|f| f.name).collect();
            return Err(config(format!(
                "`{unknown}` is not a field of this stream (fields: {})",
                known.join(", ")
            )));
        }
        let delimiter = match settings.delimiter.as_deref() {
            None => b',',
            Some("\\t" | "tab") => b'\t',
            Some(d) => match d.as_bytes() {
                [b] if b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') => *b,
                _ => {
                    return Err(config(format!(
                        "the delimiter must be one ASCII character such as `,`, `;` or a tab, not `{d}`"
                    )));
                }
            },
        };
        Ok(Self {
            kind,
            mapping,
            delimiter,
            path: settings.path,
        })
    }

    /// The stream the file's rows belong to: leads or price items.
    pub fn stream(&self) -> Stream {
        match self.kind {
            Kind::Leads => Stream::Leads,
            Kind::PriceItems { .. } => Stream::PriceItems,
        }
    }

    /// The price list record the settings describe (price items only).
    pub fn price_list(&self) -> Option<Record> {
        match &self.kind {
            Kind::Leads => None,
            Kind::PriceItems { list, terms } => Some(Record::PriceList {
                external_id: list.clone(),
                terms: terms.clone(),
            }),
        }
    }

    /// Maps every row of a file, or reports every bad row: each error's
    /// `at` is `line N` (the header is line 1), its `key` the row's
    /// external id (leads) or `<list> <sku>` (price items) when readable, and
    /// its message names the columns at fault. A UTF-8 byte order mark is
    /// skipped; rows whose cells are all empty are ignored.
    #[tracing::instrument(name = "csv.parse", skip_all, fields(bytes = bytes.len(), stream = %self.stream()))]
    pub fn parse(&self, bytes: &[u8]) -> Result<Vec<Record>, Vec<RecordError>> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(vec![line_error(1, None, "the file is empty".into())]);
        }
        let mut reader = ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(true)
            .flexible(true)
            .from_reader(bytes);
        let headers = match reader.byte_headers() {
            Ok(headers) => headers.clone(),
            Err(e) => return Err(vec![csv_error(&e)]),
        };
        let columns = Columns::resolve(&self.mapping, &headers)
            .map_err(|message| vec![line_error(1, None, message)])?;

        let mut records = Vec::new();
        let mut errors = Vec::new();
        // The line each id was first seen on.
        let mut seen: HashMap<String, u64> = HashMap::new();
        let mut row = ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut row) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    // Reading from memory fails only on malformed input the
                    // reader cannot step over; stop rather than loop.
                    errors.push(csv_error(&e));
                    break;
                }
            }
            if row
                .iter()
                .all(|cell| cell.iter().all(u8::is_ascii_whitespace))
            {
                continue;
            }
            let line = row.position().map_or(0, csv::Position::line);
            let mut mapped = match &self.kind {
                Kind::Leads => rows::lead(&columns, &row),
                Kind::PriceItems { list, .. } => rows::price_item(&columns, &row, list),
            };
            if let Some(id) = &mapped.id {
                match seen.entry(id.clone()) {
                    Entry::Occupied(first) => mapped.problems.push(format!(
                        "{} `{id}` is also on line {}",
                        self.id_name(),
                        first.get()
                    )),
                    Entry::Vacant(slot) => {
                        slot.insert(line);
                    }
                }
            }
            match mapped.record {
                Some(record) if mapped.problems.is_empty() => records.push(record),
                _ => errors.push(line_error(
                    line,
                    mapped.id.as_deref().map(|id| self.key_of(id)),
                    mapped.problems.join("; "),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        if records.is_empty() {
            return Err(vec![line_error(
                1,
                None,
                "the file has a header but no rows".into(),
            )]);
        }
        Ok(records)
    }

    /// What the row's id is called in messages.
    fn id_name(&self) -> &'static str {
        match self.kind {
            Kind::Leads => "the external id",
            Kind::PriceItems { .. } => "the SKU",
        }
    }

    /// The record key of the row whose id is `id`, spelled as
    /// [`Record::key`] spells it.
    fn key_of(&self, id: &str) -> String {
        match &self.kind {
            Kind::Leads => id.to_owned(),
            Kind::PriceItems { list, .. } => format!("{} {id}", list.as_str()),
        }
    }

    /// Reads and maps the operator's file; any bad row fails it whole.
    #[tracing::instrument(name = "csv.read_file", skip(self))]
    fn read_file(&self, path: &std::path::Path) -> Result<Vec<Record>, ConnectorError> {
        let shown = path.display();
        let cannot = |e: std::io::Error| ConnectorError::Input(format!("cannot read {shown}: {e}"));
        let size = std::fs::metadata(path).map_err(cannot)?.len();
        if size > MAX_FILE_BYTES {
            return Err(ConnectorError::Input(format!(
                "{shown} is {size} bytes; files of at most {MAX_FILE_BYTES} bytes are read"
            )));
        }
        let bytes = std::fs::read(path).map_err(cannot)?;
        self.parse(&bytes).map_err(|errors| {
            tracing::warn!(errors = errors.len(), "a CSV file is refused");
            ConnectorError::Input(describe(&shown.to_string(), &errors))
        })
    }
}

/// A message listing the first [`LISTED_ERRORS`] errors of a file.
fn describe(file: &str, errors: &[RecordError]) -> String {
    let mut message = match errors.len() {
        1 => format!("{file} has a problem, so nothing was applied:"),
        n => format!("{file} has {n} problems, so nothing was applied:"),
    };
    for error in errors.iter().take(LISTED_ERRORS) {
        message.push_str("\n- ");
        message.push_str(&error.at);
        if let Some(key) = &error.key {
            message.push_str(&format!(" ({key})"));
        }
        message.push_str(": ");
        message.push_str(&error.message);
    }
    if errors.len() > LISTED_ERRORS {
        message.push_str(&format!("\n- and {} more", errors.len() - LISTED_ERRORS));
    }
    message
}

fn line_error(line: u64, key: Option<String>, message: String) -> RecordError {
    RecordError {
        at: format!("line {line}"),
        key,
        message,
    }
}

fn csv_error(e: &csv::Error) -> RecordError {
    let line = e.position().map_or(1, csv::Position::line);
    line_error(line, None, format!("the file is not readable CSV: {e}"))
}

impl Source for CsvSource {
    fn streams(&self) -> Vec<StreamSpec> {
        match self.kind {
            // Leads are upserted by external id and never deleted.
            Kind::Leads => vec![StreamSpec {
                stream: Stream::Leads,
                mode: SyncMode::Incremental,
            }],
            // A new file replaces the list: items it no longer has go.
            Kind::PriceItems { .. } => vec![
                StreamSpec {
                    stream: Stream::PriceLists,
                    mode: SyncMode::FullRefresh,
                },
                StreamSpec {
                    stream: Stream::PriceItems,
                    mode: SyncMode::FullRefresh,
                },
            ],
        }
    }

    fn read<'a>(
        &'a self,
        _io: &'a Io,
        stream: Stream,
        _request: PageRequest<'a>,
    ) -> BoxFuture<'a, Result<Page, ConnectorError>> {
        Box::pin(async move {
            if stream == Stream::PriceLists
                && let Some(list) = self.price_list()
            {
                return Ok(one_page(vec![list]));
            }
            if stream != self.stream() {
                return Err(ConnectorError::Config(format!(
                    "this CSV connection holds {}, not {stream}",
                    self.stream()
                )));
            }
            let Some(path) = self.path.clone() else {
                return Err(ConnectorError::Config(
                    "this connection takes uploads; it has no file path to read".into(),
                ));
            };
            let source = self.clone();
            // Reading and mapping a large file is blocking work.
            let records = tokio::task::spawn_blocking(move || source.read_file(&path))
                .await
                .map_err(|e| {
                    ConnectorError::Input(format!("reading the CSV file failed: {e}"))
                })??;
            Ok(one_page(records))
        })
    }
}

/// The whole stream as its only page.
fn one_page(records: Vec<Record>) -> Page {
    let total = u64::try_from(records.len()).ok();
    Page {
        records: records.into_iter().map(SourceRecord::new).collect(),
        rejected: Vec::new(),
        next: None,
        total,
    }
}
