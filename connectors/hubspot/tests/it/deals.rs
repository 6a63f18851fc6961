//! Deal registrations become deals, upserted by Onepane's id.

use onepane_connector::{PushOutcome, Sink};
use onepane_connector_hubspot::HubSpotSink;
use serde_json::json;

use crate::fake::{self, DEALS_UPSERT, HubSpot};
use crate::fixtures::{bearer_io, deal};

#[tokio::test]
async fn a_deal_registration_is_upserted_by_the_deal_id_property() {
    let hubspot = HubSpot::start().await;
    hubspot.mount(hubspot.upserts(DEALS_UPSERT)).await;
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();
    assert!(sink.takes_deals());
    let push = deal();
    let key = push.deal.id.to_string();

    let outcomes = sink
        .push_deals(&bearer_io(), std::slice::from_ref(&push))
        .await
        .unwrap();

    assert_eq!(
        outcomes,
        [PushOutcome::Pushed {
            remote_id: Some(fake::remote_id(&key))
        }]
    );
    let bodies = hubspot.upsert_bodies(DEALS_UPSERT).await;
    assert_eq!(
        bodies[0],
        json!({ "inputs": [{
            "id": key,
            "idProperty": "onepane_deal_id",
            "properties": {
                "onepane_deal_id": key,
                "dealname": "Laptops for Kesko",
                "amount": "12000.50",
                "deal_currency_code": "EUR",
                "pipeline": "default",
                "dealstage": "appointmentscheduled",
                "description": "Deal registration with Lenovo for Kesko (submitted).\nTP-X1-G12 × 40"
            }
        }]})
    );
}

#[tokio::test]
async fn a_connection_without_deals_takes_none() {
    let hubspot = HubSpot::start().await;
    let sink = HubSpotSink::from_settings(&json!({
        "base_url": hubspot.uri(),
        "deals": false
    }))
    .unwrap();

    assert!(!sink.takes_deals());
    assert!(sink.push_deals(&bearer_io(), &[deal()]).await.is_err());
    assert!(hubspot.checked_requests().await.is_empty());
}

#[tokio::test]
async fn stages_can_be_left_to_hubspot() {
    let hubspot = HubSpot::start().await;
    hubspot.mount(hubspot.upserts(DEALS_UPSERT)).await;
    let sink = HubSpotSink::from_settings(&json!({
        "base_url": hubspot.uri(),
        "deal_id_property": "partner_deal_key",
        "deal_pipeline": null,
        "deal_stage": null
    }))
    .unwrap();

    sink.push_deals(&bearer_io(), &[deal()]).await.unwrap();

    let bodies = hubspot.upsert_bodies(DEALS_UPSERT).await;
    let input = &bodies[0]["inputs"][0];
    assert_eq!(input["idProperty"], "partner_deal_key");
    assert!(input["properties"].get("dealstage").is_none());
    assert!(input["properties"].get("pipeline").is_none());
}
