//! Looking up a payment's attempts: the latest one, which the sweeps and the payer's
//! return resolve, and the channel account an attempt was charged through.

use payrail_domain::payment_record::Payment;
use payrail_domain::{AttemptId, ChannelAccountId, PaymentId, Problem};
use payrail_store::attempts::StoredAttempt;
use payrail_store::{attempts, payments};

use crate::{Payrail, ServiceError};

impl Payrail {
    pub(crate) async fn get_payment_unchecked(&self, id: &PaymentId) -> Result<Payment, ServiceError> {
        let mut reader = self.store.reader().await?;
        payments::get(reader.conn(), id).await?.ok_or_else(|| Problem::resource_missing("payment", "id").into())
    }

    pub(crate) async fn latest_attempt(&self, id: &PaymentId) -> Result<AttemptId, ServiceError> {
        let mut reader = self.store.reader().await?;
        let latest = attempts::latest(reader.conn(), id).await?;
        latest
            .map(|(attempt_id, _)| attempt_id)
            .ok_or_else(|| ServiceError::Unexpected(anyhow::anyhow!("payment {id} has no attempt to act on")))
    }

    pub(crate) async fn latest_attempt_record(&self, id: &PaymentId) -> Result<StoredAttempt, ServiceError> {
        let attempt_id = self.latest_attempt(id).await?;
        let mut reader = self.store.reader().await?;
        let attempt = attempts::get(reader.conn(), &attempt_id).await?;
        attempt.ok_or_else(|| ServiceError::Unexpected(anyhow::anyhow!("attempt {attempt_id} vanished")))
    }

    /// The merchant's channel account an attempt was charged through, if any.
    pub(crate) async fn attempt_channel_account(
        &self,
        attempt_id: &AttemptId,
    ) -> Result<Option<ChannelAccountId>, ServiceError> {
        let mut reader = self.store.reader().await?;
        let attempt = attempts::get(reader.conn(), attempt_id).await?;
        let attempt =
            attempt.ok_or_else(|| ServiceError::Unexpected(anyhow::anyhow!("attempt {attempt_id} vanished")))?;
        Ok(attempt.channel_account_id)
    }
}
