//! Operator commands: migrations, merchants, API keys, configuration and key generation.

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, bail};
use payrail_domain::fees::FeeSchedule;
use payrail_domain::{ApiKeyId, Currency, MerchantId, MerchantStatus, Mode};
use payrail_service::{FeeCurrency, ServerKeys, ServiceError};
use payrail_store::Store;

use crate::cli::{KeysCommand, MerchantCommand};
use crate::config::{KeySource, Origin, Settings, mask_database_url};
use crate::open::open_payrail;
use crate::policy::render_amount_limits;

pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    // Opening migrates; the key check is skipped so that `migrate` works before the first
    // start has recorded one.
    let store = Store::open(&settings.database_url.value, &settings.store_options()).await?;
    let now = payrail_domain::Clock::now(&payrail_service::SystemClock);
    let applied = store.migrate(now).await?;
    if applied.is_empty() {
        println!("the database is up to date");
    } else {
        println!("applied migrations {applied:?}");
    }
    store.close().await;
    Ok(())
}

pub async fn merchant(settings: &Settings, command: MerchantCommand) -> anyhow::Result<()> {
    let payrail = open_payrail(settings).await?;
    match command {
        MerchantCommand::Create { name, status } => {
            let status = MerchantStatus::parse(&status)
                .filter(|s| *s != MerchantStatus::Suspended)
                .context("status must be pending or active")?;
            let merchant = payrail.create_merchant(&name, status).await.map_err(service_error)?;
            println!("{}\t{}\t{}", merchant.id, merchant.status.as_str(), merchant.name.as_str());
        }
        MerchantCommand::List => {
            let mut after: Option<MerchantId> = None;
            loop {
                let page = payrail.list_merchants(after.as_ref(), 100).await.map_err(service_error)?;
                for merchant in &page {
                    println!("{}\t{}\t{}", merchant.id, merchant.status.as_str(), merchant.name.as_str());
                }
                match page.last() {
                    Some(last) if page.len() == 100 => after = Some(last.id.clone()),
                    _ => break,
                }
            }
        }
        MerchantCommand::Activate { merchant } => set_status(&payrail, &merchant, MerchantStatus::Active).await?,
        MerchantCommand::Suspend { merchant } => set_status(&payrail, &merchant, MerchantStatus::Suspended).await?,
        MerchantCommand::Fees { merchant } => {
            let merchant = merchant_id(&merchant)?;
            for (currency, fees) in payrail.merchant_fees(&merchant).await.map_err(service_error)? {
                println!("{currency}\t{}\t{}", fees.rate_basis_points(), fees.fixed_minor());
            }
        }
        MerchantCommand::SetFees { merchant, rate_basis_points, fixed_minor, currency } => {
            let fees = FeeSchedule::parse(rate_basis_points, fixed_minor)
                .context("the rate must be at most 10000 basis points and the fixed part at least 0")?;
            let (merchant, currency) = (merchant_id(&merchant)?, fee_currency(currency.as_deref())?);
            payrail.set_merchant_fees(&merchant, currency, fees).await.map_err(service_error)?;
            println!("{merchant}\t{}\t{rate_basis_points}\t{fixed_minor}", fee_currency_label(currency));
        }
        MerchantCommand::ClearFees { merchant, currency } => {
            let (merchant, currency) = (merchant_id(&merchant)?, fee_currency(currency.as_deref())?);
            let cleared = payrail.clear_merchant_fees(&merchant, currency).await.map_err(service_error)?;
            let outcome = if cleared { "cleared" } else { "had no schedule" };
            println!("{merchant}\t{}\t{outcome}", fee_currency_label(currency));
        }
    }
    payrail.store().close().await;
    Ok(())
}

fn merchant_id(text: &str) -> anyhow::Result<MerchantId> {
    MerchantId::parse(text).ok().context("not a merchant id (mer_…)")
}

fn fee_currency(code: Option<&str>) -> anyhow::Result<FeeCurrency> {
    match code {
        None => Ok(FeeCurrency::Every),
        Some(code) => Ok(FeeCurrency::One(Currency::parse(code).ok().context("not an ISO 4217 currency code")?)),
    }
}

fn fee_currency_label(currency: FeeCurrency) -> &'static str {
    match currency {
        FeeCurrency::One(currency) => currency.code(),
        FeeCurrency::Every => "*",
    }
}

async fn set_status(payrail: &payrail_service::Payrail, id: &str, status: MerchantStatus) -> anyhow::Result<()> {
    let id = merchant_id(id)?;
    let merchant = payrail.set_merchant_status(&id, status).await.map_err(service_error)?;
    println!("{}\t{}\t{}", merchant.id, merchant.status.as_str(), merchant.name.as_str());
    Ok(())
}

pub async fn keys(settings: &Settings, command: KeysCommand) -> anyhow::Result<()> {
    let payrail = open_payrail(settings).await?;
    match command {
        KeysCommand::Create { merchant, mode } => {
            let merchant = MerchantId::parse(&merchant).context("not a merchant id (mer_…)")?;
            let mode = Mode::parse(&mode).context("mode must be test or live")?;
            let created = payrail.create_api_key(&merchant, mode).await.map_err(service_error)?;
            println!("id      {}", created.key.id);
            println!("secret  {}", created.secret.expose());
            eprintln!("The secret is shown only this once; store it now.");
        }
        KeysCommand::List { merchant } => {
            let merchant = MerchantId::parse(&merchant).context("not a merchant id (mer_…)")?;
            for key in payrail.list_api_keys(&merchant, None).await.map_err(service_error)? {
                let state = if key.is_revoked() { "revoked" } else { "active" };
                println!("{}\t{}\t{}\t{}", key.id, key.mode.as_str(), state, key.secret_hint);
            }
        }
        KeysCommand::Revoke { key } => {
            let id = ApiKeyId::parse(&key).context("not an API key id (key_…)")?;
            let key = payrail.revoke_api_key(None, &id).await.map_err(service_error)?;
            println!("{}\trevoked", key.id);
        }
    }
    payrail.store().close().await;
    Ok(())
}

fn service_error(error: ServiceError) -> anyhow::Error {
    match error {
        ServiceError::Rejected(problem) => anyhow::anyhow!("{} ({})", problem.message, problem.code),
        ServiceError::Unexpected(cause) => cause,
    }
}

pub fn keygen(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        bail!("{} exists; refusing to overwrite a server key", out.display());
    }
    let (_, created) = ServerKeys::load_or_create_file(out)?;
    if !created {
        bail!("{} appeared while writing; refusing to overwrite it", out.display());
    }
    println!(
        "wrote a new server key to {} (mode 0600); back it up and give every instance the same file",
        out.display()
    );
    Ok(())
}

/// The effective configuration as TOML, secrets masked, each line saying where its value
/// came from.
pub fn render_config(settings: &Settings) -> String {
    let mut out = String::new();
    let mut line = |name: &str, value: String, origin: Origin| {
        let _ = writeln!(out, "{name} = {value:<40} # {}", origin_label(origin));
    };
    line("listen", quoted(&settings.listen.value), settings.listen.origin);
    line("database_url", quoted(&mask_database_url(&settings.database_url.value)), settings.database_url.origin);
    line("data_dir", quoted(&settings.data_dir.value.display().to_string()), settings.data_dir.origin);
    // The key itself is never printed, only where it is read from.
    match &settings.key_source {
        KeySource::Environment => line("server_key", quoted("***"), Origin::Environment),
        KeySource::File(path) => line("key_file", quoted(&path.display().to_string()), settings.key_file_origin),
        KeySource::DataDirFile(path) => line("key_file", quoted(&path.display().to_string()), Origin::Default),
    }
    let log = match settings.log.origin {
        Origin::Default => "info (serve), warn (other commands)".to_owned(),
        _ => settings.log.value.clone(),
    };
    line("log", quoted(&log), settings.log.origin);
    line("log_format", quoted(&settings.log_format.value), settings.log_format.origin);
    let [body_origin, timeout_origin, connections_origin] = settings.limit_origins;
    line("body_bytes_max", settings.limits.body_bytes_max.to_string(), body_origin);
    line("request_timeout_ms", settings.limits.request_timeout_ms.to_string(), timeout_origin);
    line("connections_max", settings.limits.connections_max.to_string(), connections_origin);
    line(
        "database_connections_max",
        settings.database_connections_max.value.to_string(),
        settings.database_connections_max.origin,
    );
    line("job_workers", settings.job_workers.value.to_string(), settings.job_workers.origin);
    let wait = &settings.payment_code_wait_ms;
    line("payment_code_wait_ms", wait.value.to_string(), wait.origin);
    let (policy, [rate_origin, fixed_origin, returns_origin, limits_origin, late_origin]) =
        (&settings.policy.policy, settings.policy.origins);
    line("fee_rate_basis_points", policy.default_fees().rate_basis_points().to_string(), rate_origin);
    line("fee_fixed_minor", policy.default_fees().fixed_minor().to_string(), fixed_origin);
    line("refund_returns_fee", policy.refund_returns_fee().to_string(), returns_origin);
    line("amount_max", render_amount_limits(policy), limits_origin);
    line("late_success_policy", quoted(policy.late_success().as_str()), late_origin);
    let hooks = &settings.webhooks;
    let [loopback_origin, networks_origin, timeout_origin, schedule_origin] = hooks.origins;
    line("webhook_test_allow_loopback", hooks.options.test_allows_loopback.to_string(), loopback_origin);
    let networks: Vec<String> = hooks.options.allowed_networks.iter().map(ToString::to_string).collect();
    line("webhook_allowed_networks", quoted(&networks.join(",")), networks_origin);
    line("webhook_timeout_ms", hooks.options.sender.timeout_ms.to_string(), timeout_origin);
    line("webhook_retry_schedule", quoted(&hooks.schedule_text), schedule_origin);
    out
}

fn quoted(text: &str) -> String {
    format!("{text:?}")
}

fn origin_label(origin: Origin) -> &'static str {
    match origin {
        Origin::Flag => "flag",
        Origin::Environment => "environment",
        Origin::File => "config file",
        Origin::Default => "default",
    }
}
