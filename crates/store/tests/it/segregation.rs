//! Segregation, attacked with random worlds: workspaces, vendors, links and
//! rows of every kind, written and read through every scope. Each operation
//! states whether it must succeed (its scope owns the target) or fail (it
//! reaches into another tenant), and after the world is built every read
//! through every scope must return exactly its own rows.

use std::collections::{BTreeMap, BTreeSet};

use onepane_domain::activity::{Actor, NewNotification, NotificationKind};
use onepane_domain::campaign::CampaignStatus;
use onepane_domain::deal::{DealDecision, DealStatus};
use onepane_domain::lead::{ConsentAnswer, LeadSource, LeadStatus, NewCampaignLead, NewManualLead};
use onepane_domain::price::{ExchangeRate, Percent, SellMethod, SellRuleSelector};
use onepane_domain::program::LinkStatus;
use onepane_domain::text::LongText;
use onepane_domain::*;
use onepane_store::testing::TestDb;
use onepane_store::testing::content::*;
use onepane_store::testing::tenants::*;
use onepane_store::{LeadFilter, Page, Store, StoreError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rust_decimal::Decimal;

#[derive(Debug, Clone)]
enum Op {
    Link {
        ws: usize,
        v: usize,
        tier: Tier,
    },
    EndLink {
        ws: usize,
        v: usize,
    },
    PublishCampaign {
        v: usize,
        key: u8,
        gold_only: bool,
    },
    PublishAsset {
        v: usize,
        key: u8,
    },
    PublishPrices {
        v: usize,
        key: u8,
        items: u8,
    },
    SendLead {
        v: usize,
        ws: usize,
        key: u8,
    },
    ManualLead {
        ws: usize,
        v: Option<usize>,
    },
    AcceptLead {
        ws: usize,
        nth: usize,
    },
    Activate {
        ws: usize,
        nth: usize,
    },
    Capture {
        ws: usize,
        nth: usize,
    },
    RegisterDeal {
        ws: usize,
        v: usize,
        lead: Option<usize>,
    },
    Decide {
        v: usize,
        nth: usize,
        approve: bool,
    },
    SetTier {
        v: usize,
        ws: usize,
        tier: Tier,
    },
    SellRule {
        ws: usize,
        v: Option<usize>,
    },
    Rate {
        ws: usize,
    },
    Notify {
        ws: usize,
    },
    Connect {
        ws: usize,
        v: usize,
    },
    ReadForeign {
        ws: usize,
        nth: usize,
    },
}

#[derive(Debug, Clone)]
struct World {
    workspaces: usize,
    vendors: usize,
    ops: Vec<Op>,
}

fn tier() -> impl Strategy<Value = Tier> {
    prop::sample::select(Tier::ALL.to_vec())
}

fn world() -> impl Strategy<Value = World> {
    (2usize..=3, 2usize..=3).prop_flat_map(|(w, v)| {
        let ws = 0..w;
        let vs = 0..v;
        let n = 0usize..64;
        let op = prop_oneof![
            3 => (ws.clone(), vs.clone(), tier()).prop_map(|(ws, v, tier)| Op::Link { ws, v, tier }),
            1 => (ws.clone(), vs.clone()).prop_map(|(ws, v)| Op::EndLink { ws, v }),
            2 => (vs.clone(), 0u8..3, any::<bool>()).prop_map(|(v, key, gold_only)| Op::PublishCampaign { v, key, gold_only }),
            1 => (vs.clone(), 0u8..3).prop_map(|(v, key)| Op::PublishAsset { v, key }),
            1 => (vs.clone(), 0u8..2, 0u8..4).prop_map(|(v, key, items)| Op::PublishPrices { v, key, items }),
            3 => (vs.clone(), ws.clone(), 0u8..4).prop_map(|(v, ws, key)| Op::SendLead { v, ws, key }),
            2 => (ws.clone(), prop::option::of(vs.clone())).prop_map(|(ws, v)| Op::ManualLead { ws, v }),
            1 => (ws.clone(), n.clone()).prop_map(|(ws, nth)| Op::AcceptLead { ws, nth }),
            2 => (ws.clone(), n.clone()).prop_map(|(ws, nth)| Op::Activate { ws, nth }),
            2 => (ws.clone(), n.clone()).prop_map(|(ws, nth)| Op::Capture { ws, nth }),
            3 => (ws.clone(), vs.clone(), prop::option::of(n.clone())).prop_map(|(ws, v, lead)| Op::RegisterDeal { ws, v, lead }),
            2 => (vs.clone(), n.clone(), any::<bool>()).prop_map(|(v, nth, approve)| Op::Decide { v, nth, approve }),
            1 => (vs.clone(), ws.clone(), tier()).prop_map(|(v, ws, tier)| Op::SetTier { v, ws, tier }),
            1 => (ws.clone(), prop::option::of(vs.clone())).prop_map(|(ws, v)| Op::SellRule { ws, v }),
            1 => ws.clone().prop_map(|ws| Op::Rate { ws }),
            1 => ws.clone().prop_map(|ws| Op::Notify { ws }),
            1 => (ws.clone(), vs.clone()).prop_map(|(ws, v)| Op::Connect { ws, v }),
            2 => (ws.clone(), n.clone()).prop_map(|(ws, nth)| Op::ReadForeign { ws, nth }),
        ];
        prop::collection::vec(op, 1..40).prop_map(move |ops| World { workspaces: w, vendors: v, ops })
    })
}

/// What the world should hold, kept beside the store.
#[derive(Default)]
struct Model {
    links: BTreeMap<(WorkspaceId, VendorId), (LinkStatus, Tier)>,
    /// lead -> (workspace, vendor, source, shared, status)
    leads: BTreeMap<LeadId, (WorkspaceId, Option<VendorId>, LeadSource, bool, LeadStatus)>,
    /// campaign (stored once per vendor) -> (vendor, gold only)
    campaigns: BTreeMap<CampaignId, (VendorId, bool)>,
    /// published assets and price lists: (vendor, external id)
    assets: BTreeSet<(VendorId, String)>,
    price_lists: BTreeSet<(VendorId, String)>,
    /// activation -> (workspace, campaign)
    activations: Vec<(ActivationId, WorkspaceId, CampaignId)>,
    /// deal -> (workspace, vendor, status)
    deals: BTreeMap<DealRegistrationId, (WorkspaceId, VendorId, DealStatus)>,
    /// deal -> the lead it was registered from
    deal_leads: BTreeMap<DealRegistrationId, LeadId>,
    rates: BTreeMap<WorkspaceId, Decimal>,
}

impl Model {
    fn active(&self, ws: WorkspaceId, v: VendorId) -> bool {
        matches!(self.links.get(&(ws, v)), Some((LinkStatus::Active, _)))
    }
    /// Whether `ws` sees campaign `id` among the campaigns meant for it:
    /// linked now, and in its audience by the tier it has now.
    fn meant_for(&self, ws: WorkspaceId, id: CampaignId) -> bool {
        let (v, gold_only) = self.campaigns[&id];
        self.active(ws, v)
            && (!gold_only || self.links.get(&(ws, v)).is_some_and(|l| l.1 == Tier::Gold))
    }
    fn nth<K: Copy, V>(map: &BTreeMap<K, V>, nth: usize) -> Option<K> {
        if map.is_empty() {
            None
        } else {
            map.keys().nth(nth % map.len()).copied()
        }
    }
}

fn ok_or_refused<T: std::fmt::Debug>(
    what: &str,
    r: Result<T, StoreError>,
    expect_ok: bool,
) -> Option<T> {
    match r {
        Ok(v) => {
            assert!(expect_ok, "{what}: succeeded but must be refused: {v:?}");
            Some(v)
        }
        Err(e) => {
            assert!(!expect_ok, "{what}: refused but must succeed: {e:?}");
            assert!(
                matches!(
                    e,
                    StoreError::NotFound { .. }
                        | StoreError::NotLinked(_)
                        | StoreError::Rule(_)
                        | StoreError::Conflict(_)
                ),
                "{what}: refused with an unexpected error: {e:?}"
            );
            None
        }
    }
}

async fn run_world(store: &Store, world: World) {
    let mut wss = Vec::new();
    for i in 0..world.workspaces {
        wss.push(workspace(store, &format!("Partner {i}")).await);
    }
    let mut vs = Vec::new();
    for i in 0..world.vendors {
        vs.push(vendor(store, &format!("Vendor {i}")).await);
    }
    let mut m = Model::default();
    let day = "2026-11-01".parse().unwrap();
    for (step, op) in world.ops.iter().enumerate() {
        let what = format!("step {step} {op:?}");
        match *op {
            Op::Link { ws, v, tier } => {
                store
                    .operator()
                    .link(wss[ws], vs[v], tier, PartnerType::Var)
                    .await
                    .unwrap();
                m.links.insert((wss[ws], vs[v]), (LinkStatus::Active, tier));
            }
            Op::EndLink { ws, v } => {
                let r = store
                    .operator()
                    .set_link_status(wss[ws], vs[v], LinkStatus::Ended)
                    .await;
                if ok_or_refused(&what, r, m.links.contains_key(&(wss[ws], vs[v]))).is_some() {
                    m.links
                        .entry((wss[ws], vs[v]))
                        .and_modify(|l| l.0 = LinkStatus::Ended);
                }
            }
            Op::PublishCampaign { v, key, gold_only } => {
                let tiers = if gold_only { vec![Tier::Gold] } else { vec![] };
                let c = store
                    .vendor(vs[v])
                    .publish_campaign(&ext(&format!("c{key}")), &campaign("Camp", &tiers))
                    .await
                    .unwrap();
                assert_eq!(c.vendor_id, vs[v], "{what}");
                // Stored once: republishing keeps its id.
                m.campaigns.insert(c.id, (vs[v], gold_only));
            }
            Op::PublishAsset { v, key } => {
                let a = store
                    .vendor(vs[v])
                    .publish_asset(&ext(&format!("a{key}")), &asset("Brochure"))
                    .await
                    .unwrap();
                assert_eq!(a.vendor_id, vs[v], "{what}");
                m.assets.insert((vs[v], a.external_id.to_string()));
            }
            Op::PublishPrices { v, key, items } => {
                let list: Vec<_> = (0..items)
                    .map(|i| item(&format!("SKU-{i}"), "10.50"))
                    .collect();
                let l = store
                    .vendor(vs[v])
                    .publish_price_list(&ext(&format!("p{key}")), &terms(Currency::EUR), &list)
                    .await
                    .unwrap();
                assert_eq!(l.vendor_id, vs[v], "{what}");
                m.price_lists.insert((vs[v], l.external_id.to_string()));
            }
            Op::SendLead { v, ws, key } => {
                let r = store
                    .vendor(vs[v])
                    .send_lead(wss[ws], &vendor_lead(&format!("L{key}"), "Lead Person"))
                    .await;
                // A resend of a lead the partner already handled is refused (Conflict).
                match r {
                    Ok(lead) => {
                        assert!(
                            m.active(wss[ws], vs[v]),
                            "{what}: sent to an unlinked workspace"
                        );
                        assert_eq!((lead.workspace_id, lead.vendor_id), (wss[ws], Some(vs[v])));
                        let entry = m.leads.entry(lead.id).or_insert((
                            wss[ws],
                            Some(vs[v]),
                            LeadSource::Vendor,
                            false,
                            LeadStatus::New,
                        ));
                        assert_eq!(
                            entry.4,
                            LeadStatus::New,
                            "{what}: resend changed a handled lead"
                        );
                    }
                    Err(StoreError::NotLinked(w)) => {
                        assert_eq!(w, wss[ws]);
                        assert!(
                            !m.active(wss[ws], vs[v]),
                            "{what}: refused a linked workspace"
                        );
                    }
                    Err(StoreError::Conflict(_)) => assert!(m.active(wss[ws], vs[v]), "{what}"),
                    Err(e) => panic!("{what}: {e:?}"),
                }
            }
            Op::ManualLead { ws, v } => {
                let vendor_id = v.map(|v| vs[v]);
                let r = store
                    .partner(wss[ws])
                    .create_manual_lead(&NewManualLead {
                        vendor_id,
                        contact: contact("Manual Person"),
                        company: None,
                        message: None,
                    })
                    .await;
                let expect = vendor_id.is_none_or(|v| m.active(wss[ws], v));
                if let Some(lead) = ok_or_refused(&what, r, expect) {
                    m.leads.insert(
                        lead.id,
                        (
                            wss[ws],
                            vendor_id,
                            LeadSource::Manual,
                            false,
                            LeadStatus::New,
                        ),
                    );
                }
            }
            Op::AcceptLead { ws, nth } => {
                let Some(id) = Model::nth(&m.leads, nth) else {
                    continue;
                };
                let (owner, _, _, _, status) = m.leads[&id];
                let r = store
                    .partner(wss[ws])
                    .set_lead_status(id, LeadStatus::Accepted)
                    .await;
                if owner != wss[ws] {
                    assert!(
                        matches!(r, Err(StoreError::NotFound { .. })),
                        "{what}: foreign lead touched: {r:?}"
                    );
                } else if ok_or_refused(&what, r, status == LeadStatus::New).is_some() {
                    m.leads.get_mut(&id).unwrap().4 = LeadStatus::Accepted;
                }
            }
            Op::Activate { ws, nth } => {
                let Some(id) = Model::nth(&m.campaigns, nth) else {
                    continue;
                };
                let (v, _) = m.campaigns[&id];
                let r = store.partner(wss[ws]).activate_campaign(id, None).await;
                let already = m
                    .activations
                    .iter()
                    .any(|(_, w, c)| *w == wss[ws] && *c == id);
                let expect = m.meant_for(wss[ws], id) || (already && m.active(wss[ws], v));
                if !m.links.contains_key(&(wss[ws], v)) {
                    assert!(
                        matches!(r, Err(StoreError::NotFound { .. })),
                        "{what}: an unlinked vendor's campaign activated: {r:?}"
                    );
                } else if let Some(a) = ok_or_refused(&what, r, expect) {
                    assert_eq!(
                        (a.workspace_id, a.campaign_id, a.vendor_id),
                        (wss[ws], id, v)
                    );
                    if !m.activations.iter().any(|(x, ..)| *x == a.id) {
                        m.activations.push((a.id, wss[ws], id));
                    }
                }
            }
            Op::Capture { ws, nth } => {
                if m.activations.is_empty() {
                    continue;
                }
                let (aid, owner, campaign) = m.activations[nth % m.activations.len()];
                // A landing page takes leads while the workspace is linked
                // to the campaign's vendor (active or paused): ending the
                // link takes the vendor's content, its landing pages with
                // it, out of the pane for good.
                let vendor = m.campaigns[&campaign].0;
                let linked = m
                    .links
                    .get(&(owner, vendor))
                    .is_some_and(|(status, _)| *status != LinkStatus::Ended);
                let r = store
                    .partner(wss[ws])
                    .capture_campaign_lead(&NewCampaignLead {
                        activation_id: aid,
                        contact: contact("Visitor"),
                        company: None,
                        message: None,
                        consent: ConsentAnswer::NotAsked,
                    })
                    .await;
                if let Some(lead) = ok_or_refused(&what, r, owner == wss[ws] && linked) {
                    assert_eq!(lead.workspace_id, wss[ws]);
                    assert_eq!(lead.activation_id, Some(aid));
                    m.leads.insert(
                        lead.id,
                        (
                            wss[ws],
                            lead.vendor_id,
                            LeadSource::Campaign,
                            false,
                            LeadStatus::New,
                        ),
                    );
                }
            }
            Op::RegisterDeal { ws, v, lead } => {
                let lead_id = lead.and_then(|n| Model::nth(&m.leads, n));
                let lead_ok = lead_id.is_none_or(|l| {
                    let (owner, lv, ..) = m.leads[&l];
                    owner == wss[ws] && lv.is_none_or(|lv| lv == vs[v])
                });
                // A lead is registered once per vendor while that
                // registration is submitted or approved.
                let registered = lead_id.is_some_and(|l| {
                    m.deal_leads.iter().any(|(d, dl)| {
                        *dl == l
                            && matches!(
                                m.deals.get(d),
                                Some((_, dv, DealStatus::Submitted | DealStatus::Approved)) if *dv == vs[v]
                            )
                    })
                });
                let expect = m.active(wss[ws], vs[v]) && lead_ok && !registered;
                let r = store
                    .partner(wss[ws])
                    .register_deal(vs[v], &deal("Deal"), lead_id, None)
                    .await;
                if let Some(reg) = ok_or_refused(&what, r, expect) {
                    assert_eq!((reg.workspace_id, reg.vendor_id), (wss[ws], vs[v]));
                    m.deals
                        .insert(reg.id, (wss[ws], vs[v], DealStatus::Submitted));
                    if let Some(l) = lead_id {
                        m.deal_leads.insert(reg.id, l);
                        let lead = m.leads.get_mut(&l).unwrap();
                        lead.3 = true;
                        // A lead with no vendor is attributed to the one it is registered with.
                        lead.1 = lead.1.or(Some(vs[v]));
                        // Registering qualifies the lead (a vendor's new
                        // lead is accepted on the way).
                        if matches!(
                            lead.4,
                            LeadStatus::New | LeadStatus::Accepted | LeadStatus::Working
                        ) {
                            lead.4 = LeadStatus::Qualified;
                        }
                    }
                }
            }
            Op::Decide { v, nth, approve } => {
                let Some(id) = Model::nth(&m.deals, nth) else {
                    continue;
                };
                let (owner, dv, status) = m.deals[&id];
                let decision = if approve {
                    DealDecision::Approved {
                        reason: None,
                        protection_expires_on: chrono::Utc::now().date_naive()
                            + chrono::Days::new(30),
                        extra_discount: Some(Percent::new(Decimal::from(3)).unwrap()),
                    }
                } else {
                    DealDecision::Rejected {
                        reason: LongText::parse("conflict").unwrap(),
                    }
                };
                let r = store.vendor(vs[v]).decide(id, decision).await;
                if dv != vs[v] || !m.active(owner, dv) {
                    assert!(
                        matches!(r, Err(StoreError::NotFound { .. })),
                        "{what}: decided another vendor's deal: {r:?}"
                    );
                } else if let Some(reg) = ok_or_refused(&what, r, status == DealStatus::Submitted) {
                    m.deals.get_mut(&id).unwrap().2 = reg.status;
                }
            }
            Op::SetTier { v, ws, tier } => {
                let r = store.vendor(vs[v]).set_tier(wss[ws], tier).await;
                if ok_or_refused(&what, r, m.active(wss[ws], vs[v])).is_some() {
                    m.links.get_mut(&(wss[ws], vs[v])).unwrap().1 = tier;
                }
            }
            Op::SellRule { ws, v } => {
                let selector = SellRuleSelector {
                    vendor_id: v.map(|v| vs[v]),
                    category: None,
                };
                let rule = store
                    .partner(wss[ws])
                    .put_sell_rule(
                        &selector,
                        SellMethod::DiscountOffList(Percent::new(Decimal::from(2)).unwrap()),
                    )
                    .await
                    .unwrap();
                assert_eq!(rule.workspace_id, wss[ws]);
            }
            Op::Rate { ws } => {
                let mark = Decimal::from(ws as u32 + 1) + Decimal::new(world.workspaces as i64, 2);
                store
                    .partner(wss[ws])
                    .put_exchange_rate(
                        &ExchangeRate::new(Currency::USD, Currency::EUR, mark, day).unwrap(),
                    )
                    .await
                    .unwrap();
                m.rates.insert(wss[ws], mark);
            }
            Op::Notify { ws } => {
                store
                    .partner(wss[ws])
                    .notify(&NewNotification {
                        kind: NotificationKind::NewLead,
                        vendor_id: None,
                        title: name("Hello"),
                        body: None,
                        link: None,
                        args: serde_json::json!({}),
                    })
                    .await
                    .unwrap();
            }
            Op::Connect { ws, v } => {
                let r = store
                    .partner(wss[ws])
                    .create_connection(&vendor_source(vs[v], "Pull"))
                    .await;
                ok_or_refused(&what, r, m.active(wss[ws], vs[v]));
            }
            Op::ReadForeign { ws, nth } => {
                let p = store.partner(wss[ws]);
                if let Some(id) = Model::nth(&m.leads, nth) {
                    let r = p.lead(id).await;
                    assert_eq!(
                        r.is_ok(),
                        m.leads[&id].0 == wss[ws],
                        "{what}: lead read across workspaces: {r:?}"
                    );
                }
                if let Some(id) = Model::nth(&m.deals, nth) {
                    let r = p.deal_registration(id).await;
                    assert_eq!(
                        r.is_ok(),
                        m.deals[&id].0 == wss[ws],
                        "{what}: deal read across workspaces: {r:?}"
                    );
                    for v in &vs {
                        let r = store.vendor(*v).deal_registration(id).await;
                        let (owner, dv, _) = m.deals[&id];
                        assert_eq!(
                            r.is_ok(),
                            dv == *v && m.active(owner, dv),
                            "{what}: vendor read of deal: {r:?}"
                        );
                    }
                }
                if let Some(id) = Model::nth(&m.campaigns, nth) {
                    let r = p.campaign(id).await;
                    // While linked: when meant for it, or once it activated it.
                    let (v, _) = m.campaigns[&id];
                    let activated = m
                        .activations
                        .iter()
                        .any(|(_, w, c)| *w == wss[ws] && *c == id);
                    assert_eq!(
                        r.is_ok(),
                        m.meant_for(wss[ws], id) || (activated && m.active(wss[ws], v)),
                        "{what}: campaign read across workspaces"
                    );
                }
            }
        }
    }
    check_reads(store, &wss, &vs, &m).await;
}

/// Every read through every scope returns exactly that scope's rows.
async fn check_reads(store: &Store, wss: &[WorkspaceId], vs: &[VendorId], m: &Model) {
    for &w in wss {
        let p = store.partner(w);
        let all = Page {
            after: None,
            limit: 500,
        };
        let leads: BTreeSet<LeadId> = p
            .leads(&LeadFilter::default(), all)
            .await
            .unwrap()
            .into_iter()
            .map(|l| {
                assert_eq!(l.workspace_id, w);
                l.id
            })
            .collect();
        let expected: BTreeSet<LeadId> = m
            .leads
            .iter()
            .filter(|(_, l)| l.0 == w)
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(leads, expected, "partner leads");
        let linked: BTreeSet<VendorId> = m
            .links
            .keys()
            .filter(|(lw, _)| *lw == w)
            .map(|(_, v)| *v)
            .collect();
        let seen: BTreeSet<VendorId> = p
            .vendors()
            .await
            .unwrap()
            .into_iter()
            .map(|lv| {
                assert_eq!(lv.link.workspace_id, w);
                lv.vendor.id
            })
            .collect();
        assert_eq!(seen, linked, "partner vendors");
        let mut seen_campaigns = BTreeSet::new();
        for c in p.campaigns().await.unwrap() {
            assert_eq!(c.workspace_id, w);
            assert!(m.active(w, c.vendor_id), "campaign of an inactive link");
            assert_eq!(c.status, CampaignStatus::Published);
            seen_campaigns.insert(c.id);
        }
        // Exactly what is meant for it now: an ended link or a tier change
        // takes effect at once.
        assert_eq!(
            seen_campaigns,
            m.campaigns
                .keys()
                .copied()
                .filter(|id| m.meant_for(w, *id))
                .collect(),
            "partner campaigns"
        );
        for a in p.activations().await.unwrap() {
            assert_eq!(a.workspace_id, w);
        }
        let mut seen_assets = BTreeSet::new();
        for a in p.assets().await.unwrap() {
            assert_eq!(a.workspace_id, w);
            assert!(m.active(w, a.vendor_id));
            seen_assets.insert((a.vendor_id, a.external_id.to_string()));
        }
        assert_eq!(
            seen_assets,
            m.assets
                .iter()
                .filter(|(v, _)| m.active(w, *v))
                .cloned()
                .collect(),
            "partner assets"
        );
        let mut seen_lists = BTreeSet::new();
        for l in p.price_lists().await.unwrap() {
            assert_eq!(l.workspace_id, w);
            seen_lists.insert((l.vendor_id, l.external_id.to_string()));
            for i in p.price_items(l.id).await.unwrap() {
                assert_eq!((i.workspace_id, i.vendor_id), (w, l.vendor_id));
            }
        }
        assert_eq!(
            seen_lists,
            m.price_lists
                .iter()
                .filter(|(v, _)| m.active(w, *v))
                .cloned()
                .collect(),
            "partner price lists"
        );
        // Pricing reads every item of exactly those lists.
        for i in p.pricing().await.unwrap().items {
            assert_eq!(i.workspace_id, w);
            assert!(m.active(w, i.vendor_id), "item of an inactive link");
        }
        let deals: BTreeSet<DealRegistrationId> = p
            .deal_registrations()
            .await
            .unwrap()
            .into_iter()
            .map(|d| {
                assert_eq!(d.workspace_id, w);
                d.id
            })
            .collect();
        assert_eq!(
            deals,
            m.deals
                .iter()
                .filter(|(_, d)| d.0 == w)
                .map(|(id, _)| *id)
                .collect(),
            "partner deals"
        );
        for n in p.notifications(false).await.unwrap() {
            assert_eq!(n.workspace_id, w);
        }
        let log = p
            .audit_events(&onepane_store::AuditFilter {
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap();
        for e in log {
            assert_eq!(e.workspace_id, w);
            // A vendor appears only in the logs of workspaces it was linked to.
            if let Actor::Vendor(v) = e.actor {
                assert!(
                    m.links.contains_key(&(w, v)),
                    "vendor {v} in the log of {w}"
                );
            }
        }
        for r in p.sell_rules().await.unwrap() {
            assert_eq!(r.workspace_id, w);
        }
        for c in p.connections().await.unwrap() {
            assert_eq!(c.workspace_id, w);
        }
        for mb in p.members().await.unwrap() {
            assert_eq!(mb.workspace_id, w);
        }
        let rates = p.exchange_rates().await.unwrap();
        assert_eq!(
            rates.iter().map(|r| r.rate()).collect::<Vec<_>>(),
            m.rates.get(&w).copied().into_iter().collect::<Vec<_>>(),
            "rates"
        );
        assert_eq!(p.workspace().await.unwrap().id, w);
    }
    for &v in vs {
        let s = store.vendor(v);
        let mine = |w: WorkspaceId| m.active(w, v);
        let partners: BTreeSet<WorkspaceId> = s
            .partners()
            .await
            .unwrap()
            .into_iter()
            .map(|p| {
                assert_eq!(p.link.vendor_id, v);
                p.workspace_id
            })
            .collect();
        assert_eq!(
            partners,
            wss.iter().copied().filter(|w| mine(*w)).collect(),
            "vendor partners"
        );
        // Its own content, whoever it reaches, and nobody else's.
        let campaigns: BTreeSet<CampaignId> = s
            .campaigns()
            .await
            .unwrap()
            .into_iter()
            .map(|c| {
                assert_eq!(c.vendor_id, v);
                c.id
            })
            .collect();
        assert_eq!(
            campaigns,
            m.campaigns
                .iter()
                .filter(|(_, c)| c.0 == v)
                .map(|(id, _)| *id)
                .collect(),
            "vendor campaigns"
        );
        let assets: BTreeSet<(VendorId, String)> = s
            .assets()
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.vendor_id, a.external_id.to_string()))
            .collect();
        assert_eq!(
            assets,
            m.assets.iter().filter(|a| a.0 == v).cloned().collect(),
            "vendor assets"
        );
        for i in s.price_items().await.unwrap() {
            assert_eq!(i.vendor_id, v);
        }
        let leads: BTreeSet<LeadId> = s.leads().await.unwrap().into_iter().map(|l| l.id).collect();
        let expected: BTreeSet<LeadId> = m
            .leads
            .iter()
            .filter(|(_, l)| l.1 == Some(v) && mine(l.0) && (l.2 == LeadSource::Vendor || l.3))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(
            leads, expected,
            "vendor sees exactly the leads it sent or was shared"
        );
        let deals: BTreeSet<DealRegistrationId> = s
            .deal_registrations(None)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(
            deals,
            m.deals
                .iter()
                .filter(|(_, d)| d.1 == v && mine(d.0))
                .map(|(id, _)| *id)
                .collect(),
            "vendor deals"
        );
        assert_eq!(s.vendor().await.unwrap().id, v);
    }
}

fn run(db: &TestDb, rt: &tokio::runtime::Runtime, cases: u32) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&world(), |w| {
        rt.block_on(run_world(&db.store, w));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn random_worlds_stay_segregated_on_sqlite() {
    let rt = runtime();
    let db = rt.block_on(TestDb::sqlite());
    run(&db, &rt, 48);
}

#[test]
fn random_worlds_stay_segregated_on_postgres() {
    let rt = runtime();
    let Some(db) = rt.block_on(TestDb::postgres()) else {
        return;
    };
    run(&db, &rt, 48);
}
