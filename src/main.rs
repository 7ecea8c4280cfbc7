//! The `orcoursetrion` binary: CLI actions and the GitHub App server. anyhow
//! lives only here, at the edge; the library has typed errors.

use std::process::ExitCode;

use clap::Parser;
use orcoursetrion::cli::{self, Cli, CliCommand};
use orcoursetrion::config::Config;
use orcoursetrion::github::ClientConfig;

fn main() -> ExitCode {
    let args = Cli::parse();
    // An optional .env beside the binary's working directory (SPEC §9).
    let _ = dotenvy::dotenv();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: Cli) -> ExitCode {
    let action = match cli::to_action(&args.command) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprint!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(action) = action else {
        debug_assert!(matches!(args.command, CliCommand::Serve));
        return serve(config).await;
    };
    let client = ClientConfig {
        api_url: config.api_url.clone(),
        ..ClientConfig::default()
    };
    match cli::run_action(&config, &action, args.dry_run, client).await {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    orcoursetrion::server::init_logging(config.log_format);
    match orcoursetrion::server::serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
