//! Merchant accounts: creation, listing and status changes by operators.

use payrail_domain::{Merchant, MerchantId, MerchantName, MerchantStatus, Problem};
use payrail_store::merchants;

use crate::random::id_random;
use crate::{Payrail, ServiceError};

/// The most merchants one list call returns.
pub const MERCHANT_LIST_LIMIT_MAX: u32 = 100;

impl Payrail {
    pub async fn create_merchant(&self, name: &str, status: MerchantStatus) -> Result<Merchant, ServiceError> {
        let merchant = self.new_merchant(MerchantName::parse(name)?, status);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    merchants::insert(tx.conn(), &merchant).await?;
                    Ok(merchant)
                })
            })
            .await
    }

    pub(crate) fn new_merchant(&self, name: MerchantName, status: MerchantStatus) -> Merchant {
        let now = self.clock.now();
        Merchant { id: MerchantId::generate(now, id_random(now)), name, status, created: now }
    }

    /// Merchants oldest first, a page at a time.
    pub async fn list_merchants(
        &self,
        starting_after: Option<&MerchantId>,
        limit: u32,
    ) -> Result<Vec<Merchant>, ServiceError> {
        let limit = limit.clamp(1, MERCHANT_LIST_LIMIT_MAX);
        let mut reader = self.store.reader().await?;
        Ok(merchants::list(reader.conn(), starting_after, limit).await?)
    }

    pub async fn get_merchant(&self, id: &MerchantId) -> Result<Merchant, ServiceError> {
        let mut reader = self.store.reader().await?;
        let merchant = merchants::get(reader.conn(), id).await?;
        merchant.ok_or_else(|| Problem::resource_missing("merchant", "merchant").into())
    }

    /// Moves a merchant to `status` if the transition is legal.
    pub async fn set_merchant_status(&self, id: &MerchantId, status: MerchantStatus) -> Result<Merchant, ServiceError> {
        let (id, now) = (id.clone(), self.clock.now());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let mut merchant = merchants::get(tx.conn(), &id)
                        .await?
                        .ok_or_else(|| Problem::resource_missing("merchant", "merchant"))?;
                    merchant.status = merchant.status.transition(status)?;
                    merchants::set_status(tx.conn(), &id, merchant.status, now).await?;
                    Ok(merchant)
                })
            })
            .await
    }
}
