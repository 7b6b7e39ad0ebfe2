//! Configuration: command-line flags, then `PAYRAIL_*` environment variables, then the
//! TOML file named by `--config`, then built-in defaults. The first that sets a value wins.
//!
//! The server key is deliberately not a flag: a secret on the command line is visible to
//! every user of the machine through the process list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::ArgMatches;
use clap::parser::ValueSource;
use payrail_http::Limits;
use payrail_service::DEFAULT_PAYER_WAIT_MS;
use payrail_store::{Engine, StoreOptions};
use serde::Deserialize;

use crate::cli::GlobalArgs;
use crate::policy::{self, ClapPolicy, FilePolicy, PolicySettings};
use crate::webhook_config::{self, WebhookInput, WebhookSettings};

/// Settings that may appear in the TOML file; every one is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    listen: Option<String>,
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    key_file: Option<PathBuf>,
    log: Option<String>,
    log_format: Option<String>,
    body_bytes_max: Option<usize>,
    request_timeout_ms: Option<u64>,
    connections_max: Option<usize>,
    database_connections_max: Option<u32>,
    job_workers: Option<u16>,
    payment_code_wait_ms: Option<u64>,
    fee_rate_basis_points: Option<u32>,
    fee_fixed_minor: Option<i64>,
    refund_returns_fee: Option<bool>,
    late_success_policy: Option<String>,
    /// `[amount_max]` with one `USD = 5000000` line per currency.
    amount_max: Option<BTreeMap<String, i64>>,
    webhook_test_allow_loopback: Option<bool>,
    webhook_allowed_networks: Option<String>,
    webhook_timeout_ms: Option<u64>,
    webhook_retry_schedule: Option<String>,
}

/// Where the server key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `PAYRAIL_SERVER_KEY` holds the key text itself.
    Environment,
    /// A key file given by the operator; it must exist.
    File(PathBuf),
    /// The embedded default: a key file in the data directory, created on first start.
    DataDirFile(PathBuf),
}

/// Where a setting's value came from, for `payrail config show`.
#[derive(Debug, Clone, Copy)]
pub enum Origin {
    Flag,
    Environment,
    File,
    Default,
}

/// A resolved setting and its origin.
#[derive(Debug, Clone)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: Setting<String>,
    pub database_url: Setting<String>,
    pub data_dir: Setting<PathBuf>,
    pub key_source: KeySource,
    pub key_file_origin: Origin,
    pub log: Setting<String>,
    pub log_format: Setting<String>,
    pub limits: Limits,
    pub limit_origins: [Origin; 3],
    pub database_connections_max: Setting<u32>,
    pub job_workers: Setting<u16>,
    /// How long a payment-code request waits for the payer.
    pub payment_code_wait_ms: Setting<u64>,
    pub policy: PolicySettings,
    pub webhooks: WebhookSettings,
}

pub const SERVER_KEY_ENV: &str = "PAYRAIL_SERVER_KEY";
/// Job workers per instance unless configured: two let a long job (a sweep waiting on the
/// network) not hold up the others; instances add their own, since claims never collide.
pub const JOB_WORKERS_DEFAULT: u16 = 2;
/// What a payment-code request keeps of its timeout to commit and answer after the wait.
const PAYMENT_CODE_ANSWER_MARGIN_MS: u64 = 5_000;

impl Settings {
    pub fn resolve(args: &GlobalArgs, matches: &ArgMatches) -> anyhow::Result<Settings> {
        let file = match &args.config {
            Some(path) => read_file_config(path)?,
            None => FileConfig::default(),
        };
        let pick = |id: &str| origin_of(matches, id);
        let data_dir = choose(args.data_dir.clone(), pick("data_dir"), file.data_dir, PathBuf::from("payrail-data"));
        let default_url = format!("sqlite://{}", data_dir.value.join("payrail.db").display());
        let database_url = choose(args.database_url.clone(), pick("database_url"), file.database_url, default_url);
        let engine =
            Engine::of_url(&database_url.value).context("the database URL must start with sqlite:// or postgres://")?;
        let key_file_origin = if args.key_file.is_some() { pick("key_file") } else { Origin::File };
        let key_file = args.key_file.clone().or(file.key_file);
        let key_source = match (std::env::var_os(SERVER_KEY_ENV).is_some(), key_file, engine) {
            (true, _, _) => KeySource::Environment,
            (false, Some(path), _) => KeySource::File(path),
            (false, None, Engine::Sqlite) => KeySource::DataDirFile(data_dir.value.join("server.key")),
            (false, None, Engine::Postgres) => bail!(
                "a PostgreSQL deployment must be given the server key: set PAYRAIL_KEY_FILE (or key_file in \
                 the config file) to a file made by `payrail keygen`, or PAYRAIL_SERVER_KEY to its contents"
            ),
        };
        let body =
            choose(args.body_bytes_max, pick("body_bytes_max"), file.body_bytes_max, Limits::default().body_bytes_max);
        let timeout = choose(
            args.request_timeout_ms,
            pick("request_timeout_ms"),
            file.request_timeout_ms,
            Limits::default().request_timeout_ms,
        );
        let connections = choose(
            args.connections_max,
            pick("connections_max"),
            file.connections_max,
            Limits::default().connections_max,
        );
        let policy = policy::resolve(
            ClapPolicy {
                fee_rate_basis_points: (args.fee_rate_basis_points, pick("fee_rate_basis_points")),
                fee_fixed_minor: (args.fee_fixed_minor, pick("fee_fixed_minor")),
                refund_returns_fee: (args.refund_returns_fee, pick("refund_returns_fee")),
                late_success_policy: (args.late_success_policy.as_deref(), pick("late_success_policy")),
                amount_max: (args.amount_max.as_deref(), pick("amount_max")),
            },
            FilePolicy {
                fee_rate_basis_points: file.fee_rate_basis_points,
                fee_fixed_minor: file.fee_fixed_minor,
                refund_returns_fee: file.refund_returns_fee,
                late_success_policy: file.late_success_policy,
                amount_max: file.amount_max,
            },
        )?;
        let webhooks = webhook_config::resolve(
            (
                WebhookInput {
                    test_allow_loopback: args.webhook_test_allow_loopback,
                    allowed_networks: args.webhook_allowed_networks.clone(),
                    timeout_ms: args.webhook_timeout_ms,
                    retry_schedule: args.webhook_retry_schedule.clone(),
                },
                [
                    pick("webhook_test_allow_loopback"),
                    pick("webhook_allowed_networks"),
                    pick("webhook_timeout_ms"),
                    pick("webhook_retry_schedule"),
                ],
            ),
            WebhookInput {
                test_allow_loopback: file.webhook_test_allow_loopback,
                allowed_networks: file.webhook_allowed_networks,
                timeout_ms: file.webhook_timeout_ms,
                retry_schedule: file.webhook_retry_schedule,
            },
        )?;
        Ok(Settings {
            policy,
            webhooks,
            listen: choose(args.listen.clone(), pick("listen"), file.listen, "127.0.0.1:8080".to_owned()),
            database_url,
            data_dir,
            key_source,
            key_file_origin,
            log: choose(args.log.clone(), pick("log"), file.log, "info".to_owned()),
            log_format: choose(args.log_format.clone(), pick("log_format"), file.log_format, "text".to_owned()),
            limit_origins: [body.origin, timeout.origin, connections.origin],
            limits: Limits {
                body_bytes_max: body.value,
                request_timeout_ms: timeout.value,
                connections_max: connections.value,
            },
            job_workers: choose(args.job_workers, pick("job_workers"), file.job_workers, JOB_WORKERS_DEFAULT),
            payment_code_wait_ms: payment_code_wait(
                choose(args.payment_code_wait_ms, pick("payment_code_wait_ms"), file.payment_code_wait_ms, {
                    DEFAULT_PAYER_WAIT_MS
                }),
                timeout.value,
            )?,
            database_connections_max: choose(
                args.database_connections_max,
                pick("database_connections_max"),
                file.database_connections_max,
                StoreOptions::default().connections_max,
            ),
        })
    }

    pub fn store_options(&self) -> StoreOptions {
        StoreOptions { connections_max: self.database_connections_max.value, ..StoreOptions::default() }
    }
}

/// The payer wait must end early enough for the request to answer `processing` itself. The
/// default shrinks to fit a shorter request timeout; a wait set explicitly must fit.
fn payment_code_wait(wait: Setting<u64>, request_timeout_ms: u64) -> anyhow::Result<Setting<u64>> {
    let room = request_timeout_ms.saturating_sub(PAYMENT_CODE_ANSWER_MARGIN_MS).max(1);
    if matches!(wait.origin, Origin::Default) {
        return Ok(Setting { value: wait.value.min(room), origin: wait.origin });
    }
    if wait.value == 0 || wait.value > room {
        bail!(
            "payment_code_wait_ms must be at least 1 and at most request_timeout_ms - {PAYMENT_CODE_ANSWER_MARGIN_MS} \
             ({} here), so that the request still answers `processing` itself",
            room
        );
    }
    Ok(wait)
}

fn read_file_config(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("the config file {} is not valid", path.display()))
}

fn origin_of(matches: &ArgMatches, id: &str) -> Origin {
    match matches.value_source(id) {
        Some(ValueSource::EnvVariable) => Origin::Environment,
        _ => Origin::Flag,
    }
}

/// Flag or environment (clap has merged the two, and says which), then file, then default.
pub(crate) fn choose<T>(from_clap: Option<T>, clap_origin: Origin, from_file: Option<T>, default: T) -> Setting<T> {
    match (from_clap, from_file) {
        (Some(value), _) => Setting { value, origin: clap_origin },
        (None, Some(value)) => Setting { value, origin: Origin::File },
        (None, None) => Setting { value: default, origin: Origin::Default },
    }
}

/// The URL with any password replaced by `***`, safe to print.
///
/// The password may sit in the authority (`user:password@host`; the user name itself may
/// contain `@`, so the last `@` before the path ends it) or in a `password=` parameter.
pub fn mask_database_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<&str> = query
                .split('&')
                .map(|pair| if pair.to_ascii_lowercase().starts_with("password=") { "password=***" } else { pair })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::mask_database_url;

    #[test]
    fn database_passwords_never_print() {
        let cases = [
            ("postgres://payrail:hunter2@db:5432/payrail", "postgres://payrail:***@db:5432/payrail"),
            ("postgres://db/payrail?user=a&password=hunter2", "postgres://db/payrail?user=a&password=***"),
            ("postgres://payrail@db/payrail", "postgres://payrail@db/payrail"),
            ("sqlite://payrail-data/payrail.db", "sqlite://payrail-data/payrail.db"),
            ("postgres://h:5432/db?user=a@b&password=hunter2", "postgres://h:5432/db?user=a@b&password=***"),
            ("postgres://u:p@ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u@corp:hunter2@h/db", "postgres://u@corp:***@h/db"),
        ];
        for (url, expected) in cases {
            assert_eq!(mask_database_url(url), expected);
        }
    }
}
