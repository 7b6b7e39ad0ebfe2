//! The operator's policy settings: the default fee, whether refunds return fees,
//! per-currency amount limits, and what becomes of a payment paid after Payrail gave it up. Resolved like every other setting (flag, environment,
//! file, default) and checked before anything starts.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use payrail_domain::Currency;
use payrail_domain::fees::FeeSchedule;
use payrail_service::{DEFAULT_FEE_BASIS_POINTS, DEFAULT_FEE_FIXED_MINOR, LateSuccessPolicy, Policy};

use crate::config::{Origin, Setting, choose};

/// The policy settings as the TOML file gave them.
#[derive(Debug, Default)]
pub struct FilePolicy {
    pub fee_rate_basis_points: Option<u32>,
    pub fee_fixed_minor: Option<i64>,
    pub refund_returns_fee: Option<bool>,
    pub late_success_policy: Option<String>,
    /// `[amount_max]` with one `USD = 5000000` line per currency.
    pub amount_max: Option<BTreeMap<String, i64>>,
}

/// The policy settings from flags or the environment (clap merged the two).
pub struct ClapPolicy<'a> {
    pub fee_rate_basis_points: (Option<u32>, Origin),
    pub fee_fixed_minor: (Option<i64>, Origin),
    pub refund_returns_fee: (Option<bool>, Origin),
    pub late_success_policy: (Option<&'a str>, Origin),
    pub amount_max: (Option<&'a str>, Origin),
}

/// The resolved policy and where each of its settings came from.
#[derive(Debug, Clone)]
pub struct PolicySettings {
    pub policy: Policy,
    /// Fee rate, fixed fee, refund returns fee, amount limits, late success policy.
    pub origins: [Origin; 5],
}

pub fn resolve(clap: ClapPolicy<'_>, file: FilePolicy) -> anyhow::Result<PolicySettings> {
    let rate = choose(clap.fee_rate_basis_points.0, clap.fee_rate_basis_points.1, file.fee_rate_basis_points, {
        DEFAULT_FEE_BASIS_POINTS
    });
    let fixed = choose(clap.fee_fixed_minor.0, clap.fee_fixed_minor.1, file.fee_fixed_minor, DEFAULT_FEE_FIXED_MINOR);
    let returns = choose(clap.refund_returns_fee.0, clap.refund_returns_fee.1, file.refund_returns_fee, false);
    let from_clap = clap.amount_max.0.map(parse_amount_limits).transpose()?;
    let from_file = file.amount_max.map(|table| table.into_iter().collect());
    let limits: Setting<Vec<(String, i64)>> = choose(from_clap, clap.amount_max.1, from_file, Vec::new());
    let fees = FeeSchedule::parse(rate.value, fixed.value)
        .context("the default fee needs a rate of at most 10000 basis points and a fixed part of at least 0")?;
    let late =
        choose(clap.late_success_policy.0.map(str::to_owned), clap.late_success_policy.1, file.late_success_policy, {
            LateSuccessPolicy::default().as_str().to_owned()
        });
    let late_success = LateSuccessPolicy::parse(&late.value)
        .with_context(|| format!("late_success_policy must be refund or keep, not {:?}", late.value))?;
    let mut policy = Policy::default()
        .with_default_fees(fees)
        .with_refund_returns_fee(returns.value)
        .with_late_success(late_success);
    for (code, max) in limits.value {
        let currency = Currency::parse(&code).ok().with_context(|| format!("amount_max: {code} is not a currency"))?;
        policy = policy.with_amount_max(currency, max).map_err(|message| anyhow::anyhow!("amount_max: {message}"))?;
    }
    let origins = [rate.origin, fixed.origin, returns.origin, limits.origin, late.origin];
    Ok(PolicySettings { policy, origins })
}

/// `USD=5000000,JPY=1000000`: the form flags and the environment take.
fn parse_amount_limits(text: &str) -> anyhow::Result<Vec<(String, i64)>> {
    let mut limits = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|pair| !pair.is_empty()) {
        let Some((code, max)) = pair.split_once('=') else {
            bail!("amount_max: expected CURRENCY=MINOR_UNITS, got {pair:?}")
        };
        let max = max.trim().parse().with_context(|| format!("amount_max: {:?} is not an integer", max.trim()))?;
        limits.push((code.trim().to_owned(), max));
    }
    Ok(limits)
}

/// The amount limits as `config show` prints them: a TOML inline table.
pub fn render_amount_limits(policy: &Policy) -> String {
    let limits: Vec<String> =
        policy.amount_limits().map(|(currency, max)| format!("{} = {max}", currency.code())).collect();
    format!("{{ {} }}", limits.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clap(amount_max: Option<&str>) -> ClapPolicy<'_> {
        ClapPolicy {
            fee_rate_basis_points: (None, Origin::Flag),
            fee_fixed_minor: (None, Origin::Flag),
            refund_returns_fee: (Some(true), Origin::Environment),
            late_success_policy: (None, Origin::Default),
            amount_max: (amount_max, Origin::Environment),
        }
    }

    #[test]
    fn flags_win_over_the_file_and_bad_values_are_refused() {
        let file = FilePolicy {
            fee_rate_basis_points: Some(150),
            amount_max: Some(BTreeMap::from([("EUR".to_owned(), 10)])),
            ..FilePolicy::default()
        };
        let resolved = resolve(clap(Some("usd=500, JPY=7")), file).expect("valid");
        assert_eq!(resolved.policy.default_fees().rate_basis_points(), 150);
        assert_eq!(resolved.policy.default_fees().fixed_minor(), DEFAULT_FEE_FIXED_MINOR);
        assert!(resolved.policy.refund_returns_fee());
        assert_eq!(render_amount_limits(&resolved.policy), "{ USD = 500, JPY = 7 }");
        assert!(matches!(
            resolved.origins,
            [Origin::File, Origin::Default, Origin::Environment, Origin::Environment, Origin::Default]
        ));
        for bad in ["USD", "USD=ten", "XXX1=5", "USD=0", "USD=1000000000001"] {
            assert!(resolve(clap(Some(bad)), FilePolicy::default()).is_err(), "{bad}");
        }
        let too_high = FilePolicy { fee_rate_basis_points: Some(10_001), ..FilePolicy::default() };
        assert!(resolve(clap(None), too_high).is_err());
        assert_eq!(
            resolve(clap(None), FilePolicy::default()).expect("valid").policy.late_success(),
            LateSuccessPolicy::Refund
        );
        let keep = FilePolicy { late_success_policy: Some("keep".to_owned()), ..FilePolicy::default() };
        assert_eq!(resolve(clap(None), keep).expect("valid").policy.late_success(), LateSuccessPolicy::Keep);
        let unknown = FilePolicy { late_success_policy: Some("ignore".to_owned()), ..FilePolicy::default() };
        assert!(resolve(clap(None), unknown).is_err());
    }
}
