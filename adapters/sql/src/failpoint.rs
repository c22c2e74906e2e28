//! Crash points for tests: with `MOON_FAILPOINT=<name>` set, the process aborts at the named
//! point, as a power cut would. Used to prove that start-up repair ends consistent; a
//! no-op otherwise (the variable is read once).

use std::sync::OnceLock;

static FAILPOINT: OnceLock<Option<String>> = OnceLock::new();

/// Aborts the process when `MOON_FAILPOINT` names this point.
pub fn hit(name: &str) {
    let armed = FAILPOINT.get_or_init(|| {
        std::env::var("MOON_FAILPOINT")
            .ok()
            .filter(|v| !v.is_empty())
    });
    if armed.as_deref() == Some(name) {
        tracing::error!(failpoint = name, "MOON_FAILPOINT reached: aborting");
        std::process::abort();
    }
}
