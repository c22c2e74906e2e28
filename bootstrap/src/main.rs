//! The `moon` binary: reads the configuration, starts the server, stops cleanly.
#![forbid(unsafe_code)]

mod app;
mod config;
mod instances;
mod logging;
mod security;

use clap::Parser;

use crate::config::{Cli, Config};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(&cli) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("moon: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Err(e) = logging::init(&config) {
        eprintln!("moon: {e}");
        return std::process::ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("moon: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(app::run(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("moon: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
