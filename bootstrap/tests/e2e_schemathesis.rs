//! End to end: schemathesis fuzzes the live OpenAPI document of the built binary on SQLite,
//! PostgreSQL and MariaDB (`tests/schemathesis/run.sh`, fixed seed, every check; the
//! committed `schemathesis.toml` names each rule JSON Schema cannot state). Any failure fails
//! the test. CI installs schemathesis and sets `MOON_REQUIRE_SCHEMATHESIS=1`.

use std::path::Path;
use std::process::Command;

use moon_tests::engines::Engine;

fn fuzz(engine: Engine, name: &str) {
    let available = Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        assert!(
            std::env::var("MOON_REQUIRE_SCHEMATHESIS").is_err(),
            "schemathesis is required here: pip install schemathesis"
        );
        eprintln!("schemathesis not installed: {name} not fuzzed");
        return;
    }
    if !Engine::configured().contains(&engine) {
        eprintln!("{engine:?} not configured: not fuzzed");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/schemathesis/run.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(name)
        .env("MOON_BIN", env!("CARGO_BIN_EXE_moon"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run schemathesis: {e}"));
    let printed = String::from_utf8_lossy(&out.stdout);
    eprintln!("{}", printed.lines().next().unwrap_or_default());
    assert!(
        out.status.success(),
        "schemathesis found failures on {name}:\n{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_document_holds_under_schemathesis_on_sqlite() {
    fuzz(Engine::Sqlite, "sqlite");
}

#[test]
fn the_document_holds_under_schemathesis_on_postgres() {
    fuzz(Engine::Postgres, "postgres");
}

#[test]
fn the_document_holds_under_schemathesis_on_mysql() {
    fuzz(Engine::MySql, "mysql");
}
