//! A connection to a fake vendor, and a reader that follows a stream to
//! its last page.

use std::sync::Arc;
use std::time::Duration;

use onepane_connector::{
    AddressPolicy, ClientConfig, ConnectorError, Credentials, HttpClient, Io, NoAuth, Page,
    PageRequest, Source,
};
use onepane_connector::{RecordError, SourceRecord, Stream};
use onepane_connector_rest::{Manifest, RestSource};
use serde_json::Value;

/// Tiny backoffs; loopback allowed, since the fake vendor runs there.
pub fn config() -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(5),
        max_attempts: 4,
        backoff_base: Duration::from_millis(2),
        backoff_cap: Duration::from_secs(1),
        addresses: AddressPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]),
        ..ClientConfig::default()
    }
}

/// A connection without credentials.
pub fn io() -> Io {
    Io::new(HttpClient::new(config()).unwrap(), None, Arc::new(NoAuth))
}

/// A connection with static credentials.
pub fn io_with(credentials: &Credentials) -> Io {
    let auth = credentials.static_authorizer().unwrap().unwrap();
    Io::new(HttpClient::new(config()).unwrap(), None, auth)
}

/// A source from a YAML manifest, with `{base}` replaced by the fake's URL.
pub fn source(yaml: &str, base: &str) -> RestSource {
    RestSource::new(Manifest::parse(&yaml.replace("{base}", base)).unwrap())
}

/// Everything a pass read.
#[derive(Debug, Default)]
pub struct Pass {
    pub records: Vec<SourceRecord>,
    pub rejected: Vec<RecordError>,
    pub pages: Vec<Page>,
}

impl Pass {
    /// The keys of the records read, in order.
    pub fn keys(&self) -> Vec<String> {
        self.records.iter().map(|r| r.record.key()).collect()
    }
}

/// Reads `stream` from its first page to its last, as the engine does.
pub async fn read_all(
    source: &RestSource,
    io: &Io,
    stream: Stream,
    since: Option<&Value>,
) -> Result<Pass, ConnectorError> {
    let mut pass = Pass::default();
    let mut next: Option<Value> = None;
    for _ in 0..20 {
        let page = source
            .read(
                io,
                stream,
                PageRequest {
                    next: next.as_ref(),
                    since,
                },
            )
            .await?;
        pass.records.extend(page.records.iter().cloned());
        pass.rejected.extend(page.rejected.iter().cloned());
        next = page.next.clone();
        pass.pages.push(page);
        if next.is_none() {
            return Ok(pass);
        }
    }
    panic!("the pass did not end after 20 pages");
}
