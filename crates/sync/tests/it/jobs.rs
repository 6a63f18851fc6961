//! Scheduled ticks and requested runs as jobs, across three replicas
//! (scheduler, engine and worker each, with their own pools) on one
//! PostgreSQL database.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use onepane_domain::workspace::ConnectionStatus;
use onepane_store::testing::TestDb;
use onepane_store::{JobStatus, Store, StoreOptions};
use onepane_sync::{JOB_ATTEMPTS, Scheduler, Worker};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::support::*;

/// Waits for `probe` to give a value, polling.
async fn eventually<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A replica's own pool on the same database.
async fn replica(db: &TestDb) -> Store {
    Store::connect(&db.url, &StoreOptions::default())
        .await
        .unwrap()
}

/// Starts a replica's worker, stopping when `stop` turns true.
fn start_worker(
    store: &Store,
    owner: &str,
    lease: Duration,
    stop: &watch::Receiver<bool>,
) -> JoinHandle<()> {
    let worker = Worker::new(engine_with(store, config(), owner), owner.to_owned(), lease)
        .with_retry_base(Duration::from_millis(100));
    let mut stop = stop.clone();
    tokio::spawn(worker.run(Duration::from_millis(50), async move {
        let _ = stop.wait_for(|s| *s).await;
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_every_tick_is_one_job_run_once_across_replicas() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let store = &db.store;
    let (ws, vendor) = tenants(store).await;
    let fake = FakeVendor::start(VendorData::generate(10, 2, 1, 10)).await;
    let conn = rest_source_on(
        store,
        ws,
        vendor,
        manifest(&fake.base, 5, json!({"type": "none"})),
        None,
        Some("*/2 * * * * *"),
    )
    .await;
    let (stop, stopped) = watch::channel(false);
    let mut schedulers = Vec::new();
    let mut workers = Vec::new();
    for i in 0..3 {
        let replica = replica(&db).await;
        let scheduler = Scheduler::start(replica.clone()).await.unwrap();
        scheduler.reload().await.unwrap();
        assert_eq!(scheduler.len().await, 1);
        schedulers.push(scheduler);
        workers.push(start_worker(
            &replica,
            &format!("replica-{i}"),
            Duration::from_secs(10),
            &stopped,
        ));
    }
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    for s in &schedulers {
        s.shutdown().await.unwrap();
    }
    // A firing under way when the schedulers stopped still lands.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let partner = store.partner(ws);
    let jobs = eventually(Duration::from_secs(20), "every job to finish", || async {
        let jobs = partner.jobs(conn.id).await.unwrap();
        jobs.iter()
            .all(|j| j.status == JobStatus::Succeeded)
            .then_some(jobs)
    })
    .await;
    stop.send(true).unwrap();
    for w in workers {
        w.await.unwrap();
    }

    // 5.5 s of a two-second schedule: two or three ticks, one job each, on
    // even whole seconds two seconds apart (a replica that named another
    // second would have made a second job for one firing).
    assert!((2..=4).contains(&jobs.len()), "{} jobs", jobs.len());
    let mut ticks: Vec<_> = jobs.iter().map(|j| j.scheduled_for).collect();
    ticks.sort();
    assert_eq!(
        ticks.iter().collect::<HashSet<_>>().len(),
        ticks.len(),
        "{ticks:?}"
    );
    for t in &ticks {
        assert_eq!(t.timestamp_subsec_micros(), 0, "{t}");
        assert_eq!(t.timestamp() % 2, 0, "{t}");
    }
    for pair in ticks.windows(2) {
        assert_eq!(pair[1] - pair[0], chrono::Duration::seconds(2), "{ticks:?}");
    }
    for job in &jobs {
        assert_eq!((job.kind.as_str(), job.attempts), ("sync", 1), "{job:?}");
    }
    // Each job ran exactly once, by one of the replicas.
    let runs = partner.sync_runs(conn.id, 100).await.unwrap();
    let mut per_job: BTreeMap<String, usize> = BTreeMap::new();
    for run in &runs {
        assert_eq!(run.status, "succeeded", "{run:?}");
        *per_job
            .entry(run.job_id.expect("a scheduled run has its job").to_string())
            .or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = jobs.iter().map(|j| (j.id.to_string(), 1)).collect();
    assert_eq!(per_job, expected);
    assert_exactly_the_source(store, ws, &fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_job_whose_worker_died_is_taken_over_after_its_lease() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let store = &db.store;
    // Forty leads in ten slow pages: a run takes seconds.
    let (ws, _, fake, conn) = fake_source(store, VendorData::generate(40, 0, 0, 0), 4).await;
    fake.state().page_delay = Duration::from_millis(300);
    let lease = Duration::from_secs(2);
    let (stop, stopped) = watch::channel(false);
    let mut workers: HashMap<String, JoinHandle<()>> = HashMap::new();
    for i in 0..3 {
        let owner = format!("replica-{i}");
        let replica = replica(&db).await;
        workers.insert(
            owner.clone(),
            start_worker(&replica, &owner, lease, &stopped),
        );
    }

    let partner = store.partner(ws);
    let job = partner
        .request_job(conn.id, "sync", JOB_ATTEMPTS)
        .await
        .unwrap();
    // Once the worker holding it has committed a few lead pages, it dies.
    let owner = eventually(
        Duration::from_secs(20),
        "a worker to be mid-run",
        || async {
            let held = partner.jobs(conn.id).await.unwrap()[0].lease_owner.clone();
            (fake.state().seen_on("/leads").len() >= 4)
                .then_some(held)
                .flatten()
        },
    )
    .await;
    workers.remove(&owner).unwrap().abort();
    let killed = Instant::now();

    let done = eventually(
        Duration::from_secs(30),
        "the job to be taken over",
        || async {
            let jobs = partner.jobs(conn.id).await.unwrap();
            (jobs[0].status == JobStatus::Succeeded).then(|| jobs[0].clone())
        },
    )
    .await;
    let took = killed.elapsed();
    stop.send(true).unwrap();
    for (_, w) in workers {
        w.await.unwrap();
    }

    assert_eq!(done.id, job.id);
    assert_eq!(done.attempts, 2, "taken over once: {done:?}");
    assert_eq!(done.lease_owner, None);
    // Not before the dead worker's lease ran out (it renewed every third).
    assert!(took >= lease / 2, "taken over after {took:?}");
    // Its run never finished (it is marked interrupted when the other took
    // the connection over); the one that took over did, from the last
    // committed page: no lead page is read twice but those in flight (the
    // page being written and the next, fetched meanwhile).
    let runs = partner.sync_runs(conn.id, 10).await.unwrap();
    let mut statuses: Vec<&str> = runs.iter().map(|r| r.status.as_str()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, ["interrupted", "succeeded"]);
    assert!(runs.iter().all(|r| r.job_id == Some(job.id)));
    let pages: Vec<usize> = fake
        .state()
        .seen_on("/leads")
        .iter()
        .map(|s| s.page)
        .collect();
    assert_eq!(pages.iter().filter(|p| **p == 0).count(), 1, "{pages:?}");
    assert!((10..=12).contains(&pages.len()), "{pages:?}");
    assert_exactly_the_source(store, ws, &fake).await;
}

/// A page whose body ends mid-JSON is a passing fault: the job is retried,
/// the connection stays active, and the retry brings everything.
async fn a_truncated_page_is_retried_and_the_connection_stays_active(db: TestDb) {
    let store = &db.store;
    let (ws, _, fake, conn) = fake_source(store, VendorData::generate(30, 0, 0, 0), 10).await;
    fake.state().faults = Some(Faults {
        rng: Rng::new(7),
        server_error: 0,
        too_many: 0,
        slow: 0,
        truncated: 0,
        slow_for: Duration::ZERO,
        forced: vec!["ok", "truncated"],
    });
    let job = store
        .partner(ws)
        .request_job(conn.id, "sync", JOB_ATTEMPTS)
        .await
        .unwrap();
    let worker = Worker::new(
        engine_with(store, config(), "w"),
        "w".to_owned(),
        Duration::from_secs(60),
    )
    .with_retry_base(Duration::from_millis(100));
    assert!(worker.run_one().await.unwrap());
    let after = store.partner(ws).jobs(conn.id).await.unwrap();
    let first = after.iter().find(|j| j.id == job.id).unwrap();
    assert_eq!(first.status, JobStatus::Pending, "{first:?}");
    assert!(
        first
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("ended early")),
        "{first:?}"
    );
    let status = store.partner(ws).connection(conn.id).await.unwrap().status;
    assert_eq!(status, ConnectionStatus::Active);
    // Its retry is due after the backoff and brings every record.
    eventually(Duration::from_secs(10), "the retry to succeed", || async {
        worker.run_one().await.unwrap();
        let jobs = store.partner(ws).jobs(conn.id).await.unwrap();
        jobs.iter()
            .find(|j| j.id == job.id && j.status == JobStatus::Succeeded)
            .map(drop)
    })
    .await;
    assert_exactly_the_source(store, ws, &fake).await;
}

/// A job running when its server shuts down is handed back at once: its
/// run is marked interrupted, its connection freed, its attempt not
/// counted, and another worker goes on with it at once rather than after
/// the lease (a minute here) runs out.
async fn a_job_running_at_shutdown_is_handed_back_at_once(db: TestDb) {
    let store = &db.store;
    let (ws, _, fake, conn) = fake_source(store, VendorData::generate(40, 0, 0, 0), 10).await;
    fake.state().page_delay = Duration::from_millis(700);
    let job = store
        .partner(ws)
        .request_job(conn.id, "sync", JOB_ATTEMPTS)
        .await
        .unwrap();
    let lease = Duration::from_secs(60);
    let mut long = config();
    long.run_lease = lease;
    let (stop_tx, stop) = watch::channel(false);
    let stopping = Worker::new(engine_with(store, long.clone(), "a"), "a".to_owned(), lease);
    let mut stop_a = stop.clone();
    let first = tokio::spawn(stopping.run(Duration::from_millis(50), async move {
        let _ = stop_a.wait_for(|s| *s).await;
    }));
    eventually(Duration::from_secs(10), "a page to be read", || async {
        (!fake.state().seen.is_empty()).then_some(())
    })
    .await;
    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(3), first)
        .await
        .expect("the worker stops at once")
        .unwrap();
    let jobs = store.partner(ws).jobs(conn.id).await.unwrap();
    let handed = jobs.iter().find(|j| j.id == job.id).unwrap();
    assert_eq!(handed.status, JobStatus::Pending, "{handed:?}");
    assert_eq!(handed.attempts, 0, "the stopped attempt is not counted");
    assert_eq!(handed.lease_owner, None);
    let runs = store.partner(ws).sync_runs(conn.id, 10).await.unwrap();
    assert_eq!(runs[0].status, "interrupted", "{runs:?}");

    fake.state().page_delay = Duration::ZERO;
    let other = Worker::new(engine_with(store, long, "b"), "b".to_owned(), lease);
    assert!(other.run_one().await.unwrap(), "the job is due at once");
    let jobs = store.partner(ws).jobs(conn.id).await.unwrap();
    let done = jobs.iter().find(|j| j.id == job.id).unwrap();
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_exactly_the_source(store, ws, &fake).await;
}

crate::on_both_backends!(
    a_truncated_page_is_retried_and_the_connection_stays_active,
    a_job_running_at_shutdown_is_handed_back_at_once,
);
