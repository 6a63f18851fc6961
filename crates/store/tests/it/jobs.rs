//! Durable jobs, identical on SQLite and PostgreSQL: one job per tick,
//! leases, takeover of a dead worker's job, retries, and many claimers.

use chrono::{Duration, Utc};
use onepane_domain::{ConnectionId, WorkspaceId};
use onepane_store::testing::TestDb;
use onepane_store::testing::tenants::*;
use onepane_store::{JobStatus, StoreError};

crate::on_both_backends!(
    a_tick_is_enqueued_once_however_many_replicas_see_it,
    a_lease_is_renewed_and_completed_only_by_its_owner,
    a_dead_workers_job_is_taken_over_when_its_lease_runs_out,
    failures_retry_then_die_and_a_dead_job_can_be_retried_by_hand,
    concurrent_workers_never_claim_the_same_job,
    a_partner_asks_for_a_run_on_its_own_connections_only,
);

async fn workspace_with_crm(db: &TestDb, workspace_name: &str) -> (WorkspaceId, ConnectionId) {
    let ws = workspace(&db.store, workspace_name).await;
    (
        ws,
        connection(&db.store, ws, &crm_sink("webhook", "CRM")).await,
    )
}

async fn a_tick_is_enqueued_once_however_many_replicas_see_it(db: TestDb) {
    let (ws, c) = workspace_with_crm(&db, "Acme Oy").await;
    let system = db.store.system();
    let tick = Utc::now();
    let first = system.enqueue_job(ws, c, "sync", tick, 3).await.unwrap();
    assert!(first.is_some());
    for _ in 0..3 {
        assert!(
            system
                .enqueue_job(ws, c, "sync", tick, 3)
                .await
                .unwrap()
                .is_none()
        );
    }
    // Another kind or another tick is another job.
    assert!(
        system
            .enqueue_job(ws, c, "push", tick, 3)
            .await
            .unwrap()
            .is_some()
    );
    let next = tick + Duration::minutes(15);
    assert!(
        system
            .enqueue_job(ws, c, "sync", next, 3)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(db.store.partner(ws).jobs(c).await.unwrap().len(), 3);
}

async fn a_lease_is_renewed_and_completed_only_by_its_owner(db: TestDb) {
    let (ws, c) = workspace_with_crm(&db, "Acme Oy").await;
    let system = db.store.system();
    system
        .enqueue_job(ws, c, "sync", Utc::now(), 3)
        .await
        .unwrap();
    let job = system
        .claim_job("worker-a", Duration::seconds(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((job.status, job.attempts), (JobStatus::Running, 1));
    assert_eq!(job.lease_owner.as_deref(), Some("worker-a"));
    // Leased: nobody else gets it.
    assert!(
        system
            .claim_job("worker-b", Duration::seconds(60))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !system
            .renew_job(&job, "worker-b", Duration::seconds(60))
            .await
            .unwrap()
    );
    assert!(
        system
            .renew_job(&job, "worker-a", Duration::seconds(60))
            .await
            .unwrap()
    );
    assert!(!system.complete_job(&job, "worker-b").await.unwrap());
    assert!(system.complete_job(&job, "worker-a").await.unwrap());
    assert!(
        !system.complete_job(&job, "worker-a").await.unwrap(),
        "done once"
    );
    let listed = db.store.partner(ws).jobs(c).await.unwrap();
    assert_eq!(listed[0].status, JobStatus::Succeeded);
    assert!(
        system
            .claim_job("worker-b", Duration::seconds(60))
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_dead_workers_job_is_taken_over_when_its_lease_runs_out(db: TestDb) {
    let (ws, c) = workspace_with_crm(&db, "Acme Oy").await;
    let system = db.store.system();
    system
        .enqueue_job(ws, c, "sync", Utc::now(), 3)
        .await
        .unwrap();
    // Worker A's lease is already over (it "died" at once).
    let a = system
        .claim_job("worker-a", Duration::milliseconds(-1))
        .await
        .unwrap()
        .unwrap();
    let b = system
        .claim_job("worker-b", Duration::seconds(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(b.attempts, 2);
    // A, back from the dead, can no longer finish or renew it.
    assert!(!system.complete_job(&a, "worker-a").await.unwrap());
    assert!(
        !system
            .renew_job(&a, "worker-a", Duration::seconds(60))
            .await
            .unwrap()
    );
    assert!(system.complete_job(&b, "worker-b").await.unwrap());

    // On the last attempt, a lease that runs out kills the job.
    system
        .enqueue_job(ws, c, "push", Utc::now(), 1)
        .await
        .unwrap();
    let last = system
        .claim_job("worker-a", Duration::milliseconds(-1))
        .await
        .unwrap()
        .unwrap();
    assert!(
        system
            .claim_job("worker-b", Duration::seconds(60))
            .await
            .unwrap()
            .is_none()
    );
    let dead = db
        .store
        .partner(ws)
        .jobs(c)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == last.id)
        .unwrap();
    assert_eq!(dead.status, JobStatus::Dead);
    assert!(dead.last_error.unwrap().contains("stopped renewing"));
}

async fn failures_retry_then_die_and_a_dead_job_can_be_retried_by_hand(db: TestDb) {
    let (ws, c) = workspace_with_crm(&db, "Acme Oy").await;
    let system = db.store.system();
    let lease = Duration::seconds(60);
    system
        .enqueue_job(ws, c, "sync", Utc::now(), 2)
        .await
        .unwrap();
    let job = system.claim_job("w", lease).await.unwrap().unwrap();
    // Retry later: not due yet.
    assert!(
        system
            .fail_job(
                &job,
                "w",
                "the vendor answered 503",
                Some(Utc::now() + Duration::hours(1))
            )
            .await
            .unwrap()
    );
    assert!(system.claim_job("w", lease).await.unwrap().is_none());
    let listed = db.store.partner(ws).jobs(c).await.unwrap();
    assert_eq!(
        (listed[0].status, listed[0].last_error.as_deref()),
        (JobStatus::Pending, Some("the vendor answered 503"))
    );

    // Retry now; the second and last attempt fails too: dead.
    system
        .enqueue_job(ws, c, "push", Utc::now(), 2)
        .await
        .unwrap();
    let push = system.claim_job("w", lease).await.unwrap().unwrap();
    assert!(
        system
            .fail_job(&push, "w", "timeout", Some(Utc::now()))
            .await
            .unwrap()
    );
    let again = system.claim_job("w", lease).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (push.id, 2));
    assert!(
        system
            .fail_job(&again, "w", "timeout", Some(Utc::now()))
            .await
            .unwrap()
    );
    assert!(system.claim_job("w", lease).await.unwrap().is_none());
    assert!(
        matches!(
            system.retry_dead_job(ws, job.connection_id, job.id).await,
            Err(StoreError::Rule(_))
        ),
        "not dead"
    );
    // Named under another connection, the job is not found.
    assert!(
        matches!(
            system
                .retry_dead_job(ws, ConnectionId::new(), push.id)
                .await,
            Err(StoreError::NotFound { .. })
        ),
        "another connection's job"
    );
    let back = system
        .retry_dead_job(ws, push.connection_id, push.id)
        .await
        .unwrap();
    assert_eq!((back.status, back.attempts), (JobStatus::Pending, 0));
    assert_eq!(
        system.claim_job("w", lease).await.unwrap().unwrap().id,
        push.id
    );
}

async fn concurrent_workers_never_claim_the_same_job(db: TestDb) {
    let (ws, c) = workspace_with_crm(&db, "Acme Oy").await;
    let system = db.store.system();
    let base = Utc::now() - Duration::minutes(10);
    for i in 0..6 {
        system
            .enqueue_job(ws, c, "sync", base + Duration::seconds(i), 3)
            .await
            .unwrap();
    }
    let workers: Vec<_> = (0..10)
        .map(|w| {
            let system = db.store.system();
            tokio::spawn(async move {
                system
                    .claim_job(&format!("worker-{w}"), Duration::seconds(60))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for w in workers {
        if let Some(job) = w.await.unwrap() {
            claimed.push(job.id);
        }
    }
    claimed.sort();
    let before = claimed.len();
    claimed.dedup();
    assert_eq!(before, claimed.len(), "a job was claimed twice");
    assert_eq!(claimed.len(), 6, "every due job was claimed");
}

async fn a_partner_asks_for_a_run_on_its_own_connections_only(db: TestDb) {
    let (ws, c) = workspace_with_crm(&db, "Acme Oy").await;
    let (other, theirs) = workspace_with_crm(&db, "Other Oy").await;
    let p = db.store.partner(ws);
    let job = p.request_job(c, "sync", 3).await.unwrap();
    assert_eq!((job.status, job.workspace_id), (JobStatus::Pending, ws));
    assert!(matches!(
        p.request_job(theirs, "sync", 3).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(p.jobs(theirs).await.unwrap().is_empty());
    assert!(
        db.store
            .partner(other)
            .jobs(theirs)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(p.jobs(c).await.unwrap().len(), 1);
}
