//! CRM pushes from the outbox to a webhook receiver.

use onepane_domain::ConnectionId;
use onepane_domain::workspace::{Connection, ConnectionTarget, NewConnection};
use onepane_store::PushCounts;
use onepane_store::testing::TestDb;
use onepane_sync::RunError;
use serde_json::json;

use crate::on_both_backends;
use crate::support::*;

const SECRET: &str = "whsec-receiver-secret";

async fn webhook_sink(
    store: &onepane_store::Store,
    ws: onepane_domain::WorkspaceId,
    url: &str,
    sealed_for: Option<&str>,
) -> Connection {
    let id = ConnectionId::new();
    // The secret sealed for this connection's field, or (to prove the
    // binding) for another field.
    let field = sealed_for.unwrap_or("signing_secret");
    store
        .partner(ws)
        .create_connection_with(
            id,
            &NewConnection {
                target: ConnectionTarget::CrmSink {},
                connector: name("webhook"),
                name: name("Our CRM"),
                schedule: None,
                settings: json!({ "url": url }),
            },
            &[("signing_secret", seal(ws, id, field, SECRET.as_bytes()))],
        )
        .await
        .unwrap()
}

fn pushed(n: u64) -> PushCounts {
    PushCounts {
        pending: 0,
        pushed: n,
        failed: 0,
    }
}

async fn every_lead_is_pushed_once_and_again_when_it_changes(db: TestDb) {
    let store = &db.store;
    // Seven leads arrive before the sink exists.
    let (ws, _, fake, source) = fake_source(store, VendorData::generate(7, 0, 0, 0), 5).await;
    let engine = engine(store);
    engine.run(&source, None, &()).await.unwrap();
    // Without a CRM sink nothing waits in the outbox for one.
    let outbox = "SELECT CAST(COUNT(*) AS TEXT) FROM crm_outbox WHERE workspace_id = $1";
    assert_eq!(
        sql_text(&db, outbox, &[ws.as_uuid()]).await.as_deref(),
        Some("0")
    );
    let receiver = Receiver::start(SECRET).await;
    let sink = webhook_sink(store, ws, &receiver.url, None).await;
    // Two more arrive after it was created, before it first runs.
    {
        let mut s = fake.state();
        s.data.put_lead(7, 3_000);
        s.data.put_lead(8, 3_001);
    }
    engine.run(&source, None, &()).await.unwrap();
    // With one, the two new leads are marked for it (the seven were seeded).
    assert_eq!(
        sql_text(&db, outbox, &[ws.as_uuid()]).await.as_deref(),
        Some("2")
    );
    let all = leads(store, ws).await;
    assert_eq!(all.len(), 9);

    let first = engine.run(&sink, None, &()).await.unwrap();
    assert_eq!(first.kind, "push");
    assert_eq!((first.read, first.created, first.failed), (9, 9, 0));
    let expected: std::collections::BTreeMap<String, usize> =
        all.values().map(|l| (l.id.to_string(), 1)).collect();
    assert_eq!(receiver.counts(), expected, "every lead once");
    assert!(receiver.state().deliveries.iter().all(|d| d.signed));
    assert_eq!(
        store.partner(ws).push_counts(sink.id).await.unwrap(),
        pushed(9)
    );

    // Nothing changed: nothing is sent.
    let idle = engine.run(&sink, None, &()).await.unwrap();
    assert_eq!((idle.read, idle.created), (0, 0));
    assert_eq!(receiver.state().deliveries.len(), 9);

    // A lead the partner accepts is pushed again, as accepted.
    let accepted = &all["L-00003"];
    accept(store, accepted).await;
    let again = engine.run(&sink, None, &()).await.unwrap();
    assert_eq!((again.read, again.created), (1, 1));
    let last = receiver.state().deliveries.last().unwrap().clone();
    assert_eq!(
        (last.lead.as_str(), last.status.as_str()),
        (accepted.id.to_string().as_str(), "accepted")
    );
    assert_eq!(receiver.counts()[&accepted.id.to_string()], 2);

    // The receiver refuses one lead: it stays pending with the error; the
    // other is pushed.
    let refused = &all["L-00005"];
    let fine = &all["L-00006"];
    receiver.state().refuse.insert(refused.id.to_string());
    for lead in [refused, fine] {
        accept(store, lead).await;
    }
    let partial = engine.run(&sink, None, &()).await.unwrap();
    assert_eq!(partial.status, "succeeded");
    assert_eq!((partial.read, partial.created, partial.failed), (2, 1, 1));
    assert!(
        partial
            .errors
            .iter()
            .any(|e| e.contains(&refused.id.to_string()) && e.contains("500")),
        "{:?}",
        partial.errors
    );
    assert_eq!(
        store.partner(ws).push_counts(sink.id).await.unwrap(),
        PushCounts {
            pending: 1,
            pushed: 8,
            failed: 0
        }
    );
    let error = sql_text(
        &db,
        "SELECT last_error FROM crm_pushes WHERE connection_id = $1 AND entity = 'lead' AND entity_id = $2",
        &[sink.id.as_uuid(), refused.id.as_uuid()],
    )
    .await;
    assert!(
        error.as_deref().is_some_and(|e| e.contains("500")),
        "{error:?}"
    );
    assert_eq!(receiver.counts()[&fine.id.to_string()], 2);
    // Refused answers are not recorded: only its first push got through.
    assert_eq!(receiver.counts()[&refused.id.to_string()], 1);
    // Not due again within this run's backoff: the next run sends nothing.
    let waiting = engine.run(&sink, None, &()).await.unwrap();
    assert_eq!(waiting.read, 0);
}

async fn a_secret_sealed_for_another_field_does_not_open(db: TestDb) {
    let store = &db.store;
    let (ws, _) = tenants(store).await;
    let receiver = Receiver::start(SECRET).await;
    let sink = webhook_sink(store, ws, &receiver.url, Some("credentials")).await;
    let err = engine(store).run(&sink, None, &()).await.unwrap_err();
    assert!(
        matches!(&err, RunError::Fatal(m) if m.contains("another context")),
        "{err:?}"
    );
    assert!(receiver.state().deliveries.is_empty());
}

on_both_backends!(
    every_lead_is_pushed_once_and_again_when_it_changes,
    a_secret_sealed_for_another_field_does_not_open,
);
