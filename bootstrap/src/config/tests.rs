//! Unit tests of `config`.

use super::*;

#[test]
fn defaults_serve_sqlite_on_port_6006() {
    let config = Config::default().check().unwrap_or_default();
    assert_eq!(config.listen, "127.0.0.1:6006");
    assert_eq!(config.database_url(), "sqlite://./data/moon.db");
}

#[test]
#[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
fn flags_override_the_environment() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("MOON_LISTEN", "127.0.0.1:7000");
        jail.set_env("MOON_PREFIX", "/api");
        jail.create_file("moon.toml", "pool_size = 3\nlisten = \"127.0.0.1:6500\"")?;
        let cli = Cli::parse_from(["moon", "--listen", "127.0.0.1:8000"]);
        let config = Config::load(&cli).map_err(figment::Error::from)?;
        assert_eq!(config.listen, "127.0.0.1:8000");
        assert_eq!(config.prefix, "/api");
        assert_eq!(config.pool_size, 3);
        Ok(())
    });
}

#[test]
#[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
fn sqlite_synchronous_is_normal_full_or_refused() {
    figment::Jail::expect_with(|jail| {
        let cli = Cli::parse_from(["moon"]);
        assert_eq!(
            Config::load(&cli).map(|c| c.sqlite_synchronous).ok(),
            Some(SqliteSync::Normal)
        );
        jail.set_env("MOON_SQLITE_SYNCHRONOUS", "full");
        assert_eq!(
            Config::load(&cli).map(|c| c.sqlite_synchronous).ok(),
            Some(SqliteSync::Full)
        );
        jail.set_env("MOON_SQLITE_SYNCHRONOUS", "off");
        assert!(Config::load(&cli).is_err(), "only normal or full");
        Ok(())
    });
}

#[test]
#[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
fn retention_takes_seconds_or_a_unit() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("MOON_CHANGES_RETENTION", "7200");
        let config = Config::load(&Cli::parse_from(["moon"])).map_err(figment::Error::from)?;
        assert_eq!(config.changes_retention(), Ok(Duration::from_secs(7200)));
        Ok(())
    });
    let with = |raw: &str| Config {
        changes_retention: raw.into(),
        ..Config::default()
    };
    assert_eq!(
        with("24h").changes_retention(),
        Ok(Duration::from_secs(86_400))
    );
    assert_eq!(
        with("90m").changes_retention(),
        Ok(Duration::from_secs(5_400))
    );
    assert_eq!(
        with("7d").changes_retention(),
        Ok(Duration::from_secs(604_800))
    );
    for bad in ["", "0", "h", "24x", "-5s", "1.5h"] {
        assert!(with(bad).check().is_err(), "{bad}");
    }
}

#[test]
fn bad_settings_are_named() {
    let bad = Config {
        log_format: "xml".into(),
        ..Config::default()
    };
    assert!(bad.check().is_err_and(|e| e.contains("log_format")));
}
