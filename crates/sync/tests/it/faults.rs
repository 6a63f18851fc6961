//! A vendor that fails at random: runs repeated until one succeeds end
//! with exactly the source, nothing written twice.

use std::time::Duration;

use onepane_store::testing::TestDb;

use crate::on_both_backends;
use crate::support::*;

/// Leads, price lists and their items: 2,000 + 4 + 4 × 4,500.
const LEADS: usize = 2_000;
const LISTS: usize = 4;
const ITEMS_PER_LIST: usize = 4_500;

async fn repeated_runs_converge_through_random_faults(db: TestDb) {
    let store = &db.store;
    let data = VendorData::generate(LEADS, 0, LISTS, ITEMS_PER_LIST);
    let (ws, _, fake, conn) = fake_source(store, data, 500).await;
    fake.state().faults = Some(Faults {
        rng: Rng::new(seed()),
        server_error: 100,
        too_many: 80,
        slow: 15,
        truncated: 25,
        slow_for: Duration::from_secs(2),
        // Every kind at least once, early.
        forced: vec!["500", "ok", "429", "ok", "slow", "ok", "truncated"],
    });
    let mut config = config();
    config.http.timeout = Duration::from_millis(1_000);
    let engine = engine_with(store, config, "faulty");

    let mut failures = Vec::new();
    let mut done = None;
    for _ in 0..40 {
        match engine.run(&conn, None, &()).await {
            Ok(run) => {
                done = Some(run);
                break;
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    let last = done.unwrap_or_else(|| panic!("no run succeeded: {failures:#?}"));
    assert_eq!(last.status, "succeeded");
    assert!(!failures.is_empty(), "the faults failed no run");

    let seen = fake.state().seen.clone();
    for kind in ["500", "429", "slow", "truncated"] {
        assert!(
            seen.iter().any(|s| s.answer == kind),
            "no `{kind}` fault was served"
        );
    }
    assert_exactly_the_source(store, ws, &fake).await;
    let records = (LEADS + LISTS + LISTS * ITEMS_PER_LIST) as u64;
    assert_eq!(leads(store, ws).await.len(), LEADS);
    assert_eq!(price_items(store, ws).await.len(), LISTS * ITEMS_PER_LIST);
    // Across all runs each record was created once and never rewritten: a
    // page is committed with its position, or not at all.
    let runs = store.partner(ws).sync_runs(conn.id, 100).await.unwrap();
    assert_eq!(runs.len(), failures.len() + 1);
    assert_eq!(runs.iter().map(|r| r.created).sum::<u64>(), records);
    assert_eq!(runs.iter().map(|r| r.updated).sum::<u64>(), 0);
    assert_eq!(runs.iter().map(|r| r.deleted).sum::<u64>(), 0);
    println!(
        "converged after {} failed runs; {} requests",
        failures.len(),
        seen.len()
    );
}

/// The seed of the fault sequence.
const fn seed() -> u64 {
    0x0e9a_9e5e_ed00_0001
}

on_both_backends!(repeated_runs_converge_through_random_faults);
