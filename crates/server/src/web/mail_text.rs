//! The clock's mail in the portal's words: the digest and the urgent-lead
//! mail written from the Fluent messages (`mail.ftl`, and the clock's kinds
//! from `clock.ftl`) in the member's language, with times in its zone and
//! the zone named. Handed to the sender at startup (see
//! [`crate::services::clock_mail::MailWriter`]).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use onepane_domain::clock::Deadline;
use onepane_domain::mail::TimeZone;
use onepane_store::MailMember;

use crate::services::clock_mail::{Composed, DigestInput, MailWriter, UrgentInput};
use crate::web::i18n::{Lang, Tr};

/// Writes the clock's mail from the portal's messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct FluentMail;

/// The member's language.
fn tr_of(member: &MailMember) -> Tr {
    Tr::new(Lang::from_tag(member.locale.as_str()).unwrap_or(Lang::En))
}

/// A moment as the member reads it: its date and time in its zone.
fn local_time(t: &Tr, zone: TimeZone, at: DateTime<Utc>) -> String {
    let local = zone.local(at);
    format!("{} {}", t.date(&local.date_naive()), local.format("%H:%M"))
}

impl MailWriter for FluentMail {
    fn digest(&self, input: &DigestInput<'_>) -> Composed {
        let DigestInput {
            member,
            missed,
            coming,
            older,
            vendors,
            now,
            public_base,
            unsubscribe,
        } = *input;
        let t = tr_of(member);
        let zone = member.time_zone;
        let today = t.date(&zone.local(now).date_naive());
        let line = |body: &mut String, d: &Deadline| {
            let kind = t.t(&format!("clock-kind-{}", d.kind.as_str()));
            let _ = write!(body, "- {}  {kind}", local_time(&t, zone, d.due));
            if !d.title.is_empty() {
                let _ = write!(body, ": {}", d.title);
            }
            if let Some(vendor) = d.vendor_id.and_then(|v| vendors.get(&v)) {
                let _ = write!(body, " ({vendor})");
            }
            let _ = writeln!(body, "\n  {public_base}{}", d.link);
        };
        let mut body = String::new();
        let _ = writeln!(
            body,
            "{}\n",
            t.targs(
                "mail-digest-intro",
                &[
                    ("workspace", member.workspace_name.to_string()),
                    ("date", today.clone()),
                ],
            )
        );
        for (heading, list) in [
            ("mail-digest-missed", missed),
            ("mail-digest-coming", coming),
        ] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(body, "{}", t.t(heading));
            for d in list {
                line(&mut body, d);
            }
            let _ = writeln!(body);
        }
        if older > 0 {
            let _ = writeln!(
                body,
                "{}\n",
                t.tjson(
                    "mail-digest-older",
                    &serde_json::json!({ "count": older, "link": format!("{public_base}/clock") }),
                )
            );
        }
        let _ = writeln!(body, "{}\n", t.ts("mail-times-in", "zone", zone.as_str()));
        let _ = writeln!(body, "{}", t.ts("mail-digest-why", "link", unsubscribe));
        let _ = writeln!(
            body,
            "{}",
            t.ts(
                "mail-settings-link",
                "link",
                &format!(
                    "{public_base}{}",
                    crate::web::pages::settings::Section::Account.path()
                )
            )
        );
        Composed {
            subject: t.ts("mail-digest-subject", "date", &today),
            body,
        }
    }

    fn urgent_lead(&self, input: &UrgentInput<'_>) -> Composed {
        let UrgentInput {
            member,
            lead,
            respond_by,
            vendor,
            public_base,
            unsubscribe,
        } = *input;
        let t = tr_of(member);
        let zone = member.time_zone;
        let when = local_time(&t, zone, respond_by);
        let mut contact = lead.contact.name.to_string();
        if let Some(company) = &lead.company {
            contact.push_str(&format!(", {}", company.name));
        }
        let mut body = String::new();
        let _ = writeln!(
            body,
            "{}\n",
            t.targs(
                "mail-urgent-intro",
                &[
                    ("vendor", vendor.to_owned()),
                    ("workspace", member.workspace_name.to_string()),
                    ("when", when.clone()),
                    ("zone", zone.as_str().to_owned()),
                ],
            )
        );
        let _ = writeln!(body, "{contact}");
        if let Some(message) = &lead.message {
            let _ = writeln!(body, "\n{message}");
        }
        let _ = writeln!(body, "\n{public_base}/leads/{}\n", lead.id);
        let _ = writeln!(body, "{}", t.ts("mail-urgent-why", "link", unsubscribe));
        let _ = writeln!(
            body,
            "{}",
            t.ts(
                "mail-settings-link",
                "link",
                &format!(
                    "{public_base}{}",
                    crate::web::pages::settings::Section::Account.path()
                )
            )
        );
        Composed {
            subject: t.targs(
                "mail-urgent-subject",
                &[("when", when), ("zone", zone.as_str().to_owned())],
            ),
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::TimeZone as _;
    use onepane_domain::clock::DeadlineKind;
    use onepane_domain::mail::MailPreferences;
    use onepane_domain::{UserId, VendorId, WorkspaceId};

    use super::*;

    fn member(lang: &str, zone: &str) -> MailMember {
        MailMember {
            workspace_id: WorkspaceId::new(),
            workspace_name: "Gold Oy".parse().unwrap(),
            user_id: UserId::new(),
            email: "member@gold.example".parse().unwrap(),
            locale: lang.parse().unwrap(),
            time_zone: TimeZone::parse(zone).unwrap(),
            preferences: MailPreferences {
                daily_digest: true,
                urgent_leads: true,
            },
            since: Utc::now(),
            last_digest_key: None,
            last_digest_sent: None,
        }
    }

    #[test]
    fn a_digest_is_written_in_the_members_language_at_its_time_with_the_zone_named() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 6, 0, 0).unwrap();
        let vendor = VendorId::new();
        let vendors = HashMap::from([(vendor, "Canon".to_owned())]);
        let missed = Deadline {
            kind: DeadlineKind::DecisionAwaited,
            due: now - chrono::Duration::hours(2),
            vendor_id: Some(vendor),
            person: None,
            title: "Printers for Acme".to_owned(),
            link: "/deals/d".to_owned(),
        };
        let coming = Deadline {
            kind: DeadlineKind::LeadAnswer,
            due: Utc.with_ymd_and_hms(2026, 12, 9, 10, 0, 0).unwrap(),
            vendor_id: None,
            person: None,
            title: "Aino Virtanen".to_owned(),
            link: "/leads/l".to_owned(),
        };
        let fi = member("fi", "Europe/Helsinki");
        let input = DigestInput {
            member: &fi,
            missed: &[&missed],
            coming: &[&coming],
            older: 2,
            vendors: &vendors,
            now,
            public_base: "https://onepane.example",
            unsubscribe: "https://onepane.example/unsubscribe/t",
        };
        let mail = FluentMail.digest(&input);
        let body = &mail.body;
        assert_eq!(mail.subject, "Onepane: erääntyvät 7.12.2026");
        for part in [
            "Työtilan Gold Oy määräajat 7.12.2026.",
            "Jäi tekemättä edellisen koosteen jälkeen:",
            "- 7.12.2026 06:00  Päätöstä odotetaan: Printers for Acme (Canon)",
            "  https://onepane.example/deals/d",
            "Erääntyy seuraavan 7 päivän aikana:",
            "- 9.12.2026 12:00  Vastaa liidiin: Aino Virtanen",
            "2 vanhempaa määräaikaa on yhä myöhässä: https://onepane.example/clock",
            "Ajat ovat aikavyöhykkeellä Europe/Helsinki.",
            "Lopeta tilaus avaamalla https://onepane.example/unsubscribe/t",
        ] {
            assert!(body.contains(part), "{part} not in:\n{body}");
        }
        // The same day in English, in New York.
        let en = member("en", "America/New_York");
        let mail = FluentMail.digest(&DigestInput {
            member: &en,
            ..input
        });
        assert!(
            mail.body
                .contains("- 9 Dec 2026 05:00  Answer a lead: Aino Virtanen"),
            "{}",
            mail.body
        );
        assert!(
            mail.body
                .contains("Times are in the America/New_York time zone.")
        );
        assert_eq!(mail.subject, "Onepane: what falls due, 7 Dec 2026");
    }
}
