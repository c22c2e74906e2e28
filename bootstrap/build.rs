//! Lays out the release binary's code so a running server touches few pages of it.
//!
//! The functions `hot-symbols.txt` names (what start-up, the idle tasks and everyday requests
//! run, listed by `bench/hot-symbols.sh`) are linked first and side by side; scattered among
//! the other 12 MB of code, they kept most of it resident (docs/benchmarks.md, "Idle memory").
//! Release builds for x86_64 Linux only, whose default linker (rust-lld) takes the list; a
//! name the list misses or no longer matches only leaves that function where it was.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=hot-symbols.txt");
    println!("cargo:rerun-if-env-changed=MOON_NO_SYMBOL_ORDER");
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let lld_target = env::var("TARGET").is_ok_and(|t| t == "x86_64-unknown-linux-gnu");
    if !release || !lld_target || env::var_os("MOON_NO_SYMBOL_ORDER").is_some() {
        return;
    }
    let list =
        Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("hot-symbols.txt");
    if list.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={},--no-warn-symbol-ordering",
            list.display()
        );
    }
}
