//! The `orcoursetrion` binary: CLI actions and the GitHub App server. Errors
//! are the library's typed ones, printed once here with the exit code.

use std::process::ExitCode;

use clap::Parser as _;
use orcoursetrion::cli::{self, Cli, CliCommand};
use orcoursetrion::{ClientConfig, Config};

fn main() -> ExitCode {
    let args = match Cli::try_parse() {
        Ok(args) => args,
        // A bad name is one line that states the rule (exit 2, as for any
        // bad input); help, version and usage mistakes are clap's own.
        Err(e) if e.kind() == clap::error::ErrorKind::ValueValidation => {
            let text = e.to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: invalid value"));
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    // An optional .env in the working directory.
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
    if let CliCommand::Completions { shell } = args.command {
        use std::io::Write as _;
        return match std::io::stdout().write_all(&cli::completions(shell)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot write the completions: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let CliCommand::Gitreload {
        port,
        allow_unsigned,
    } = args.command
    {
        return gitreload(port, allow_unsigned).await;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        // The doctor's answer to a broken configuration is its first ✗.
        Err(e) if matches!(args.command, CliCommand::Doctor) => {
            println!("✗ the configuration is valid: {e}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprint!("error: {e}");
            // An action would next miss its credentials: say so with the rest.
            let dry = args.dry_run;
            let has = |k: &str| std::env::var(k).is_ok_and(|v| !v.trim().is_empty());
            if matches!(args.command, CliCommand::Action(_))
                && !dry
                && !has("ORC_GH_OAUTH2_TOKEN")
                && !has("ORC_APP_ID")
            {
                eprintln!("  - ORC_GH_OAUTH2_TOKEN: not set (or set ORC_APP_ID and ORC_APP_PRIVATE_KEY_PATH)");
            }
            return ExitCode::from(2);
        }
    };
    let action = match args.command {
        CliCommand::Serve => return serve(config).await,
        CliCommand::Doctor => {
            let findings = orcoursetrion::diagnose(&config, client_for(&config)).await;
            println!("{}", orcoursetrion::render_findings(&findings));
            return if findings.iter().all(orcoursetrion::Finding::is_ok) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        CliCommand::Catalog {
            action: cli::CatalogCommand::Import,
        } => {
            return report(cli::catalog_import(&config, args.dry_run, client_for(&config)).await);
        }
        CliCommand::Completions { .. } | CliCommand::Gitreload { .. } => return ExitCode::SUCCESS,
        CliCommand::Sign => {
            let Some(secret) = config.webhook_secrets.first() else {
                eprintln!("error: ORC_WEBHOOK_SECRET: not set");
                return ExitCode::from(2);
            };
            let mut body = Vec::new();
            if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin(), &mut body) {
                eprintln!("error: cannot read standard input: {e}");
                return ExitCode::FAILURE;
            }
            println!("{}", orcoursetrion::sign(secret.expose().as_bytes(), &body));
            return ExitCode::SUCCESS;
        }
        CliCommand::Action(action) => action,
    };
    report(cli::run_action(&config, &action, args.dry_run, client_for(&config)).await)
}

/// The GitHub client settings a CLI command uses: the configured API URL.
fn client_for(config: &Config) -> ClientConfig {
    ClientConfig {
        api_url: config.api_url.clone(),
        ..ClientConfig::default()
    }
}

/// Prints what a CLI command returned, and exits by the one exit-code rule.
fn report(outcome: Result<String, cli::CliError>) -> ExitCode {
    match outcome {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    orcoursetrion::init_logging(config.log_format, config.log_spans);
    match orcoursetrion::serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn gitreload(port: Option<u16>, allow_unsigned: bool) -> ExitCode {
    let settings = match orcoursetrion::GitreloadSettings::from_env(port, allow_unsigned) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let log_file = match &settings.log_file {
        None => None,
        Some(path) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("error: LOG_FILE_PATH: cannot open {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    orcoursetrion::init_logging_to(&settings.log_filter, log_file);
    match orcoursetrion::serve_gitreload(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
