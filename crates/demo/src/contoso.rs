//! Contoso Security: a security vendor that integrates the other way
//! round, pushing into its partners' workspaces through Onepane's
//! connector API over HTTP, as any vendor's system would: a token from
//! `/oauth/token`, then its campaigns (in English and Finnish), assets, a
//! price list in US dollars and leads with a deadline. Its own server on
//! loopback hosts the files its assets link to.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use chrono::Utc;
use onepane_domain::Tier;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::{ConnectorApi, DemoError, VendorFile, bind_loopback, day, file_routes, refused, serve};
use onepane_server::report::cause_chain;

/// Its name.
pub const NAME: &str = "Contoso Security";
/// The demo partner's tier with it.
pub(super) const TIER: Tier = Tier::Silver;
/// The second workspace's tier with it: it sees the Platinum campaign.
pub(super) const SECOND_WORKSPACE_TIER: Tier = Tier::Platinum;
/// The extra discount its deal desk grants on approved registrations.
pub(super) const DEAL_DISCOUNT: &str = "5";

/// Starts Contoso's server on loopback: the files its assets link to.
pub(super) async fn start() -> Result<(SocketAddr, JoinHandle<()>), DemoError> {
    let (listener, addr) = bind_loopback(NAME).await?;
    let router = file_routes(
        NAME,
        "Endpoint, email and zero-trust security for small and mid-sized businesses. Partner \
         material below; everything else reaches you in Onepane.",
        FILES,
    );
    Ok((addr, serve(NAME, listener, router)))
}

/// Where its files are.
pub(super) fn files_base(addr: SocketAddr) -> String {
    format!("http://{addr}/files")
}

/// Publishes everything once (retrying until Onepane takes it), says so on
/// `published`, and is done; the deal desk carries on apart.
pub(super) async fn run(api: Arc<ConnectorApi>, files: String, published: watch::Sender<bool>) {
    let mut wait = Duration::from_secs(1);
    loop {
        match publish(&api, &files).await {
            Ok(sent) => {
                info!(
                    vendor = NAME,
                    campaigns = CAMPAIGN_COUNT,
                    assets = ASSETS.len(),
                    price_items = PRICE_ITEMS.len(),
                    leads = sent,
                    "{NAME} published through the connector API"
                );
                let _ = published.send(true);
                return;
            }
            Err(e) => {
                warn!(vendor = NAME, error = %cause_chain(&e), "publishing failed; trying again in {} s", wait.as_secs());
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Publishes assets, campaigns, the price list and leads; returns how many
/// leads went out (a lead the partner already answered stays as it is).
async fn publish(api: &ConnectorApi, files: &str) -> Result<usize, DemoError> {
    for asset in assets(files) {
        let id = asset.0;
        api.ok(
            Method::PUT,
            &format!("/api/v1/vendor/assets/{id}"),
            Some(&asset.1),
        )
        .await?;
    }
    for (id, campaign) in campaigns() {
        api.ok(
            Method::PUT,
            &format!("/api/v1/vendor/campaigns/{id}"),
            Some(&campaign),
        )
        .await?;
    }
    api.ok(
        Method::PUT,
        &format!("/api/v1/vendor/price-lists/{PRICE_LIST}"),
        Some(&price_list_terms()),
    )
    .await?;
    api.ok(
        Method::PUT,
        &format!("/api/v1/vendor/price-lists/{PRICE_LIST}/items"),
        Some(&price_items()),
    )
    .await?;

    let partners = api.ok(Method::GET, "/api/v1/vendor/partners", None).await?;
    let mut sent = 0;
    for partner in partners
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(ws), Some(name)) = (
            partner.get("workspace_id").and_then(Value::as_str),
            partner.get("name").and_then(Value::as_str),
        ) else {
            continue;
        };
        let leads = match name {
            super::WORKSPACE_NAME => leads(LEADS),
            super::SECOND_WORKSPACE_NAME => leads(SECOND_WORKSPACE_LEADS),
            _ => continue,
        };
        for lead in leads {
            let path = format!("/api/v1/vendor/partners/{ws}/leads");
            let (status, answer) = api.send(Method::POST, &path, Some(&lead)).await?;
            match status {
                s if s.is_success() => sent += 1,
                // The partner accepted or declined it in an earlier run.
                StatusCode::CONFLICT => {}
                s => return Err(refused(NAME, format!("POST {path}"), s, &answer)),
            }
        }
    }
    Ok(sent)
}

// ---- Contoso's data ----------------------------------------------------------

const PRICE_LIST: &str = "CS-US-2026";
const CAMPAIGN_COUNT: usize = 4;

fn price_list_terms() -> Value {
    json!({
        "name": "Contoso Security Partner Price List (USD)",
        "currency": "USD",
        "tier_discounts": [
            {"tier": "registered", "discount": "5"},
            {"tier": "silver", "discount": "12"},
            {"tier": "gold", "discount": "20"},
            {"tier": "platinum", "discount": "28"},
        ],
        "promotions": [{
            "name": "Endpoint winter push",
            "window": {"starts_on": day(-14), "ends_on": day(45)},
            "discount": "5",
            "category": "endpoint",
        }],
    })
}

/// SKU, name, category, list price (USD), volume breaks (quantity, percent).
type PriceRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(u32, &'static str)],
);

const PRICE_ITEMS: &[PriceRow] = &[
    (
        "CS-EDR-ESS-1Y",
        "Contoso Endpoint Essentials, 1 device, 1 year",
        "endpoint",
        "39.00",
        &[(100, "5"), (500, "10")],
    ),
    (
        "CS-EDR-ADV-1Y",
        "Contoso Endpoint Advanced with EDR, 1 device, 1 year",
        "endpoint",
        "69.00",
        &[(100, "5"), (500, "10")],
    ),
    (
        "CS-MDR-1Y",
        "Contoso Managed Detection and Response, 1 device, 1 year",
        "endpoint",
        "129.00",
        &[(250, "8")],
    ),
    (
        "CS-MAIL-SHIELD-1Y",
        "Contoso Mail Shield, 1 mailbox, 1 year",
        "email",
        "24.00",
        &[(100, "6")],
    ),
    (
        "CS-MAIL-ARCHIVE-1Y",
        "Contoso Mail Archive, 1 mailbox, 1 year",
        "email",
        "18.00",
        &[],
    ),
    (
        "CS-ZT-ACCESS-1Y",
        "Contoso Zero Trust Access, 1 user, 1 year",
        "zero-trust",
        "96.00",
        &[(50, "5")],
    ),
    (
        "CS-ZT-GW-500",
        "Contoso ZT Gateway 500 appliance",
        "zero-trust",
        "6400.00",
        &[],
    ),
    (
        "CS-SIEM-LITE-1Y",
        "Contoso SIEM Lite, 50 GB/day, 1 year",
        "analytics",
        "9800.00",
        &[],
    ),
    (
        "CS-VULN-250-1Y",
        "Contoso Vulnerability Scanning, 250 assets, 1 year",
        "analytics",
        "4200.00",
        &[],
    ),
    (
        "CS-AWARE-1Y",
        "Contoso Security Awareness Training, 1 user, 1 year",
        "training",
        "12.00",
        &[(100, "10")],
    ),
    (
        "CS-IR-RETAINER",
        "Incident response retainer, 40 hours",
        "services",
        "15000.00",
        &[],
    ),
    (
        "CS-PENTEST-EXT",
        "External penetration test, up to 64 addresses",
        "services",
        "8500.00",
        &[],
    ),
];

fn price_items() -> Value {
    PRICE_ITEMS
        .iter()
        .map(|(sku, name, category, price, breaks)| {
            json!({
                "sku": sku,
                "name": name,
                "category": category,
                "list_price": price,
                "volume_breaks": breaks
                    .iter()
                    .map(|(q, d)| json!({"min_quantity": q, "discount": d}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// A campaign's text in one language: locale, name, description, headline,
/// body, call to action.
type Variant = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

fn campaign(window: (i64, i64), tiers: &[&str], variants: &[Variant], assets: &[&str]) -> Value {
    json!({
        "window": {"starts_on": day(window.0), "ends_on": day(window.1)},
        "audience": {"tiers": tiers},
        "variants": variants
            .iter()
            .map(|(locale, name, description, headline, body, cta)| json!({
                "locale": locale,
                "name": name,
                "description": description,
                "landing": {"headline": headline, "body": body, "call_to_action": cta},
            }))
            .collect::<Vec<_>>(),
        "asset_external_ids": assets,
    })
}

fn campaigns() -> [(&'static str, Value); CAMPAIGN_COUNT] {
    [
        (
            "cs-ransomware-readiness",
            campaign(
                (-15, 75),
                &["silver", "gold", "platinum"],
                &[
                    (
                        "en",
                        "Ransomware Readiness Assessment",
                        "A free two-hour assessment that ends in a prioritised plan; converts to \
                         Endpoint Advanced and Managed Detection.",
                        "Would your business survive a ransomware attack?",
                        "Find out in two hours. Our experts check your backups, endpoints and \
                         email against the ten most common ways ransomware gets in, and give you \
                         a plan you can act on.",
                        "Book my assessment",
                    ),
                    (
                        "fi",
                        "Kiristyshaittaohjelmavalmiuden arviointi",
                        "Maksuton kahden tunnin arviointi, jonka tuloksena on priorisoitu \
                         suunnitelma; johtaa Endpoint Advanced- ja MDR-kauppoihin.",
                        "Selviäisikö yrityksesi kiristyshaittaohjelmasta?",
                        "Selvitä se kahdessa tunnissa. Asiantuntijamme käyvät läpi \
                         varmuuskopiot, päätelaitteet ja sähköpostin ja antavat \
                         toimintasuunnitelman.",
                        "Varaa arviointi",
                    ),
                ],
                &["cs-ransomware-checklist"],
            ),
        ),
        (
            "cs-mail-shield",
            campaign(
                (-40, 50),
                &["silver", "gold", "platinum"],
                &[
                    (
                        "en",
                        "Stop Phishing with Mail Shield",
                        "Mail Shield plus awareness training for Microsoft 365 and Google \
                         Workspace customers; 30-day free trial.",
                        "Phishing stops here",
                        "Mail Shield catches phishing, impersonation and malicious links before \
                         they reach an inbox. Try it free for 30 days.",
                        "Start my free trial",
                    ),
                    (
                        "fi",
                        "Pysäytä tietojenkalastelu Mail Shieldillä",
                        "Mail Shield ja tietoturvakoulutus Microsoft 365- ja Google Workspace \
                         -asiakkaille; 30 päivän maksuton kokeilu.",
                        "Tietojenkalastelu pysähtyy tähän",
                        "Mail Shield pysäyttää kalasteluviestit ja haitalliset linkit ennen \
                         kuin ne päätyvät postilaatikkoon. Kokeile 30 päivää maksutta.",
                        "Aloita kokeilu",
                    ),
                ],
                &["cs-mail-shield-datasheet", "cs-phishing-post"],
            ),
        ),
        (
            "cs-zero-trust-sme",
            campaign(
                (-7, 90),
                &[],
                &[
                    (
                        "en",
                        "Zero Trust for Small Businesses",
                        "Replace the VPN with Zero Trust Access; an on-demand webinar does the \
                         explaining.",
                        "Retire your VPN",
                        "Zero Trust Access lets your people reach exactly the apps they need, \
                         from anywhere, without a VPN. Watch the 20-minute webinar.",
                        "Talk to an expert",
                    ),
                    (
                        "fi",
                        "Nollaluottamus pienyrityksille",
                        "Korvaa VPN Zero Trust Access -ratkaisulla; tallennettu webinaari \
                         kertoo miten.",
                        "Luovu VPN:stä",
                        "Zero Trust Access antaa työntekijöille pääsyn juuri niihin \
                         sovelluksiin, joita he tarvitsevat, mistä tahansa ilman VPN:ää.",
                        "Keskustele asiantuntijan kanssa",
                    ),
                ],
                &["cs-zero-trust-webinar"],
            ),
        ),
        (
            "cs-mdr-platinum-launch",
            campaign(
                (-3, 60),
                &["platinum"],
                &[
                    (
                        "en",
                        "Managed Detection and Response Launch",
                        "For Platinum partners: resell Contoso MDR with a 24/7 security \
                         operations center behind you.",
                        "A security team that never sleeps",
                        "Contoso's analysts watch your endpoints around the clock and stop \
                         attacks before they spread.",
                        "Get a quote",
                    ),
                    (
                        "fi",
                        "Managed Detection and Response -lanseeraus",
                        "Platinum-kumppaneille: myy Contoso MDR -palvelua, jonka takana on \
                         ympärivuorokautinen valvomo.",
                        "Tietoturvatiimi, joka ei nuku",
                        "Contoson analyytikot valvovat päätelaitteitasi vuorokauden ympäri ja \
                         pysäyttävät hyökkäykset ennen kuin ne leviävät.",
                        "Pyydä tarjous",
                    ),
                ],
                &[],
            ),
        ),
    ]
}

/// Id, kind, tags, and per language: locale, title, file slug or inline text.
type AssetRow = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str, AssetBody)],
);

#[derive(Debug, Clone, Copy)]
enum AssetBody {
    File(&'static str),
    Text(&'static str),
}

const ASSETS: &[AssetRow] = &[
    (
        "cs-ransomware-checklist",
        "document",
        &["ransomware", "checklist"],
        &[
            (
                "en",
                "Ransomware readiness checklist",
                AssetBody::File("ransomware-checklist"),
            ),
            (
                "fi",
                "Kiristyshaittaohjelmavalmiuden tarkistuslista",
                AssetBody::File("ransomware-checklist-fi"),
            ),
        ],
    ),
    (
        "cs-mail-shield-datasheet",
        "document",
        &["email", "datasheet"],
        &[
            (
                "en",
                "Mail Shield datasheet",
                AssetBody::File("mail-shield-datasheet"),
            ),
            (
                "fi",
                "Mail Shield -tuotekortti",
                AssetBody::File("mail-shield-datasheet-fi"),
            ),
        ],
    ),
    (
        "cs-zero-trust-webinar",
        "video",
        &["zero trust", "webinar"],
        &[(
            "en",
            "Zero Trust in 20 minutes (webinar recording)",
            AssetBody::File("zero-trust-webinar"),
        )],
    ),
    (
        "cs-phishing-post",
        "social-post",
        &["email", "social"],
        &[
            (
                "en",
                "Phishing awareness post",
                AssetBody::Text(
                    "9 out of 10 breaches start with an email. We help businesses stop phishing \
                     before it reaches the inbox. Ask us about a free Mail Shield trial. \
                     #cybersecurity #phishing",
                ),
            ),
            (
                "fi",
                "Tietojenkalastelusta kertova päivitys",
                AssetBody::Text(
                    "Yhdeksän kymmenestä tietomurrosta alkaa sähköpostista. Autamme yrityksiä \
                     pysäyttämään kalastelun ennen postilaatikkoa. Kysy Mail Shieldin \
                     maksutonta kokeilua. #tietoturva",
                ),
            ),
        ],
    ),
];

const FILES: &[VendorFile] = &[
    VendorFile {
        slug: "ransomware-checklist",
        title: "Ransomware readiness checklist",
        text: "1. Offline backups tested this quarter. 2. Multi-factor sign-in for every admin. \
               3. Endpoints patched within 14 days. 4. Email links rewritten and scanned. \
               5. An incident response contact on call.",
    },
    VendorFile {
        slug: "ransomware-checklist-fi",
        title: "Kiristyshaittaohjelmavalmiuden tarkistuslista",
        text: "1. Offline-varmuuskopiot testattu tällä neljänneksellä. 2. Monivaiheinen \
               tunnistautuminen kaikille ylläpitäjille. 3. Päätelaitteet päivitetty 14 päivässä.",
    },
    VendorFile {
        slug: "mail-shield-datasheet",
        title: "Mail Shield datasheet",
        text: "Inbound and outbound filtering for Microsoft 365 and Google Workspace; \
               impersonation detection, link rewriting and time-of-click scanning, attachment \
               sandboxing, 99.99 % uptime.",
    },
    VendorFile {
        slug: "mail-shield-datasheet-fi",
        title: "Mail Shield -tuotekortti",
        text: "Saapuvan ja lähtevän postin suodatus Microsoft 365- ja Google Workspace \
               -ympäristöihin; huijausviestien tunnistus, linkkien tarkistus ja liitteiden \
               hiekkalaatikko.",
    },
    VendorFile {
        slug: "zero-trust-webinar",
        title: "Zero Trust in 20 minutes (webinar recording)",
        text: "Why VPNs fail small businesses, how Zero Trust Access works, and a live demo of \
               moving 50 users off the VPN in an afternoon.",
    },
];

fn assets(files: &str) -> Vec<(&'static str, Value)> {
    ASSETS
        .iter()
        .map(|(id, kind, tags, variants)| {
            let variants: Vec<Value> = variants
                .iter()
                .map(|(locale, title, body)| {
                    let body = match body {
                        AssetBody::File(slug) => json!({"url": format!("{files}/{slug}")}),
                        AssetBody::Text(text) => json!({"text": text}),
                    };
                    json!({"locale": locale, "title": title, "body": body})
                })
                .collect();
            (
                *id,
                json!({"kind": kind, "variants": variants, "tags": tags}),
            )
        })
        .collect()
}

/// Id, contact name, title, email, phone, company, domain, country,
/// message, days to respond.
type LeadRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
);

const LEADS: &[LeadRow] = &[
    (
        "CS-L-7001",
        "Anna Nieminen",
        "CFO",
        "anna.nieminen@lahden-kuljetus.example",
        "+358 40 118 2290",
        "Lahden Kuljetus Oy",
        "lahden-kuljetus.example",
        "FI",
        "Hit by an invoice fraud attempt last month; wants Mail Shield for 85 mailboxes.",
        3,
    ),
    (
        "CS-L-7002",
        "Erik Johansson",
        "IT Manager",
        "erik.johansson@gotlandsbanken.example",
        "+46 70 201 3344",
        "Gotlandsbanken AB",
        "gotlandsbanken.example",
        "SE",
        "Regulator asks for 24/7 monitoring; evaluating MDR for 400 endpoints.",
        5,
    ),
    (
        "CS-L-7003",
        "Liisa Saarinen",
        "Office Manager",
        "liisa.saarinen@saarinen-law.example",
        "+358 50 772 1010",
        "Asianajotoimisto Saarinen Oy",
        "saarinen-law.example",
        "FI",
        "20-person law firm, no IT staff; asked for the ransomware assessment.",
        2,
    ),
    (
        "CS-L-7004",
        "Mikk Tamm",
        "Head of IT",
        "mikk.tamm@tallinnsoft.example",
        "+372 5200 8811",
        "Tallinn Soft OU",
        "tallinnsoft.example",
        "EE",
        "Replacing the VPN for 120 remote developers with Zero Trust Access.",
        6,
    ),
    (
        "CS-L-7005",
        "Pekka Rantanen",
        "CEO",
        "pekka.rantanen@rantasen-rakennus.example",
        "+358 44 909 3030",
        "Rantasen Rakennus Oy",
        "rantasen-rakennus.example",
        "FI",
        "Wants endpoint protection for 60 laptops on construction sites.",
        4,
    ),
    (
        "CS-L-7006",
        "Ingrid Haugen",
        "Security Officer",
        "ingrid.haugen@nordlys-energi.example",
        "+47 934 55 120",
        "Nordlys Energi AS",
        "nordlys-energi.example",
        "NO",
        "Needs a penetration test before an audit in six weeks.",
        7,
    ),
    (
        "CS-L-7007",
        "Ville Koskinen",
        "IT Coordinator",
        "ville.koskinen@pirkanmaan-koulut.example",
        "+358 45 660 4455",
        "Pirkanmaan Koulutuskuntayhtymä",
        "pirkanmaan-koulut.example",
        "FI",
        "Awareness training for 900 staff, budget approved for next year.",
        3,
    ),
];

const SECOND_WORKSPACE_LEADS: &[LeadRow] = &[
    (
        "CS-L-7101",
        "Karin Lund",
        "CIO",
        "karin.lund@vasterhav.example",
        "+46 31 700 1200",
        "Västerhav Shipping AB",
        "vasterhav.example",
        "SE",
        "Fleet of 30 vessels needs MDR with satellite-link friendly agents.",
        5,
    ),
    (
        "CS-L-7102",
        "Jonas Ek",
        "IT Manager",
        "jonas.ek@ekbergs-bygg.example",
        "+46 8 411 2200",
        "Ekbergs Bygg AB",
        "ekbergs-bygg.example",
        "SE",
        "Asked for the ransomware assessment after a competitor was hit.",
        4,
    ),
];

fn leads(rows: &[LeadRow]) -> Vec<Value> {
    let now = Utc::now();
    rows.iter()
        .map(
            |(id, name, title, email, phone, company, domain, country, message, days)| {
                let respond_by = (now.date_naive() + chrono::Duration::days(*days))
                    .and_hms_opt(16, 0, 0)
                    .map(|t| {
                        t.and_utc()
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    });
                json!({
                    "external_id": id,
                    "contact": {"name": name, "title": title, "email": email, "phone": phone},
                    "company": {"name": company, "domain": domain, "country": country},
                    "message": message,
                    "respond_by": respond_by,
                })
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use onepane_domain::campaign::{AssetContent, CampaignContent};
    use onepane_domain::lead::NewVendorLead;
    use onepane_domain::price::{PriceItemInput, PriceListTerms};

    use super::*;

    #[test]
    fn everything_contoso_sends_parses_as_the_api_reads_it() {
        for (id, c) in campaigns() {
            let parsed: Result<CampaignContent, _> = serde_json::from_value(c);
            assert!(parsed.is_ok(), "{id}: {parsed:?}");
        }
        for (id, a) in assets("http://127.0.0.1:9/files") {
            let parsed: Result<AssetContent, _> = serde_json::from_value(a);
            assert!(parsed.is_ok(), "{id}: {parsed:?}");
        }
        let terms: Result<PriceListTerms, _> = serde_json::from_value(price_list_terms());
        assert!(terms.is_ok(), "{terms:?}");
        let items: Result<Vec<PriceItemInput>, _> = serde_json::from_value(price_items());
        assert_eq!(items.map(|i| i.len()).ok(), Some(PRICE_ITEMS.len()));
        for lead in leads(LEADS)
            .into_iter()
            .chain(leads(SECOND_WORKSPACE_LEADS))
        {
            let parsed: Result<NewVendorLead, _> = serde_json::from_value(lead.clone());
            assert!(parsed.is_ok(), "{lead}: {parsed:?}");
        }
    }
}
