//! The operator's webhook settings: whether test mode may deliver to loopback, which
//! private networks deliveries may reach, the timeout of one attempt and the retry
//! schedule. Resolved like every other setting and checked before anything starts.

use anyhow::{Context, bail};
use payrail_channels::webhook::{Network, SenderConfig};
use payrail_domain::webhook::RetrySchedule;
use payrail_service::WebhookOptions;

use crate::config::{Origin, Setting, choose};

/// The webhook settings as the TOML file or clap (flag or environment) gave them.
#[derive(Debug, Default)]
pub struct WebhookInput {
    pub test_allow_loopback: Option<bool>,
    pub allowed_networks: Option<String>,
    pub timeout_ms: Option<u64>,
    pub retry_schedule: Option<String>,
}

/// The resolved options and where each setting came from.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub options: WebhookOptions,
    /// Loopback in test mode, allowed networks, timeout, retry schedule.
    pub origins: [Origin; 4],
    /// The schedule as given (or the default's), for `config show`.
    pub schedule_text: String,
}

/// The default schedule as `config show` prints it.
pub const DEFAULT_SCHEDULE_TEXT: &str = "1m,5m,30m,2h,5h,10h,10h,12h,12h,12h,12h";

pub fn resolve(clap: (WebhookInput, [Origin; 4]), file: WebhookInput) -> anyhow::Result<WebhookSettings> {
    let (clap, [loopback_origin, networks_origin, timeout_origin, schedule_origin]) = clap;
    let loopback = choose(clap.test_allow_loopback, loopback_origin, file.test_allow_loopback, true);
    let networks = choose(clap.allowed_networks, networks_origin, file.allowed_networks, String::new());
    let default_timeout = SenderConfig::default().timeout_ms;
    let timeout = choose(clap.timeout_ms, timeout_origin, file.timeout_ms, default_timeout);
    let schedule: Setting<String> =
        choose(clap.retry_schedule, schedule_origin, file.retry_schedule, DEFAULT_SCHEDULE_TEXT.to_owned());
    let allowed_networks = networks
        .value
        .split(',')
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| {
            text.parse::<Network>()
                .ok()
                .with_context(|| format!("webhook_allowed_networks: {text:?} is not a CIDR network"))
        })
        .collect::<anyhow::Result<Vec<Network>>>()?;
    let steps = schedule.value.split(',').map(parse_duration_ms).collect::<anyhow::Result<Vec<i64>>>()?;
    let retry = RetrySchedule::from_steps_ms(&steps)
        .context("webhook_retry_schedule: 1 to 64 steps, each from 1ms to 7 days")?;
    let options = WebhookOptions {
        test_allows_loopback: loopback.value,
        allowed_networks,
        schedule: retry,
        sender: SenderConfig { timeout_ms: timeout.value, ..SenderConfig::default() },
    };
    payrail_channels::webhook::WebhookSender::new(options.sender)
        .map_err(|error| anyhow::anyhow!("webhook_timeout_ms: {error}"))?;
    Ok(WebhookSettings {
        options,
        origins: [loopback.origin, networks.origin, timeout.origin, schedule.origin],
        schedule_text: schedule.value,
    })
}

/// `500ms`, `30s`, `5m`, `2h` or `1d`.
fn parse_duration_ms(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => bail!("webhook_retry_schedule: {text:?} needs a unit: ms, s, m, h or d"),
    };
    let number: i64 = number.parse().with_context(|| format!("webhook_retry_schedule: {text:?} is not a duration"))?;
    number.checked_mul(unit_ms).with_context(|| format!("webhook_retry_schedule: {text:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clap(schedule: Option<&str>, networks: Option<&str>) -> (WebhookInput, [Origin; 4]) {
        let input = WebhookInput {
            retry_schedule: schedule.map(str::to_owned),
            allowed_networks: networks.map(str::to_owned),
            ..WebhookInput::default()
        };
        (input, [Origin::Flag; 4])
    }

    #[test]
    fn the_default_schedule_text_is_the_default_schedule_and_bad_settings_are_refused() {
        let resolved = resolve(clap(None, None), WebhookInput::default()).expect("defaults are valid");
        assert_eq!(resolved.options, WebhookOptions::default());
        let resolved =
            resolve(clap(Some("500ms, 2s"), Some("10.0.0.0/8, fd00::/8")), WebhookInput::default()).expect("valid");
        assert_eq!(resolved.options.schedule, RetrySchedule::from_steps_ms(&[500, 2_000]).expect("valid"));
        assert_eq!(resolved.options.allowed_networks.len(), 2);
        for (schedule, networks) in
            [(Some("5"), None), (Some("0s"), None), (Some("8d"), None), (None, Some("10.0.0.0/33"))]
        {
            assert!(resolve(clap(schedule, networks), WebhookInput::default()).is_err(), "{schedule:?} {networks:?}");
        }
        let too_slow = WebhookInput { timeout_ms: Some(600_000), ..WebhookInput::default() };
        assert!(resolve(clap(None, None), too_slow).is_err());
    }
}
