//! The command line: admin commands, migrations, and how bad input is told.

use crate::harness::Workdir;

const WORKSPACE_ID_NOBODY_HAS: &str = "01900000-0000-7000-8000-0000000000aa";

fn create_workspace(work: &Workdir) -> String {
    let out = work
        .run(&[
            "admin",
            "create-workspace",
            "--name",
            "Acme Oy",
            "--owner-email",
            "owner@acme.fi",
            "--json",
        ])
        .json();
    out["workspace_id"].as_str().unwrap().to_owned()
}

fn create_vendor(work: &Workdir) -> String {
    let out = work
        .run(&["admin", "create-vendor", "--name", "Canon", "--json"])
        .json();
    out["vendor_id"].as_str().unwrap().to_owned()
}

#[test]
fn operator_creates_workspace_and_vendor_then_links_them_using_the_json_ids() {
    let work = Workdir::new();
    let created = work
        .run(&[
            "admin",
            "create-workspace",
            "--name",
            "Acme Oy",
            "--owner-email",
            "Owner@Acme.fi",
            "--currency",
            "SEK",
            "--locale",
            "fi",
            "--json",
        ])
        .json();
    let keys: Vec<&String> = created.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["owner_user_id", "workspace_id"]);
    let workspace_id = created["workspace_id"].as_str().unwrap();
    uuid::Uuid::parse_str(workspace_id).unwrap();
    uuid::Uuid::parse_str(created["owner_user_id"].as_str().unwrap()).unwrap();

    let vendor = work
        .run(&[
            "admin",
            "create-vendor",
            "--name",
            "Nordic Distribution",
            "--kind",
            "distributor",
            "--json",
        ])
        .json();
    let vendor_id = vendor["vendor_id"].as_str().unwrap();
    uuid::Uuid::parse_str(vendor_id).unwrap();

    let link = work
        .run(&[
            "admin",
            "link",
            "--workspace",
            workspace_id,
            "--vendor",
            vendor_id,
            "--tier",
            "Gold",
            "--partner-type",
            "solution-provider",
            "--json",
        ])
        .json();
    assert_eq!(
        link,
        serde_json::json!({
            "workspace_id": workspace_id,
            "vendor_id": vendor_id,
            "tier": "gold",
            "partner_type": "solution-provider",
            "status": "active",
            "sees": {"campaigns": 0, "assets": 0, "price_lists": 0, "price_items": 0},
        })
    );
    // The admin commands migrated the fresh data directory themselves.
    assert!(work.data_dir().join("onepane.db").is_file());
}

#[test]
fn human_output_is_one_or_two_friendly_lines() {
    let work = Workdir::new();
    let run = work.run(&[
        "admin",
        "create-workspace",
        "--name",
        "Acme Oy",
        "--owner-email",
        "owner@acme.fi",
    ]);
    let lines: Vec<&str> = run.ok().lines().collect();
    assert_eq!(lines.len(), 2, "{run:?}");
    assert!(
        lines[0].contains("Acme Oy") && lines[0].contains("EUR"),
        "{run:?}"
    );
    assert!(lines[1].contains("owner@acme.fi"), "{run:?}");

    // A vendor comes with its API client, whose secret is shown once.
    let run = work.run(&["admin", "create-vendor", "--name", "Canon"]);
    let lines: Vec<&str> = run.ok().lines().collect();
    assert_eq!(lines.len(), 4, "{run:?}");
    assert!(lines[0].contains("Canon"), "{run:?}");
    assert!(lines[1].starts_with("API client id: "), "{run:?}");
    assert!(lines[2].starts_with("API client secret: opcs_"), "{run:?}");
    assert!(lines[3].contains("only now"), "{run:?}");

    let (workspace, vendor) = (create_workspace(&work), create_vendor(&work));
    let run = work.run(&[
        "admin",
        "link",
        "--workspace",
        &workspace,
        "--vendor",
        &vendor,
        "--tier",
        "silver",
        "--partner-type",
        "var",
    ]);
    let lines: Vec<&str> = run.ok().lines().collect();
    assert_eq!(lines.len(), 1, "{run:?}");
    assert!(
        lines[0].contains(&workspace) && lines[0].contains("silver"),
        "{run:?}"
    );
}

#[test]
fn bad_tier_is_one_line_naming_the_value_and_the_valid_tiers() {
    let work = Workdir::new();
    let run = work.run(&[
        "admin",
        "link",
        "--workspace",
        WORKSPACE_ID_NOBODY_HAS,
        "--vendor",
        WORKSPACE_ID_NOBODY_HAS,
        "--tier",
        "diamond",
        "--partner-type",
        "var",
    ]);
    let line = run.error_line(2);
    assert!(
        line.contains("--tier") && line.contains("`diamond`"),
        "{line}"
    );
    assert!(
        line.contains("registered, silver, gold, platinum"),
        "{line}"
    );
    assert!(
        !work.data_dir().exists(),
        "bad input must not touch the database"
    );
}

#[test]
fn bad_owner_email_is_refused_before_anything_is_created() {
    let work = Workdir::new();
    let run = work.run(&[
        "admin",
        "create-workspace",
        "--name",
        "Acme Oy",
        "--owner-email",
        "owner.acme.fi",
    ]);
    let line = run.error_line(2);
    assert!(
        line.contains("--owner-email") && line.contains("owner.acme.fi"),
        "{line}"
    );
    assert!(line.contains("name@example.com"), "{line}");
    assert!(!work.data_dir().exists());
}

#[test]
fn every_bad_value_names_its_flag_and_what_was_given() {
    let work = Workdir::new();
    let id = WORKSPACE_ID_NOBODY_HAS;
    let cases: [(&[&str], &str, &str); 6] = [
        (
            &[
                "admin",
                "create-workspace",
                "--name",
                "A",
                "--owner-email",
                "a@b.fi",
                "--currency",
                "EURO",
            ],
            "--currency",
            "EURO",
        ),
        (
            &[
                "admin",
                "create-workspace",
                "--name",
                "A",
                "--owner-email",
                "a@b.fi",
                "--locale",
                "english",
            ],
            "--locale",
            "english",
        ),
        (
            &[
                "admin",
                "create-workspace",
                "--name",
                " ",
                "--owner-email",
                "a@b.fi",
            ],
            "--name",
            "empty",
        ),
        (
            &[
                "admin",
                "create-vendor",
                "--name",
                "Canon",
                "--kind",
                "reseller",
            ],
            "--kind",
            "reseller",
        ),
        (
            &[
                "admin",
                "link",
                "--workspace",
                "acme",
                "--vendor",
                id,
                "--tier",
                "gold",
                "--partner-type",
                "var",
            ],
            "--workspace",
            "acme",
        ),
        (
            &[
                "admin",
                "link",
                "--workspace",
                id,
                "--vendor",
                id,
                "--tier",
                "gold",
                "--partner-type",
                "reseller",
            ],
            "--partner-type",
            "reseller",
        ),
    ];
    for (args, flag, shown) in cases {
        let run = work.run(args);
        let line = run.error_line(2);
        assert!(
            line.contains(flag) && line.contains(shown),
            "{args:?}: {line}"
        );
    }
}

#[test]
fn linking_an_unknown_workspace_is_a_clear_error() {
    let work = Workdir::new();
    let vendor = create_vendor(&work);
    let run = work.run(&[
        "admin",
        "link",
        "--workspace",
        WORKSPACE_ID_NOBODY_HAS,
        "--vendor",
        &vendor,
        "--tier",
        "gold",
        "--partner-type",
        "var",
    ]);
    assert_eq!(
        run.error_line(2),
        format!("error: workspace {WORKSPACE_ID_NOBODY_HAS} not found")
    );

    let workspace = create_workspace(&work);
    let run = work.run(&[
        "admin",
        "link",
        "--workspace",
        &workspace,
        "--vendor",
        WORKSPACE_ID_NOBODY_HAS,
        "--tier",
        "gold",
        "--partner-type",
        "var",
    ]);
    assert_eq!(
        run.error_line(2),
        format!("error: vendor {WORKSPACE_ID_NOBODY_HAS} not found")
    );
}

#[test]
fn usage_errors_are_one_line_with_exit_2_pointing_at_the_commands_help() {
    let work = Workdir::new();
    let run = work.run(&["admin", "create-workspace", "--name", "Acme Oy"]);
    let line = run.error_line(2);
    assert!(line.contains("--owner-email"), "{line}");
    assert!(
        line.ends_with("(see `onepane admin create-workspace --help`)"),
        "{line}"
    );

    let run = work.run(&["frobnicate"]);
    let line = run.error_line(2);
    assert!(line.contains("'frobnicate'"), "{line}");
    assert!(line.ends_with("(see `onepane --help`)"), "{line}");

    // clap's suggestion survives the squeeze into one line.
    let run = work.run(&["admin", "lnk"]);
    assert!(run.error_line(2).contains("'link'"), "{run:?}");

    assert!(!work.data_dir().exists(), "nothing ran");
}

#[test]
fn help_and_version_are_still_printed_in_full() {
    let work = Workdir::new();
    let help = work.run(&["admin", "link", "--help"]);
    assert!(help.ok().contains("--partner-type"), "{help:?}");
    let version = work.run(&["--version"]);
    assert!(version.ok().starts_with("onepane "), "{version:?}");
}

#[test]
fn migrate_reports_what_it_applied_then_that_the_schema_is_current() {
    let work = Workdir::new();
    let first = work.run(&["migrate"]);
    let out = first.ok();
    assert!(
        out.starts_with("Applied ") && out.contains("0001"),
        "{first:?}"
    );
    assert!(out.contains("onepane-data/onepane.db"), "{first:?}");
    let second = work.run(&["migrate"]);
    assert!(second.ok().contains("is current"), "{second:?}");
}

#[test]
fn the_shipped_roles_sql_is_what_the_generator_prints() {
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/postgres/roles.sql"),
    )
    .unwrap();
    let work = Workdir::new();
    let printed = work.run(&["admin", "postgres-roles"]);
    assert_eq!(
        printed.ok(),
        shipped,
        "deploy/postgres/roles.sql drifted: regenerate it with `onepane admin postgres-roles > deploy/postgres/roles.sql`"
    );
    let expected =
        onepane_store::postgres::roles_sql("onepane_owner", "onepane_app", "onepane").unwrap();
    assert_eq!(printed.stdout, expected);
}

#[test]
fn postgres_roles_takes_names_and_refuses_unsafe_ones() {
    let work = Workdir::new();
    let run = work.run(&[
        "admin",
        "postgres-roles",
        "--owner",
        "crm_owner",
        "--server",
        "crm_app",
        "--database",
        "crm",
    ]);
    let sql = run.ok();
    assert!(
        sql.contains("CREATE ROLE crm_owner")
            && sql.contains("CREATE DATABASE crm OWNER crm_owner"),
        "{sql}"
    );
    assert!(!sql.contains("onepane_app"), "{sql}");

    let run = work.run(&["admin", "postgres-roles", "--server", "app; DROP TABLE x"]);
    let line = run.error_line(2);
    assert!(line.contains("app; DROP TABLE x"), "{line}");
}
