//! Marks the PostgreSQL halves of the tests to run when there is a
//! database to run them on: `ONEPANE_TEST_DATABASE_URL` is set, or
//! `ONEPANE_TEST_REQUIRE_ALL=1` asks for every suite (with the default URL).
//! Otherwise the test runner reports them as ignored. The crates whose
//! tests use `onepane_store::on_both_backends!` share this script.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(onepane_test_postgres)");
    println!("cargo::rerun-if-env-changed=ONEPANE_TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=ONEPANE_TEST_REQUIRE_ALL");
    let configured = std::env::var_os("ONEPANE_TEST_DATABASE_URL").is_some();
    let required = std::env::var("ONEPANE_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1" || v == "true");
    if configured || required {
        println!("cargo::rustc-cfg=onepane_test_postgres");
    }
}
