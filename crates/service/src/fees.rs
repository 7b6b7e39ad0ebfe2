//! Merchants' own fee schedules, set by operators; a capture in a currency without one
//! pays the operator's default (`Policy`).

use payrail_domain::fees::FeeSchedule;
use payrail_domain::{MerchantId, Problem};
use payrail_store::fee_schedules::{self, FeeCurrency};
use payrail_store::merchants;

use crate::{Payrail, ServiceError};

impl Payrail {
    /// Sets a merchant's fees for one currency or every currency; later captures use them.
    pub async fn set_merchant_fees(
        &self,
        merchant_id: &MerchantId,
        currency: FeeCurrency,
        schedule: FeeSchedule,
    ) -> Result<(), ServiceError> {
        let (merchant_id, now) = (merchant_id.clone(), self.clock.now());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if merchants::get(tx.conn(), &merchant_id).await?.is_none() {
                        return Err(Problem::resource_missing("merchant", "merchant").into());
                    }
                    fee_schedules::set(tx.conn(), &merchant_id, currency, schedule, now).await?;
                    Ok(())
                })
            })
            .await
    }

    /// Removes a merchant's fees for `currency`; returns whether it had any.
    pub async fn clear_merchant_fees(
        &self,
        merchant_id: &MerchantId,
        currency: FeeCurrency,
    ) -> Result<bool, ServiceError> {
        let merchant_id = merchant_id.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move { Ok(fee_schedules::clear(tx.conn(), &merchant_id, currency).await?) })
            })
            .await
    }

    /// A merchant's own schedules: (currency code, or `*` for every other currency; schedule).
    pub async fn merchant_fees(&self, merchant_id: &MerchantId) -> Result<Vec<(String, FeeSchedule)>, ServiceError> {
        self.get_merchant(merchant_id).await?;
        let mut reader = self.store.reader().await?;
        Ok(fee_schedules::list(reader.conn(), merchant_id).await?)
    }
}
