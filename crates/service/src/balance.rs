//! A merchant's balance: what Payrail owes it, per currency, read from the cached account
//! balances the ledger keeps in step with every entry.

use payrail_domain::ledger::{AccountPurpose, merchant_facing};
use payrail_domain::{Currency, Money};
use payrail_store::ledger;

use crate::{Caller, Payrail, ServiceError};

/// The caller's balances in the caller's mode, as the merchant reads them: positive when
/// Payrail owes the merchant, negative when refunds have taken more than was owed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub livemode: bool,
    /// Captured, not yet settled; one entry per currency with an account.
    pub pending: Vec<Money>,
    /// Settled and payable; one entry per currency with an account.
    pub available: Vec<Money>,
}

impl Payrail {
    pub async fn balance(&self, caller: &Caller) -> Result<Balance, ServiceError> {
        let livemode = caller.mode.is_live();
        let rows = {
            let mut reader = self.store.reader().await?;
            ledger::merchant_balances(reader.conn(), &caller.merchant.id, livemode).await?
        };
        let mut balance = Balance { livemode, pending: Vec::new(), available: Vec::new() };
        for (currency_code, purpose, balance_minor) in rows {
            let corrupt = |what: &str| anyhow::anyhow!("ledger account of {} has {what}", caller.merchant.id);
            let currency = Currency::parse(&currency_code).map_err(|_| corrupt("an unknown currency"))?;
            let amount_minor = merchant_facing(balance_minor).map_err(|_| corrupt("a balance out of range"))?;
            match AccountPurpose::parse(&purpose) {
                Some(AccountPurpose::MerchantPending) => balance.pending.push(Money::new(amount_minor, currency)),
                Some(AccountPurpose::MerchantAvailable) => balance.available.push(Money::new(amount_minor, currency)),
                _ => return Err(corrupt("a purpose that is not a merchant's").into()),
            }
        }
        Ok(balance)
    }
}
