//! Fabrikam Distribution: a distributor carrying several hardware brands,
//! whose price list is a CSV file in its own layout (semicolons, its own
//! headers). The `csv` connector reads files from a path, not a URL, so
//! the demo writes the file into the data directory for the connection;
//! Fabrikam's server on loopback offers the same file for download.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use onepane_domain::Tier;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::{DemoError, bind_loopback, file_routes, serve};

/// Its name.
pub const NAME: &str = "Fabrikam Distribution";
/// The demo partner's tier with it.
pub(super) const TIER: Tier = Tier::Registered;
/// When Onepane reads the file again: hourly.
pub(super) const SCHEDULE: &str = "15 * * * *";
/// The file's name in the data directory.
pub(super) const CSV_FILE: &str = "fabrikam-price-list.csv";
/// Where its server offers the file.
pub(super) const CSV_ROUTE: &str = "/downloads/price-list.csv";
/// The price list's id.
const PRICE_LIST: &str = "FAB-NORDIC-2026";

/// Starts Fabrikam's server on loopback, offering `csv` for download.
pub(super) async fn start(csv: Arc<str>) -> Result<(SocketAddr, JoinHandle<()>), DemoError> {
    let (listener, addr) = bind_loopback(NAME).await?;
    let router = file_routes(
        NAME,
        "Laptops, monitors, docks and headsets from Litware, Proseware, Tailspin and Wingtip, \
         delivered next day across the Nordics. The partner price list is at /downloads/price-list.csv.",
        &[],
    )
    .route(
        CSV_ROUTE,
        get(move || {
            let csv = Arc::clone(&csv);
            async move {
                (
                    [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
                    csv.to_string(),
                )
                    .into_response()
            }
        }),
    );
    Ok((addr, serve(NAME, listener, router)))
}

/// The connection's settings: Fabrikam's headers mapped onto Onepane's
/// fields, and the price list's terms.
pub(super) fn settings(path: &Path) -> Result<Value, DemoError> {
    let path = path.to_str().ok_or_else(|| DemoError::Data {
        what: "CSV path",
        detail: format!("{} is not UTF-8", path.display()),
    })?;
    Ok(json!({
        "stream": "price_items",
        "delimiter": ";",
        "path": path,
        "columns": {
            "sku": "Item No",
            "name": "Description",
            "category": "Product Group",
            "list_price": "Unit Price EUR",
            "volume_breaks": "Quantity Breaks",
        },
        "price_list": {
            "external_id": PRICE_LIST,
            "terms": {
                "name": "Fabrikam Nordic Reseller Price List",
                "currency": "EUR",
                "tier_discounts": [
                    {"tier": "registered", "discount": "2"},
                    {"tier": "silver", "discount": "4"},
                    {"tier": "gold", "discount": "6"},
                    {"tier": "platinum", "discount": "8"},
                ],
            },
        },
    }))
}

/// Item number, description, product group, brand, unit price (EUR),
/// quantity breaks.
const ROWS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "FAB-LW-X14G3",
        "Litware X14 Gen 3 laptop, 14\", 16 GB, 512 GB SSD",
        "laptops",
        "Litware",
        "1149.00",
        "10:3; 50:6",
    ),
    (
        "FAB-LW-X16PRO",
        "Litware X16 Pro laptop, 16\", 32 GB, 1 TB SSD",
        "laptops",
        "Litware",
        "1689.00",
        "10:3; 50:6",
    ),
    (
        "FAB-LW-E15",
        "Litware E15 laptop, 15.6\", 8 GB, 256 GB SSD",
        "laptops",
        "Litware",
        "729.00",
        "10:3; 50:6",
    ),
    (
        "FAB-LW-WARR3Y",
        "Litware 3-year on-site warranty extension",
        "services",
        "Litware",
        "129.00",
        "",
    ),
    (
        "FAB-LW-BAG15",
        "Litware 15\" commuter backpack",
        "accessories",
        "Litware",
        "39.00",
        "25:5",
    ),
    (
        "FAB-PS-27Q",
        "Proseware 27\" QHD monitor, USB-C 65 W",
        "monitors",
        "Proseware",
        "329.00",
        "10:4",
    ),
    (
        "FAB-PS-32U",
        "Proseware 32\" 4K monitor, USB-C 90 W",
        "monitors",
        "Proseware",
        "589.00",
        "10:4",
    ),
    (
        "FAB-PS-24F",
        "Proseware 24\" Full HD monitor",
        "monitors",
        "Proseware",
        "169.00",
        "10:4; 50:8",
    ),
    (
        "FAB-PS-ARM2",
        "Proseware dual monitor arm",
        "accessories",
        "Proseware",
        "119.00",
        "",
    ),
    (
        "FAB-TS-TB4",
        "Tailspin Thunderbolt 4 dock, 96 W",
        "docks",
        "Tailspin",
        "249.00",
        "10:5",
    ),
    (
        "FAB-TS-USBC",
        "Tailspin USB-C travel dock, 65 W",
        "docks",
        "Tailspin",
        "139.00",
        "10:5",
    ),
    (
        "FAB-WT-ANC",
        "Wingtip ANC headset, Teams certified",
        "headsets",
        "Wingtip",
        "189.00",
        "20:5",
    ),
    (
        "FAB-WT-MONO",
        "Wingtip mono USB headset",
        "headsets",
        "Wingtip",
        "79.00",
        "20:5",
    ),
    (
        "FAB-WT-CONF",
        "Wingtip conference speakerphone",
        "headsets",
        "Wingtip",
        "299.00",
        "",
    ),
];

/// The price list as Fabrikam exports it.
pub(super) fn price_list_csv() -> Arc<str> {
    let mut csv =
        String::from("Item No;Brand;Description;Product Group;Unit Price EUR;Quantity Breaks\n");
    for (sku, description, group, brand, price, breaks) in ROWS {
        // Descriptions hold inch marks and breaks the delimiter: quoted,
        // with quotes doubled.
        let description = description.replace('"', "\"\"");
        csv.push_str(&format!(
            "{sku};{brand};\"{description}\";{group};{price};\"{breaks}\"\n"
        ));
    }
    Arc::from(csv)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use onepane_connector::{ClientConfig, HttpClient, Io, NoAuth, PageRequest, Stream};

    use super::*;

    fn connection(path: &Path) -> onepane_domain::workspace::Connection {
        onepane_domain::workspace::Connection {
            id: onepane_domain::ConnectionId::new(),
            workspace_id: onepane_domain::WorkspaceId::new(),
            target: onepane_domain::workspace::ConnectionTarget::VendorSource {
                vendor_id: onepane_domain::VendorId::new(),
            },
            connector: "csv".parse().unwrap(),
            name: "Fabrikam".parse().unwrap(),
            schedule: Some(SCHEDULE.into()),
            status: onepane_domain::workspace::ConnectionStatus::Active,
            settings: settings(path).unwrap(),
            created_at: chrono::Utc::now(),
        }
    }

    #[tokio::test]
    async fn the_csv_connector_reads_every_row_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CSV_FILE);
        std::fs::write(&path, price_list_csv().as_bytes()).unwrap();
        let conn = connection(&path);
        let registry = onepane_sync::Registry;
        registry.check(&conn).unwrap();
        let source = registry.source(&conn).unwrap();
        let io = Io::new(
            HttpClient::new(ClientConfig::default()).unwrap(),
            None,
            Arc::new(NoAuth),
        );
        let page = source
            .read(
                &io,
                Stream::PriceItems,
                PageRequest {
                    next: None,
                    since: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.records.len(), ROWS.len());
        assert!(page.rejected.is_empty(), "{:?}", page.rejected);
    }
}
