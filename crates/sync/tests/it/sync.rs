//! Source syncs from a paginated fake vendor: what lands, what re-runs
//! write, resuming from a failed page, duplicate and shuffled pages, and
//! vendors at addresses the policy refuses.

use onepane_domain::lead::LeadStatus;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use onepane_connector::{AddressPolicy, Stream};
use onepane_domain::workspace::{Connection, ConnectionStatus};
use onepane_store::testing::TestDb;
use onepane_store::{StreamState, SyncRun};
use onepane_sync::{Progress, RunError};
use serde_json::json;

use crate::on_both_backends;
use crate::support::*;

/// Remembers every update of a run.
#[derive(Default)]
struct Recorded(Mutex<Vec<SyncRun>>);

impl Progress for Recorded {
    fn update(&self, run: &SyncRun) {
        self.0.lock().unwrap().push(run.clone());
    }
}

fn counts(run: &SyncRun) -> [u64; 6] {
    [
        run.read,
        run.created,
        run.updated,
        run.unchanged,
        run.deleted,
        run.failed,
    ]
}

/// Where `conn`'s `stream` stands.
async fn stream_state(
    store: &onepane_store::Store,
    vendor: onepane_domain::VendorId,
    conn: &Connection,
    stream: Stream,
) -> StreamState {
    store
        .vendor(vendor)
        .stream_state(conn.workspace_id, conn.id, stream)
        .await
        .unwrap()
}

/// When each lead, campaign and price list was last written.
async fn written_at(
    store: &onepane_store::Store,
    ws: onepane_domain::WorkspaceId,
    vendor: onepane_domain::VendorId,
) -> BTreeMap<String, DateTime<Utc>> {
    let mut out = BTreeMap::new();
    for (k, lead) in leads(store, ws).await {
        out.insert(format!("lead {k}"), lead.updated_at);
    }
    for c in store.vendor(vendor).campaigns().await.unwrap() {
        out.insert(format!("campaign {}", c.external_id.as_str()), c.updated_at);
    }
    for l in store.partner(ws).price_lists().await.unwrap() {
        out.insert(format!("list {}", l.external_id.as_str()), l.updated_at);
    }
    out
}

async fn a_full_sync_lands_the_source_and_reruns_write_only_what_changed(db: TestDb) {
    let store = &db.store;
    // 23 leads, 6 campaigns, 4 lists of 14 items; pages of 5.
    let (ws, vendor, fake, conn) = fake_source(store, VendorData::generate(23, 6, 4, 14), 5).await;
    let engine = engine(store);

    let progress = Recorded::default();
    let first = engine.run(&conn, None, &progress).await.unwrap();
    let all = 23 + 6 + 4 + 56;
    assert_eq!(first.status, "succeeded");
    assert_eq!(first.kind, "sync");
    assert_eq!(counts(&first), [all, all, 0, 0, 0, 0], "{first:?}");
    assert_exactly_the_source(store, ws, &fake).await;
    // Every page was asked for once, in order; the first pass of the
    // incremental stream sends no `since`.
    let lead_pages = fake.state().seen_on("/leads");
    assert_eq!(
        lead_pages.iter().map(|s| s.page).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    assert!(lead_pages.iter().all(|s| s.since.is_none()));
    assert_eq!(fake.state().seen_on("/price-items").len(), 12);
    // Progress after every page, never going back, ending with the run.
    let updates = progress.0.lock().unwrap().clone();
    assert!(updates.len() >= 5 + 2 + 1 + 12, "{} updates", updates.len());
    assert!(updates.windows(2).all(|w| w[0].read <= w[1].read));
    assert_eq!(updates.last().unwrap(), &first);
    // The run as stored is the run returned (times kept to the microsecond).
    let mut stored = store.partner(ws).sync_runs(conn.id, 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    let finished = stored[0].finished_at.take().unwrap();
    assert!((first.finished_at.unwrap() - finished).abs() < chrono::Duration::milliseconds(1));
    assert_eq!(
        stored[0],
        SyncRun {
            finished_at: None,
            ..first.clone()
        }
    );
    let since = stream_state(store, vendor, &conn, Stream::Leads).await;
    assert_eq!(since.since, Some(json!(1_022)), "the highest updated_at");
    assert_eq!((since.next, since.pass_id), (None, None));

    // Nothing changed: everything read is unchanged and nothing is written.
    let before = written_at(store, ws, vendor).await;
    fake.clear_seen();
    let second = engine.run(&conn, None, &()).await.unwrap();
    // The incremental stream gives back only its newest lead (`since` is inclusive).
    let reread = 6 + 4 + 56 + 1;
    assert_eq!(counts(&second), [reread, 0, 0, reread, 0, 0], "{second:?}");
    let lead_pages = fake.state().seen_on("/leads");
    assert_eq!(lead_pages.len(), 1);
    assert_eq!(lead_pages[0].since.as_deref(), Some("1022"));
    assert_eq!(written_at(store, ws, vendor).await, before);
    assert_exactly_the_source(store, ws, &fake).await;

    // Three price items change (lists 0 and 1) and two go (list 2):
    // three updated, two deleted.
    {
        let mut s = fake.state();
        s.data.put_price_item(0, 1, 123_456);
        s.data.put_price_item(1, 7, 5);
        s.data.put_price_item(1, 13, 99_999);
        s.data.price_items.remove("PL-2 SKU-00004").unwrap();
        s.data.price_items.remove("PL-2 SKU-00000").unwrap();
    }
    let third = engine.run(&conn, None, &()).await.unwrap();
    assert_eq!(
        counts(&third),
        [reread - 2, 0, 3, reread - 5, 2, 0],
        "{third:?}"
    );
    assert_exactly_the_source(store, ws, &fake).await;
    // The lists whose items changed or went were touched (pricing caches
    // key on a list's updated_at), and nothing else.
    let after = written_at(store, ws, vendor).await;
    for (k, at) in &before {
        let touched = ["list PL-0", "list PL-1", "list PL-2"].contains(&k.as_str());
        assert_eq!(after[k] != *at, touched, "{k}");
    }

    // A lead changes and one is added: the incremental stream reads them
    // from where the last pass ended.
    {
        let mut s = fake.state();
        s.data.put_lead(4, 2_000);
        s.data.leads.get_mut("L-00004").unwrap()["name"] = json!("Person 4 Renamed");
        s.data.put_lead(23, 2_001);
    }
    fake.clear_seen();
    let fourth = engine.run(&conn, None, &()).await.unwrap();
    assert_eq!(
        [fourth.created, fourth.updated, fourth.deleted],
        [1, 1, 0],
        "{fourth:?}"
    );
    assert!(
        fake.state()
            .seen_on("/leads")
            .iter()
            .all(|s| s.since.as_deref() == Some("1022"))
    );
    assert_exactly_the_source(store, ws, &fake).await;
    let state = stream_state(store, vendor, &conn, Stream::Leads).await;
    assert_eq!(state.since, Some(json!(2_001)));
    assert_eq!(
        store.partner(ws).connection(conn.id).await.unwrap().status,
        ConnectionStatus::Active
    );
}

async fn a_failed_page_is_resumed_from_not_reread(db: TestDb) {
    let store = &db.store;
    // 2 lists of 20 items: 8 pages of 5. Page 4 fails for good.
    let (ws, vendor, fake, conn) = fake_source(store, VendorData::generate(12, 0, 2, 20), 5).await;
    fake.state().fail_page = Some(("/price-items".into(), 4, 400));
    let engine = engine(store);

    let err = engine.run(&conn, None, &()).await.unwrap_err();
    assert!(
        matches!(&err, RunError::Fatal(m) if m.contains("400")),
        "{err:?}"
    );
    let failed = &store.partner(ws).sync_runs(conn.id, 10).await.unwrap()[0];
    assert_eq!(failed.status, "failed");
    assert_eq!(failed.created, 2 + 20, "the lists and four pages of items");
    assert!(failed.errors[0].contains("400"), "{:?}", failed.errors);
    assert_eq!(
        store.partner(ws).connection(conn.id).await.unwrap().status,
        ConnectionStatus::Failing
    );
    let state = stream_state(store, vendor, &conn, Stream::PriceItems).await;
    assert_eq!(state.next, Some(json!({"cursor": "p4"})));
    assert!(state.pass_id.is_some());
    // What was committed is there, once.
    let items = price_items(store, ws).await;
    let source: Vec<String> = fake.state().data.price_items.keys().cloned().collect();
    assert_eq!(
        items.keys().cloned().collect::<Vec<_>>(),
        source[..20].to_vec()
    );
    assert!(leads(store, ws).await.is_empty(), "leads come after items");

    // Healed: the pass goes on from page 4.
    fake.state().fail_page = None;
    fake.clear_seen();
    let second = engine.run(&conn, None, &()).await.unwrap();
    assert_eq!(
        fake.state()
            .seen_on("/price-items")
            .iter()
            .map(|s| s.page)
            .collect::<Vec<_>>(),
        [4, 5, 6, 7],
        "no page before the failed one is asked for again"
    );
    assert_eq!(second.created, 20 + 12, "{second:?}");
    assert_eq!(second.updated, 0);
    assert_exactly_the_source(store, ws, &fake).await;
    let state = stream_state(store, vendor, &conn, Stream::PriceItems).await;
    assert_eq!((state.next, state.pass_id), (None, None));
    assert_eq!(
        store.partner(ws).connection(conn.id).await.unwrap().status,
        ConnectionStatus::Active
    );
}

async fn duplicate_and_shuffled_pages_end_exactly_right(db: TestDb) {
    let store = &db.store;
    let mut data = VendorData::generate(5, 0, 1, 12);
    let item = |d: &VendorData, sku: usize| d.price_items[&format!("PL-0 SKU-{sku:05}")].clone();
    let lead = |d: &VendorData, i: usize| d.leads[&format!("L-{i:05}")].clone();
    let old_five = item(&data, 5);
    // The vendor's truth has item 5 at its newer price.
    data.put_price_item(0, 5, 77_777);
    let layouts = [
        (
            "/price-items",
            vec![
                vec![item(&data, 7), item(&data, 3), item(&data, 9)],
                // Item 5 twice in one page: the last copy wins.
                vec![item(&data, 0), item(&data, 11), old_five, item(&data, 5)],
                // Item 3 again, a page later.
                vec![
                    item(&data, 3),
                    item(&data, 1),
                    item(&data, 2),
                    item(&data, 4),
                ],
                vec![
                    item(&data, 6),
                    item(&data, 8),
                    item(&data, 10),
                    item(&data, 7),
                ],
            ],
        ),
        (
            "/leads",
            vec![
                vec![lead(&data, 3), lead(&data, 1)],
                vec![lead(&data, 0), lead(&data, 4), lead(&data, 1)],
                vec![lead(&data, 2)],
            ],
        ),
    ];
    let (ws, _, fake, conn) = fake_source(store, data, 5).await;
    fake.state().layouts = layouts
        .into_iter()
        .map(|(p, pages)| (p.to_owned(), pages))
        .collect();
    let engine = engine(store);

    let first = engine.run(&conn, None, &()).await.unwrap();
    // Read: the list, 15 item copies, 6 lead copies. The repeats from later
    // pages are unchanged; the repeat within a page is folded into one.
    assert_eq!(
        counts(&first),
        [1 + 15 + 6, 1 + 12 + 5, 0, 3, 0, 0],
        "{first:?}"
    );
    assert_exactly_the_source(store, ws, &fake).await;

    // Again: nothing new, nothing deleted though keys came twice.
    let second = engine.run(&conn, None, &()).await.unwrap();
    assert_eq!(
        [second.created, second.updated, second.deleted],
        [0, 0, 0],
        "{second:?}"
    );
    assert_eq!(second.unchanged, 1 + 12 + 5 + 3);
    assert_exactly_the_source(store, ws, &fake).await;
}

async fn vendors_at_private_addresses_are_refused_unasked(db: TestDb) {
    let store = &db.store;
    let (ws, vendor) = tenants(store).await;
    // The production policy: public addresses only.
    let mut strict = config();
    strict.http.addresses = AddressPolicy::default();
    let engine = engine_with(store, strict, "strict");
    let fake = FakeVendor::start(VendorData::generate(3, 1, 1, 1)).await;
    for base in [
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://10.0.0.1:8080/api".to_owned(),
        fake.base.clone(),
    ] {
        let conn = rest_source(
            store,
            ws,
            vendor,
            manifest(&base, 5, json!({"type": "none"})),
            None,
        )
        .await;
        let started = Instant::now();
        let err = engine.run(&conn, None, &()).await.unwrap_err();
        assert!(
            matches!(&err, RunError::Fatal(m) if m.contains("refused")),
            "{base}: {err:?}"
        );
        // Refused before connecting: no connect timeout, no retries.
        assert!(started.elapsed() < Duration::from_secs(2), "{base}");
        assert_eq!(
            store.partner(ws).connection(conn.id).await.unwrap().status,
            ConnectionStatus::Failing
        );
        let run = &store.partner(ws).sync_runs(conn.id, 1).await.unwrap()[0];
        assert_eq!((run.status.as_str(), run.read), ("failed", 0));
    }
    assert!(
        fake.state().seen.is_empty(),
        "the loopback fake was not asked"
    );
    assert!(leads(store, ws).await.is_empty());
}

async fn a_lead_the_partner_acted_on_is_kept_as_the_partner_left_it(db: TestDb) {
    let store = &db.store;
    let (ws, _, fake, conn) = fake_source(store, VendorData::generate(6, 0, 0, 0), 10).await;
    let engine = engine(store);
    let first = engine.run(&conn, None, &()).await.unwrap();
    assert_eq!(first.created, 6);
    let before = leads(store, ws).await;
    let accepted = &before["L-00002"];
    accept(store, accepted).await;
    // The vendor changes the accepted lead and another one, in one page.
    {
        let mut s = fake.state();
        for i in [2, 3] {
            s.data.put_lead(i, 5_000 + i as u64);
            s.data.leads.get_mut(&format!("L-{i:05}")).unwrap()["name"] =
                json!(format!("Renamed {i}"));
        }
    }
    let second = engine.run(&conn, None, &()).await.unwrap();
    // L-00002 is read but not written (the other unchanged one is the last
    // pass's newest lead, which `updated_since` includes again).
    assert_eq!(
        (
            second.created,
            second.updated,
            second.unchanged,
            second.failed
        ),
        (0, 1, 2, 0),
        "{second:?}"
    );
    let after = leads(store, ws).await;
    assert_eq!(
        after["L-00002"].contact.name.as_str(),
        accepted.contact.name.as_str(),
        "the partner's lead is kept"
    );
    assert_eq!(after["L-00002"].status, LeadStatus::Accepted);
    assert_eq!(after["L-00003"].contact.name.as_str(), "Renamed 3");
    // The partner hears once per run of the new leads, not once per lead.
    let notes = store.partner(ws).notifications(false).await.unwrap();
    let new_leads: Vec<_> = notes
        .iter()
        .filter(|n| n.title.as_str().contains("new lead"))
        .collect();
    assert_eq!(new_leads.len(), 1, "{notes:?}");
    assert!(
        new_leads[0].title.as_str().starts_with("6 new leads"),
        "{}",
        new_leads[0].title
    );
}

async fn a_full_pass_reads_again_only_the_pages_whose_answer_changed(db: TestDb) {
    let store = &db.store;
    let (ws, vendor) = tenants(store).await;
    let mut data = VendorData::generate(12, 0, 0, 0);
    // The last page holds a lead without a name: refused every time.
    data.leads
        .insert("L-00012".into(), json!({"id": "L-00012", "updated_at": 1}));
    let fake = FakeVendor::start(data).await;
    // Leads only, read whole on every pass (no incremental cursor); pages
    // of 5: L-00000..4, L-00005..9, L-00010..12.
    let mut full = manifest(&fake.base, 5, json!({"type": "none"}));
    let streams = full["streams"].as_object_mut().unwrap();
    streams.retain(|stream, _| stream == "leads");
    streams["leads"]
        .as_object_mut()
        .unwrap()
        .remove("incremental");
    let conn = rest_source(store, ws, vendor, full, None).await;
    let engine = engine(store);

    let first = engine.run(&conn, None, &()).await.unwrap();
    assert_eq!(counts(&first), [13, 12, 0, 0, 0, 1], "{first:?}");
    // Nothing changed: every page is counted as it was, the one with the
    // refused lead read whole again (it was never kept as read).
    let again = engine.run(&conn, None, &()).await.unwrap();
    assert_eq!(counts(&again), [13, 0, 0, 12, 0, 1], "{again:?}");
    assert_eq!(again.total, Some(13));
    assert_eq!(fake.state().seen_on("/leads").len(), 6);

    // The records of an unchanged page are not looked at again: a lead the
    // vendor changed through its API since stays as the API left it while
    // the source's page is the same.
    let vendor_store = store.vendor(vendor);
    vendor_store
        .send_lead(
            ws,
            &onepane_store::testing::content::vendor_lead("L-00003", "Sent By API"),
        )
        .await
        .unwrap();
    // A lead changed at the source: only its page is read record by record.
    fake.state().data.put_lead(7, 99);
    fake.state().data.leads.get_mut("L-00007").unwrap()["name"] = json!("Person Seven");
    let changed = engine.run(&conn, None, &()).await.unwrap();
    assert_eq!(counts(&changed), [13, 0, 1, 11, 0, 1], "{changed:?}");
    let all = leads(store, ws).await;
    assert_eq!(all["L-00007"].contact.name.as_str(), "Person Seven");
    assert_eq!(all["L-00003"].contact.name.as_str(), "Sent By API");
    // Every other lead is the source's; the refused one never landed.
    let source = fake.state().clone_data();
    let expected: Vec<&String> = source.leads.keys().filter(|k| *k != "L-00012").collect();
    assert_eq!(all.keys().collect::<Vec<_>>(), expected);
    for (key, raw) in source
        .leads
        .iter()
        .filter(|(k, _)| !["L-00003", "L-00012"].contains(&k.as_str()))
    {
        assert_eq!(all[key].contact.name.as_str(), raw["name"], "lead {key}");
    }
}

async fn the_rate_a_manifest_states_paces_the_requests(db: TestDb) {
    let store = &db.store;
    let (ws, vendor) = tenants(store).await;
    let fake = FakeVendor::start(VendorData::generate(8, 0, 0, 0)).await;
    // The engine's own default here is 100,000 a second; the vendor says 20,
    // one at a time.
    let mut stated = manifest(&fake.base, 2, json!({"type": "none"}));
    stated["streams"]
        .as_object_mut()
        .unwrap()
        .retain(|stream, _| stream == "leads");
    stated["rate_limit"] = json!({"requests_per_second": 20, "burst": 1});
    let conn = rest_source(store, ws, vendor, stated, None).await;
    let run = engine(store).run(&conn, None, &()).await.unwrap();
    assert_eq!(run.created, 8, "{run:?}");
    let at: Vec<Instant> = fake
        .state()
        .seen_on("/leads")
        .iter()
        .map(|s| s.at)
        .collect();
    assert_eq!(at.len(), 4);
    for pair in at.windows(2) {
        let gap = pair[1] - pair[0];
        // 50 ms apart, less what scheduling can shave off.
        assert!(gap >= Duration::from_millis(40), "requests {gap:?} apart");
    }
}

on_both_backends!(
    the_rate_a_manifest_states_paces_the_requests,
    a_full_pass_reads_again_only_the_pages_whose_answer_changed,
    a_lead_the_partner_acted_on_is_kept_as_the_partner_left_it,
    a_full_sync_lands_the_source_and_reruns_write_only_what_changed,
    a_failed_page_is_resumed_from_not_reread,
    duplicate_and_shuffled_pages_end_exactly_right,
    vendors_at_private_addresses_are_refused_unasked,
    a_paused_vendors_source_says_so_and_writes_nothing,
);

async fn a_paused_vendors_source_says_so_and_writes_nothing(db: TestDb) {
    let store = &db.store;
    let (ws, vendor, _fake, conn) = fake_source(store, VendorData::generate(6, 0, 0, 0), 5).await;
    store
        .operator()
        .set_link_status(ws, vendor, onepane_domain::LinkStatus::Paused)
        .await
        .unwrap();
    let err = engine(store).run(&conn, None, &()).await.unwrap_err();
    assert!(
        matches!(&err, RunError::Fatal(m) if m.contains("paused or ended")),
        "{err:?}"
    );
    assert!(leads(store, ws).await.is_empty(), "nothing was written");
}
