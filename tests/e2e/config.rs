//! Configuration through the binary: file, environment and flags, and how
//! a wrong setting is told.

use std::path::Path;

use crate::harness::Workdir;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn an_unknown_key_in_the_config_file_is_exit_2_naming_the_key() {
    let work = Workdir::new();
    let file = work.path().join("onepane.toml");
    write(
        &file,
        "listen = \"127.0.0.1:8080\"\ndatabse_url = \"sqlite://x.db\"\n",
    );
    let run = work.run(&["--config", file.to_str().unwrap(), "migrate"]);
    let line = run.error_line(2);
    assert!(
        line.contains("databse_url") && line.contains("onepane.toml:2"),
        "{line}"
    );

    // The same file named through the environment.
    let run = work.run_with(&["migrate"], &[("ONEPANE_CONFIG", file.to_str().unwrap())]);
    assert!(run.error_line(2).contains("databse_url"));
}

#[test]
fn a_missing_config_file_is_exit_2() {
    let work = Workdir::new();
    let run = work.run(&["--config", "absent.toml", "migrate"]);
    assert!(run.error_line(2).contains("absent.toml"), "{run:?}");
}

#[test]
fn a_malformed_database_url_in_the_environment_is_exit_2_without_its_password() {
    let work = Workdir::new();
    let run = work.run_with(
        &["migrate"],
        &[("ONEPANE_DATABASE_URL", "mysql://app:hunter2@db/onepane")],
    );
    let line = run.error_line(2);
    assert!(
        line.contains("ONEPANE_DATABASE_URL") && line.contains("database_url"),
        "{line}"
    );
    assert!(
        line.contains("sqlite://") && line.contains("postgres://"),
        "says what would work: {line}"
    );
    assert!(!line.contains("hunter2"), "{line}");
}

#[test]
fn other_malformed_settings_are_exit_2_and_name_their_source() {
    let work = Workdir::new();
    let cases = [
        ("ONEPANE_LISTEN", "localhost:80", "listen"),
        ("ONEPANE_LOG_FORMAT", "yaml", "log_format"),
        ("ONEPANE_SECRET_KEY", "too-short", "secret_key"),
        (
            "ONEPANE_MIGRATION_DATABASE_URL",
            "sqlite:",
            "migration_database_url",
        ),
    ];
    for (var, value, setting) in cases {
        // Every command loads and checks every setting; `migrate` ends
        // even if the check were missed, where `serve` would keep running.
        let run = work.run_with(&["migrate"], &[(var, value)]);
        let line = run.error_line(2);
        assert!(
            line.contains(var) && line.contains(setting),
            "{var}: {line}"
        );
    }
    assert!(!work.data_dir().exists(), "nothing starts on a bad setting");
}

#[test]
fn flags_override_the_environment_which_overrides_the_file() {
    let work = Workdir::new();
    let file = work.path().join("onepane.toml");
    write(&file, "data_dir = \"from-file\"\n");
    let config = file.to_str().unwrap();

    work.run(&["--config", config, "migrate"]).ok();
    assert!(work.path().join("from-file/onepane.db").is_file());

    work.run_with(
        &["--config", config, "migrate"],
        &[("ONEPANE_DATA_DIR", "from-env")],
    )
    .ok();
    assert!(work.path().join("from-env/onepane.db").is_file());

    work.run_with(
        &["--config", config, "--data-dir", "from-flag", "migrate"],
        &[("ONEPANE_DATA_DIR", "from-env")],
    )
    .ok();
    assert!(work.path().join("from-flag/onepane.db").is_file());

    // An explicit database URL beats the data directory's default database.
    work.run_with(
        &["migrate"],
        &[("ONEPANE_DATABASE_URL", "sqlite://elsewhere/custom.db")],
    )
    .ok();
    assert!(work.path().join("elsewhere/custom.db").is_file());
    assert!(!work.data_dir().exists());
}

#[test]
fn the_example_config_file_works_as_shipped() {
    let work = Workdir::new();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/onepane.example.toml");
    work.run(&["--config", example.to_str().unwrap(), "migrate"])
        .ok();
    assert!(work.data_dir().join("onepane.db").is_file());
}

#[test]
fn a_malformed_key_file_stops_serve_with_exit_2_and_is_left_alone() {
    let work = Workdir::new();
    let key_file = work.data_dir().join("secret.key");
    write(&key_file, "not a key\n");
    let run = work.run(&["serve", "--listen", "127.0.0.1:0"]);
    let line = run.error_line(2);
    assert!(
        line.contains("secret.key") && line.contains("malformed"),
        "{line}"
    );
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), "not a key\n");
}
