//! CSV files of leads and price items, as partners and operators supply them.

// Helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;

use onepane_connector::{
    ClientConfig, ConnectorError, HttpClient, Io, NoAuth, PageRequest, Record, RecordError, Source,
    Stream, SyncMode,
};
use onepane_connector_csv::CsvSource;
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn terms() -> Value {
    json!({
        "name": "Printers 2026",
        "currency": "EUR",
        "tier_discounts": [{ "tier": "gold", "discount": "12" }]
    })
}

fn price_items(extra: Value) -> CsvSource {
    let mut settings = json!({
        "stream": "price_items",
        "price_list": { "external_id": "PL-2026", "terms": terms() }
    });
    merge(&mut settings, extra);
    CsvSource::from_settings(&settings).unwrap()
}

fn leads(extra: Value) -> CsvSource {
    let mut settings = json!({ "stream": "leads" });
    merge(&mut settings, extra);
    CsvSource::from_settings(&settings).unwrap()
}

fn merge(settings: &mut Value, extra: Value) {
    if let (Some(to), Value::Object(from)) = (settings.as_object_mut(), extra) {
        to.extend(from);
    }
}

/// `(at, key, message)` of each error, for compact assertions.
fn errors(result: Result<Vec<Record>, Vec<RecordError>>) -> Vec<(String, Option<String>, String)> {
    result
        .unwrap_err()
        .into_iter()
        .map(|e| (e.at, e.key, e.message))
        .collect()
}

fn item(record: &Record) -> &onepane_domain::price::PriceItemInput {
    match record {
        Record::PriceItem { item, .. } => item,
        other => panic!("not a price item: {other:?}"),
    }
}

fn lead(record: &Record) -> &onepane_domain::lead::NewVendorLead {
    match record {
        Record::Lead(lead) => lead,
        other => panic!("not a lead: {other:?}"),
    }
}

#[test]
fn a_lead_file_becomes_vendor_leads() {
    let file = "\
external_id,name,email,phone,title,company,domain,country,message,respond_by
L-1,Maija Meikäläinen,Maija@Customer.example,+358 40 123 4567,CFO,Customer Oy,customer.example,fi,Needs 40 printers,2026-03-31
L-2,Matti Virtanen,,,,,,,,
";
    let records = leads(json!({})).parse(file.as_bytes()).unwrap();

    assert_eq!(records.len(), 2);
    let first = lead(&records[0]);
    assert_eq!(first.external_id.as_str(), "L-1");
    assert_eq!(first.contact.name.as_str(), "Maija Meikäläinen");
    assert_eq!(
        first.contact.email.as_ref().unwrap().as_str(),
        "maija@customer.example"
    );
    assert_eq!(
        first.contact.phone.as_ref().unwrap().as_str(),
        "+358 40 123 4567"
    );
    let company = first.company.as_ref().unwrap();
    assert_eq!(company.name.as_str(), "Customer Oy");
    assert_eq!(company.country.as_ref().unwrap().as_str(), "FI");
    assert_eq!(
        first.message.as_ref().unwrap().as_str(),
        "Needs 40 printers"
    );
    assert_eq!(
        first.respond_by.unwrap().to_rfc3339(),
        "2026-03-31T23:59:59+00:00"
    );

    let second = lead(&records[1]);
    assert_eq!(second.contact.email, None);
    assert_eq!(second.company, None);
    assert_eq!(records[1].key(), "L-2");
}

#[test]
fn a_price_list_file_becomes_items_with_exact_prices() {
    let file = "\
sku,name,category,list_price,volume_breaks
PR-100,Office printer,Printers,1299.50,10:5; 50:8.5
TN-100,Toner,Supplies,0.0125,
PR-200,Big printer,,0,
";
    let source = price_items(json!({}));
    let records = source.parse(file.as_bytes()).unwrap();

    assert_eq!(records.len(), 3);
    let printer = item(&records[0]);
    assert_eq!(printer.sku.as_str(), "PR-100");
    assert_eq!(printer.list_price.value(), Decimal::new(129950, 2));
    assert_eq!(printer.category.as_ref().unwrap().as_str(), "printers");
    assert_eq!(printer.volume_breaks.len(), 2);
    assert_eq!(printer.volume_breaks[1].min_quantity, 50);
    assert_eq!(
        printer.volume_breaks[1].discount.value(),
        Decimal::new(85, 1)
    );
    assert_eq!(item(&records[1]).list_price.value(), Decimal::new(125, 4));
    assert_eq!(item(&records[2]).category, None);
    assert_eq!(records[0].key(), "PL-2026 PR-100");

    let Some(Record::PriceList { external_id, terms }) = source.price_list() else {
        panic!("no price list");
    };
    assert_eq!(external_id.as_str(), "PL-2026");
    assert_eq!(terms.name.as_str(), "Printers 2026");
}

#[test]
fn quoted_cells_spanning_lines_keep_later_line_numbers_right() {
    // The message of L-1 spans lines 2 to 4 and holds commas and quotes;
    // the bad row is on line 6.
    let file = "\
external_id,name,email,message
L-1,\"Virtanen, Matti\",matti@customer.example,\"Needs printers,
toners, and a \"\"service\"\" deal
by March\"
L-2,Maija,maija@customer.example,\"one line, quoted\"
L-3,Pekka,not-an-email,
";
    let source = leads(json!({}));
    assert_eq!(
        errors(source.parse(file.as_bytes())),
        vec![(
            "line 6".into(),
            Some("L-3".into()),
            "column `email`: an email address must look like name@example.com: `not-an-email`"
                .into()
        )]
    );

    let fixed = file.replace("not-an-email", "pekka@customer.example");
    let records = source.parse(fixed.as_bytes()).unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(lead(&records[0]).contact.name.as_str(), "Virtanen, Matti");
    assert_eq!(
        lead(&records[0]).message.as_ref().unwrap().as_str(),
        "Needs printers,\ntoners, and a \"service\" deal\nby March"
    );
}

#[test]
fn every_bad_row_of_a_price_list_is_reported_at_once() {
    let file = "\
sku,name,category,list_price
PR-100,Office printer,Printers,1299.50
PR-101,,Printers,12,50
TN-100,Toner,Supplies,€12
PR-100,Office printer again,Printers,1399
TN-200,Toner XL,Supplies,-5
bad sku,Thing,,1
";
    let found = errors(price_items(json!({})).parse(file.as_bytes()));
    assert_eq!(
        found,
        vec![
            (
                "line 3".into(),
                Some("PL-2026 PR-101".into()),
                "the row has 5 cells; the header has 4 (is a quote or the delimiter off?)".into()
            ),
            (
                "line 4".into(),
                Some("PL-2026 TN-100".into()),
                "column `list_price`: `€12` is not a price (write a decimal number such as 1299.50)"
                    .into()
            ),
            (
                "line 5".into(),
                Some("PL-2026 PR-100".into()),
                "the SKU `PR-100` is also on line 2".into()
            ),
            (
                "line 6".into(),
                Some("PL-2026 TN-200".into()),
                "column `list_price`: -5 is not a valid price (it must be zero or more)".into()
            ),
            (
                "line 7".into(),
                Some("PL-2026 bad sku".into()),
                "column `sku`: a SKU must not contain spaces: `bad sku`".into()
            ),
        ]
    );
}

#[test]
fn every_bad_row_of_a_lead_file_is_reported_at_once_with_each_column_named() {
    let file = "\
external_id,name,email,country,company
L-1,Maija,maija@customer.example,FI,Customer Oy
L-2,,matti@@customer,Finland,Customer Oy
,Pekka,pekka@customer.example,,
L-1,Maija again,maija@customer.example,,
L-4,Liisa,liisa@customer.example,SE,
";
    let found = errors(leads(json!({})).parse(file.as_bytes()));
    assert_eq!(
        found,
        vec![
            (
                "line 3".into(),
                Some("L-2".into()),
                "column `name` is empty; \
                 column `email`: an email address must look like name@example.com: `matti@@customer`; \
                 column `country`: a country code must be at most 2 characters (got 7)"
                    .into()
            ),
            (
                "line 4".into(),
                None,
                "column `external_id` is empty".into()
            ),
            (
                "line 5".into(),
                Some("L-1".into()),
                "the external id `L-1` is also on line 2".into()
            ),
            (
                "line 6".into(),
                Some("L-4".into()),
                "column `company` is empty, but the row gives the company's domain or country"
                    .into()
            ),
        ]
    );
}

#[test]
fn missing_columns_are_one_error_on_line_1() {
    let file = "SKU,Product,Cost\nPR-1,Printer,10\n";
    let found = errors(price_items(json!({})).parse(file.as_bytes()));
    assert_eq!(
        found,
        vec![(
            "line 1".into(),
            None,
            "missing columns `name` (for name), `list_price` (for list_price); \
             the header has `SKU`, `Product`, `Cost`"
                .into()
        )]
    );

    // A column the settings name must be there, even for an optional field.
    let mapped = price_items(json!({ "columns": { "category": "Group" } }));
    let found = errors(mapped.parse(b"sku,name,list_price\nPR-1,Printer,10\n"));
    assert_eq!(found.len(), 1);
    assert!(found[0].2.contains("`Group` (for category)"), "{found:?}");

    let twice = errors(price_items(json!({})).parse(b"sku,name,list_price,SKU\nA,B,1,C\n"));
    assert_eq!(
        twice,
        vec![(
            "line 1".into(),
            None,
            "the header has `sku` more than once".into()
        )]
    );
}

#[test]
fn a_column_mapping_and_delimiter_read_a_vendors_own_export() {
    let source = price_items(json!({
        "delimiter": ";",
        "columns": {
            "sku": "Artikelnummer",
            "name": "Bezeichnung",
            "list_price": "Listenpreis",
            "category": "Warengruppe"
        }
    }));
    // Headers match case-insensitively; unmapped columns are ignored.
    let file = "\
ARTIKELNUMMER;Bezeichnung;Warengruppe;Listenpreis;Lager
PR-100;\"Drucker; A4\";Drucker;1299.50;12
";
    let records = source.parse(file.as_bytes()).unwrap();
    assert_eq!(item(&records[0]).name.as_str(), "Drucker; A4");
    assert_eq!(
        item(&records[0]).list_price.value(),
        Decimal::new(129950, 2)
    );

    let tabs = leads(json!({ "delimiter": "\\t", "columns": { "external_id": "Lead ID" } }));
    let records = tabs.parse(b"Lead ID\tname\r\nL-9\tMaija, CFO\r\n").unwrap();
    assert_eq!(lead(&records[0]).contact.name.as_str(), "Maija, CFO");
}

#[test]
fn a_byte_order_mark_and_blank_rows_are_tolerated() {
    let file = "\u{feff}sku,name,list_price\r\nPR-1,Printer,10\r\n,,\r\n\r\nPR-2,Scanner,20\r\n";
    let records = price_items(json!({})).parse(file.as_bytes()).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(item(&records[0]).sku.as_str(), "PR-1");
}

#[test]
fn an_empty_file_or_one_with_no_rows_is_refused() {
    let source = price_items(json!({}));
    for empty in ["", "\u{feff}", " \n\n"] {
        assert_eq!(
            errors(source.parse(empty.as_bytes())),
            vec![("line 1".into(), None, "the file is empty".into())],
            "{empty:?}"
        );
    }
    assert_eq!(
        errors(source.parse(b"sku,name,list_price\n")),
        vec![(
            "line 1".into(),
            None,
            "the file has a header but no rows".into()
        )]
    );
}

#[test]
fn a_cell_that_is_not_utf8_is_named() {
    let file = b"sku,name,list_price\nPR-1,Dr\xfccker,10\n";
    assert_eq!(
        errors(price_items(json!({})).parse(file)),
        vec![(
            "line 2".into(),
            Some("PL-2026 PR-1".into()),
            "column `name` is not UTF-8 text (save the file as CSV UTF-8)".into()
        )]
    );
}

#[test]
fn a_file_of_100k_rows_parses() {
    let mut file = String::from("sku,name,category,list_price\n");
    for n in 0..100_000 {
        file.push_str(&format!(
            "SKU-{n},Item number {n},Supplies,{n}.{:02}\n",
            n % 100
        ));
    }
    let records = price_items(json!({})).parse(file.as_bytes()).unwrap();
    assert_eq!(records.len(), 100_000);
    assert_eq!(
        item(&records[99_999]).list_price.value(),
        Decimal::new(9_999_999, 2)
    );
}

#[test]
fn settings_are_checked_when_the_connection_is_made() {
    let bad = [
        json!({}),
        json!({ "stream": "campaigns" }),
        json!({ "stream": "leads", "workspace_id": "x" }),
        json!({ "stream": "leads", "columns": { "list_price": "Price" } }),
        json!({ "stream": "leads", "columns": { "name": " " } }),
        json!({ "stream": "leads", "delimiter": "::" }),
        json!({ "stream": "leads", "delimiter": "\"" }),
        json!({ "stream": "leads", "price_list": { "external_id": "PL", "terms": terms() } }),
        json!({ "stream": "price_items" }),
        json!({ "stream": "price_items", "price_list": { "external_id": "PL", "terms": { "name": "X" } } }),
    ];
    for settings in bad {
        let err = CsvSource::from_settings(&settings).unwrap_err();
        assert!(
            matches!(err, ConnectorError::Config(_)),
            "{settings}: {err:?}"
        );
    }
    let err = CsvSource::from_settings(&json!({ "stream": "leads", "columns": { "sku": "SKU" } }))
        .unwrap_err();
    assert!(err.to_string().contains("`sku` is not a field"), "{err}");
}

// --- as a source ------------------------------------------------------------

fn io() -> Io {
    Io::new(
        HttpClient::new(ClientConfig::default()).unwrap(),
        None,
        Arc::new(NoAuth),
    )
}

/// A file in the temp directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> Self {
        let path = std::env::temp_dir().join(format!(
            "onepane-csv-{}-{name}-{}.csv",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn an_operators_price_list_file_is_read_as_one_page_per_stream() {
    let file = TempFile::new(
        "items",
        b"sku,name,list_price\nPR-1,Printer,10\nPR-2,Scanner,20.5\n",
    );
    let source = price_items(json!({ "path": file.0 }));
    let io = io();

    let streams: Vec<_> = source
        .streams()
        .into_iter()
        .map(|s| (s.stream, s.mode))
        .collect();
    assert_eq!(
        streams,
        [
            (Stream::PriceLists, SyncMode::FullRefresh),
            (Stream::PriceItems, SyncMode::FullRefresh)
        ]
    );

    let lists = source
        .read(&io, Stream::PriceLists, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(lists.records.len(), 1);
    assert_eq!(lists.records[0].record.key(), "PL-2026");

    let items = source
        .read(&io, Stream::PriceItems, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(items.next, None);
    assert_eq!(items.total, Some(2));
    assert!(items.rejected.is_empty());
    let keys: Vec<_> = items.records.iter().map(|r| r.record.key()).collect();
    assert_eq!(keys, ["PL-2026 PR-1", "PL-2026 PR-2"]);

    let err = source
        .read(&io, Stream::Leads, PageRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Config(_)), "{err:?}");
}

#[tokio::test]
async fn a_lead_file_is_read_incrementally_without_a_cursor() {
    let file = TempFile::new("leads", b"external_id,name\nL-1,Maija\n");
    let source = leads(json!({ "path": file.0 }));
    let specs = source.streams();
    assert_eq!(specs.len(), 1);
    assert_eq!(
        (specs[0].stream, specs[0].mode),
        (Stream::Leads, SyncMode::Incremental)
    );

    let page = source
        .read(&io(), Stream::Leads, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].cursor, None);
    assert_eq!(page.total, Some(1));
}

#[tokio::test]
async fn a_file_with_bad_rows_fails_whole_listing_their_lines() {
    let mut contents = String::from("sku,name,list_price\nPR-1,Printer,10\n");
    for n in 0..25 {
        contents.push_str(&format!("BAD-{n},Thing,ten\n"));
    }
    let file = TempFile::new("bad", contents.as_bytes());
    let source = price_items(json!({ "path": file.0 }));

    let err = source
        .read(&io(), Stream::PriceItems, PageRequest::default())
        .await
        .unwrap_err();

    let ConnectorError::Input(message) = &err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains("has 25 problems, so nothing was applied"),
        "{message}"
    );
    assert!(
        message.contains("\n- line 3 (PL-2026 BAD-0): column `list_price`: `ten` is not a price"),
        "{message}"
    );
    assert!(
        message.contains("\n- line 22 (PL-2026 BAD-19)"),
        "{message}"
    );
    assert!(!message.contains("BAD-20)"), "{message}");
    assert!(message.ends_with("\n- and 5 more"), "{message}");
}

#[tokio::test]
async fn a_connection_without_a_path_takes_uploads_only() {
    let source = leads(json!({}));
    let err = source
        .read(&io(), Stream::Leads, PageRequest::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Config(m) if m.starts_with("this connection takes uploads")),
        "{err:?}"
    );

    let missing = leads(json!({ "path": "/nonexistent/onepane/leads.csv" }));
    let err = missing
        .read(&io(), Stream::Leads, PageRequest::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Input(m) if m.contains("cannot read /nonexistent/onepane/leads.csv")),
        "{err:?}"
    );
}
