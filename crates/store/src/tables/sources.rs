//! What the sync engine keeps of each source: where each stream stands and
//! what each source record last looked like.

use onepane_domain::record::*;
use sqlx::types::Json;
use uuid::Uuid;

/// Where a source stream stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamState {
    /// The page to resume from, when a pass is under way.
    pub next: Option<serde_json::Value>,
    /// The incremental cursor of the last complete pass.
    pub since: Option<serde_json::Value>,
    /// The pass under way.
    pub pass_id: Option<Uuid>,
    /// The highest cursor value the pass under way has seen.
    pub pass_max: Option<serde_json::Value>,
}

/// One page of a stream to write.
#[derive(Debug)]
pub struct PageWrite<'a> {
    /// The stream.
    pub stream: Stream,
    /// The pass it belongs to.
    pub pass_id: Uuid,
    /// The records with their keys and content hashes.
    pub records: Vec<(String, Vec<u8>, &'a Record)>,
    /// Where the next page starts (`None`: the pass is complete).
    pub next: Option<serde_json::Value>,
    /// The highest cursor value seen in the pass so far.
    pub pass_max: Option<serde_json::Value>,
    /// For a stream whose pages are fingerprinted: the page's request and
    /// what its answer was, to keep (`None`: forget any kept, the page had
    /// a failed record).
    pub seen_page: Option<(String, Option<SeenPage>)>,
}

/// What writing a page did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageCounts {
    /// Records new to the workspace.
    pub created: u64,
    /// Records that changed.
    pub updated: u64,
    /// Records whose content had not changed (or that the partner already
    /// acted on, for leads).
    pub unchanged: u64,
    /// Records refused (a price item of an unknown list).
    pub failed: Vec<RecordError>,
}

pub(crate) const STREAM_COLUMNS: &str = "next_page, since, pass_id, pass_max";

/// A stream's stored position, in [`STREAM_COLUMNS`] order.
pub(crate) type StreamRow = (
    Option<Json<serde_json::Value>>,
    Option<Json<serde_json::Value>>,
    Option<Uuid>,
    Option<Json<serde_json::Value>>,
);

/// A stream's position as the sync engine reads it.
pub(crate) fn stream_state(row: StreamRow) -> StreamState {
    StreamState {
        next: row.0.map(|j| j.0),
        since: row.1.map(|j| j.0),
        pass_id: row.2,
        pass_max: row.3.map(|j| j.0),
    }
}

/// Leads are written this many at a time (19 values each).
pub(crate) const LEAD_CHUNK: usize = 200;
