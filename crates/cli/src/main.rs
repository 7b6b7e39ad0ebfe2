//! The `payrail` binary: parses the command line, resolves configuration, and runs one
//! command. Only this crate uses `anyhow` for its own errors and maps them to exit codes.

mod admin;
mod cli;
mod config;
mod ledger;
mod open;
mod policy;
mod sandbox_alipay;
mod sandbox_channels;
mod sandbox_credentials;
mod sandbox_wechatpay;
mod serve;
mod webhook_config;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command, ConfigCommand, SandboxCommand};
use crate::config::Settings;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&anyhow::anyhow!("cannot start the async runtime: {error}")),
    };
    match runtime.block_on(run(cli, &matches)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}

async fn run(cli: Cli, matches: &clap::ArgMatches) -> anyhow::Result<()> {
    // Making a key needs no configuration; with PostgreSQL configured, resolving it would
    // fail for want of the very key this command makes.
    if let Command::Keygen { out } = &cli.command {
        return admin::keygen(out);
    }
    let settings = Settings::resolve(&cli.global, matches)?;
    let default_log = if matches!(cli.command, Command::Serve) { "info" } else { "warn" };
    init_logging(&settings, default_log)?;
    match cli.command {
        Command::Serve => serve::run(&settings).await,
        Command::Migrate => admin::migrate(&settings).await,
        Command::Merchant(command) => admin::merchant(&settings, command).await,
        Command::Keys(command) => admin::keys(&settings, command).await,
        Command::Ledger(command) => ledger::run(&settings, command).await,
        Command::Sandbox(SandboxCommand::Credentials { json, merchant }) => {
            sandbox_credentials::run(&settings, json, merchant.as_deref()).await
        }
        Command::Config(ConfigCommand::Show) => {
            print!("{}", admin::render_config(&settings));
            Ok(())
        }
        Command::Keygen { .. } => unreachable!("handled before configuration"),
    }
}

fn init_logging(settings: &Settings, default_filter: &str) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = match settings.log.origin {
        config::Origin::Default => default_filter,
        _ => settings.log.value.as_str(),
    };
    let filter = EnvFilter::try_new(filter).map_err(|e| anyhow::anyhow!("invalid log filter: {e}"))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match settings.log_format.value.as_str() {
        "json" => builder.json().init(),
        "text" => builder.init(),
        other => anyhow::bail!("log format must be text or json, not {other:?}"),
    }
    Ok(())
}
