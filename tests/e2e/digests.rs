//! The clock told by mail, across three replicas on one PostgreSQL
//! database: each member who chose the daily digest gets exactly one a
//! day, in its language, with times in its time zone; each member who
//! chose urgent-lead mail gets one mail per urgent lead and none for a
//! lead with days to answer; every mail can be stopped with one click, and
//! a forged link stops nothing.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{Datelike as _, Utc};
use onepane_domain::mail::{MailKind, MailPreferences, TimeZone};
use onepane_domain::program::Role;
use onepane_domain::text::{Email, Locale};
use onepane_domain::{UserId, WorkspaceId};
use onepane_server::services::clock_mail::UnsubscribeLinks;
use onepane_server::{Application, Config};
use onepane_store::MailSettings;
use onepane_store::testing::TEST_SERVER_ROLE;
use reqwest::Method;
use serde_json::json;
use tokio::sync::oneshot;

use crate::harness::Backend;
use crate::portal::{GOLD_OWNER, PASSWORD, Visitor, quoted_printable, set_password, smtp_sink};
use crate::world::World;

/// The seller in Gold Oy who wants urgent leads but no digest.
const SELLER: &str = "seller@gold-oy.example";

/// The settings every replica runs with: mail to the sink, digests from
/// midnight (so the test's "morning" is now, in any zone), a round every
/// 200 ms, and one secret key, as replicas share it.
fn replica_config(c: Config, smtp: u16, key: &onepane_server::secret_key::SecretKey) -> Config {
    Config {
        smtp_url: Some(format!("smtp://127.0.0.1:{smtp}")),
        mail_from: Some("Onepane <no-reply@onepane.example>".to_owned()),
        digest_hour: 0,
        mail_interval: Duration::from_millis(200),
        secret_key: Some(key.clone()),
        ..c
    }
}

/// Another replica on the world's database; it runs until the sender is
/// dropped.
async fn replica(
    w: &World,
    config: Config,
) -> (SocketAddr, oneshot::Sender<()>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = w.app.db.as_ref().expect("the world is on PostgreSQL");
    let config = Config {
        data_dir: dir.path().join("data"),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: Some(onepane_store::DatabaseUrl::Postgres(
            db.postgres_url_as(TEST_SERVER_ROLE).unwrap(),
        )),
        ..config
    };
    let app = Application::build(&config).await.unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    (addr, stop, dir)
}

/// One mail the sink kept: its headers unfolded, its body decoded.
#[derive(Debug, Clone)]
struct Mail {
    to: String,
    unsubscribe: Option<String>,
    one_click: bool,
    body: String,
}

fn parse_mail(raw: &str) -> Mail {
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    // Folded header lines continue with whitespace (RFC 5322).
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    let header = |name: &str| {
        unfolded
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .map(str::to_owned)
    };
    Mail {
        to: header("To").unwrap_or_default(),
        unsubscribe: header("List-Unsubscribe")
            .map(|v| v.trim_start_matches('<').trim_end_matches('>').to_owned()),
        one_click: header("List-Unsubscribe-Post").as_deref() == Some("List-Unsubscribe=One-Click"),
        body: quoted_printable(body),
    }
}

fn mails(sink: &Arc<Mutex<Vec<String>>>) -> Vec<Mail> {
    sink.lock().unwrap().iter().map(|m| parse_mail(m)).collect()
}

/// The mails to `to` whose unsubscribe link stops `kind`.
fn of_kind<'a>(
    all: &'a [Mail],
    links: &UnsubscribeLinks,
    ws: WorkspaceId,
    user: UserId,
    kind: MailKind,
) -> Vec<&'a Mail> {
    let token = links.token(ws, user, kind);
    all.iter()
        .filter(|m| {
            m.unsubscribe
                .as_deref()
                .is_some_and(|u| u.ends_with(&format!("/unsubscribe/{token}")))
        })
        .collect()
}

/// A lead vendor one sends Gold Oy, to answer by `respond_by`; its id.
async fn lead(
    w: &World,
    external_id: &str,
    name: &str,
    respond_by: chrono::DateTime<Utc>,
) -> String {
    let (status, lead) = w
        .call(
            Method::POST,
            &format!("/api/v1/vendor/partners/{}/leads", w.gold.id),
            &w.v1.token,
            Some(
                json!({"external_id": external_id, "contact": {"name": name},
                        "respond_by": respond_by.to_rfc3339()}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{lead}");
    lead["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_mail_each_digest_once_in_the_members_language_and_time_zone() {
    let (smtp, sink) = smtp_sink().await;
    let key = onepane_server::secret_key::SecretKey::generate().unwrap();
    let Some(w) = World::with_config(Backend::Postgres, |c| replica_config(c, smtp, &key)).await
    else {
        return;
    };
    let mut others = Vec::new();
    for _ in 0..2 {
        others.push(replica(&w, replica_config(Config::default(), smtp, &key)).await);
    }
    let links = UnsubscribeLinks::new(&key);
    let ws = w.gold.id;
    let store = &w.app.store;
    let owner = crate::portal::user_id(&w.app, GOLD_OWNER).await;
    let seller = store
        .operator()
        .add_member(ws, &Email::parse(SELLER).unwrap(), Role::SalesRep)
        .await
        .unwrap()
        .id;

    // A lead to answer in three days, at 10:30 UTC: in the digest, at
    // Helsinki's time. It arrived before anyone chose urgent-lead mail.
    let due = (Utc::now() + chrono::Duration::days(3))
        .date_naive()
        .and_hms_opt(10, 30, 0)
        .unwrap()
        .and_utc();
    lead(&w, "in-three-days", "Aino Virtanen", due).await;
    // An urgent one, also before: urgent-lead mail is for leads that
    // arrive after the choice.
    let early = lead(
        &w,
        "early",
        "Varhainen Asiakas",
        Utc::now() + chrono::Duration::hours(30),
    )
    .await;

    // The owner reads Finnish and chooses in Settings: a zone that is not
    // one is refused beside the field; then the digest, urgent leads and
    // Helsinki.
    store
        .partner(ws)
        .set_user_locale(owner, Some(&Locale::parse("fi").unwrap()))
        .await
        .unwrap();
    set_password(&w.app, GOLD_OWNER, PASSWORD).await;
    let mut v = Visitor::new(&w.app);
    assert_eq!(v.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let settings = v.get("/settings/account").await;
    assert!(
        settings.body.contains("data-browser-time-zone"),
        "no zone yet: the browser's is offered"
    );
    let refused = v
        .submit(
            "/settings/account",
            "/settings/mail",
            &[("daily_digest", "on"), ("time_zone", "Europe/Espoo")],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("”Europe/Espoo” ei ole tuntemamme aikavyöhyke"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains(r#"id="time-zone-error""#));
    assert_eq!(
        store.partner(ws).mail_settings(owner).await.unwrap(),
        MailSettings::default(),
        "nothing saved"
    );
    let saved = v
        .submit(
            "/settings/account",
            "/settings/mail",
            &[
                ("daily_digest", "on"),
                ("urgent_leads", "on"),
                ("time_zone", "Europe/Helsinki"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.body.contains("Sähköpostivalintasi on tallennettu"));
    let helsinki = TimeZone::parse("Europe/Helsinki").unwrap();
    assert_eq!(
        store.partner(ws).mail_settings(owner).await.unwrap(),
        MailSettings {
            preferences: MailPreferences {
                daily_digest: true,
                urgent_leads: true
            },
            time_zone: Some(helsinki),
        }
    );
    // The seller wants urgent leads only.
    store
        .partner(ws)
        .set_mail_settings(
            seller,
            &MailSettings {
                preferences: MailPreferences {
                    daily_digest: false,
                    urgent_leads: true,
                },
                time_zone: None,
            },
        )
        .await
        .unwrap();
    // Then a lead to answer within a day, and one with five days.
    let urgent = lead(
        &w,
        "urgent",
        "Kiireinen Asiakas",
        Utc::now() + chrono::Duration::hours(20),
    )
    .await;
    let relaxed = lead(
        &w,
        "relaxed",
        "Rauhallinen Asiakas",
        Utc::now() + chrono::Duration::days(5),
    )
    .await;

    // Wait for what is due, then give the three replicas many more rounds
    // to send anything twice.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let all = mails(&sink);
        let digests = of_kind(&all, &links, ws, owner, MailKind::Digest).len();
        let urgents = [owner, seller]
            .iter()
            .filter(|m| !of_kind(&all, &links, ws, **m, MailKind::UrgentLead).is_empty())
            .count();
        if digests >= 1 && urgents == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "the mail never came: {all:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let all = mails(&sink);

    // One digest for the owner, none for the seller, who did not choose it.
    let digests = of_kind(&all, &links, ws, owner, MailKind::Digest);
    assert_eq!(digests.len(), 1, "{all:#?}");
    assert!(
        of_kind(&all, &links, ws, seller, MailKind::Digest).is_empty(),
        "{all:#?}"
    );
    let digest = digests[0];
    assert_eq!(digest.to, GOLD_OWNER);
    assert!(digest.one_click, "{digest:#?}");
    let unsubscribe = digest.unsubscribe.clone().unwrap();
    assert!(
        digest.body.contains(&unsubscribe),
        "the link is in the body too"
    );
    // In Finnish, at Helsinki's time, the zone named.
    let local = helsinki.local(due);
    let when = format!(
        "{}.{}.{} {}",
        local.day(),
        local.month(),
        local.year(),
        local.format("%H:%M")
    );
    assert!(digest.body.contains(&when), "{when} not in {}", digest.body);
    assert!(
        digest.body.contains("Vastaa liidiin: Aino Virtanen"),
        "{}",
        digest.body
    );
    assert!(
        digest.body.contains("Erääntyy seuraavan 7 päivän aikana"),
        "{}",
        digest.body
    );
    assert!(
        digest
            .body
            .contains("Ajat ovat aikavyöhykkeellä Europe/Helsinki"),
        "{}",
        digest.body
    );

    // One mail per member for the urgent lead, none for the relaxed one,
    // nor for the lead that came before anyone chose urgent-lead mail.
    for (member, email) in [(owner, GOLD_OWNER), (seller, SELLER)] {
        let told = of_kind(&all, &links, ws, member, MailKind::UrgentLead);
        assert_eq!(told.len(), 1, "{email}: {all:#?}");
        assert_eq!(told[0].to, email);
        assert!(told[0].one_click);
        assert!(told[0].body.contains(&format!("/leads/{urgent}")));
    }
    for member in [owner, seller] {
        let told = of_kind(&all, &links, ws, member, MailKind::UrgentLead);
        assert!(
            told.iter()
                .all(|m| !m.body.contains(&format!("/leads/{relaxed}"))),
            "a lead with five days to answer got urgent-lead mail: {all:#?}"
        );
        assert!(
            told.iter()
                .all(|m| !m.body.contains(&format!("/leads/{early}"))),
            "the lead that came before the choice got urgent-lead mail: {all:#?}"
        );
    }
    // The seller's mail is in English, at UTC.
    let seller_mail = &of_kind(&all, &links, ws, seller, MailKind::UrgentLead)[0];
    assert!(
        seller_mail.body.contains("UTC time"),
        "{}",
        seller_mail.body
    );

    // Opening the link only asks, in the member's language.
    let client = reqwest::Client::new();
    let path = &unsubscribe[unsubscribe.find("/unsubscribe/").unwrap()..];
    let asked = client.get(w.app.url(path)).send().await.unwrap();
    assert_eq!(asked.status(), 200);
    let asked = asked.text().await.unwrap();
    assert!(
        asked.contains("Lopetetaanko määräaikojen päivittäinen kooste"),
        "{asked}"
    );
    assert!(
        store
            .partner(ws)
            .mail_settings(owner)
            .await
            .unwrap()
            .preferences
            .daily_digest,
        "a GET changes nothing"
    );
    // A forged token (another key's) and a malformed one stop nothing.
    let forger = UnsubscribeLinks::new(&onepane_server::secret_key::SecretKey::generate().unwrap());
    for (token, status) in [
        (forger.token(ws, seller, MailKind::UrgentLead), 404),
        ("not-a-token".to_owned(), 400),
    ] {
        let answer = client
            .post(w.app.url(&format!("/unsubscribe/{token}")))
            .form(&[("List-Unsubscribe", "One-Click")])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "{token}");
        let page = answer.text().await.unwrap();
        assert!(page.contains(r#"id="unsubscribe-refused""#), "{page}");
    }
    assert!(
        store
            .partner(ws)
            .mail_settings(seller)
            .await
            .unwrap()
            .preferences
            .urgent_leads,
        "a forged link turned mail off"
    );
    // The one-click POST (RFC 8058), to another replica than the first:
    // the token is checked with the shared key, nothing stored.
    let other = others[0].0;
    let stopped = client
        .post(format!("http://{other}{path}"))
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), 200);
    assert!(
        stopped
            .text()
            .await
            .unwrap()
            .contains("Päivittäinen kooste on lopetettu")
    );
    assert_eq!(
        store
            .partner(ws)
            .mail_settings(owner)
            .await
            .unwrap()
            .preferences,
        MailPreferences {
            daily_digest: false,
            urgent_leads: true
        },
        "only the digest is off"
    );
    drop(others);
}
