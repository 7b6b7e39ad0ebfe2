//! Refunds of Alipay payments: `alipay.trade.refund` with the refund's id as
//! `out_request_no`, and `alipay.trade.fastpay.refund.query` under the same one for a
//! refund whose answer was lost.
//!
//! Alipay refunds synchronously: an answered refund succeeded, a refusal failed (its
//! reservation released), a lost answer stays pending until the query tells.

use payrail_channels::ChannelError;
use payrail_channels::alipay::{AlipayClient, RefundRequest};
use payrail_channels::card_network::RefundStatus as ChannelRefundStatus;
use payrail_domain::refund::Refund;
use payrail_domain::{AttemptId, Mode, Money};

use crate::Payrail;
use crate::channel_retry::retrying_transient;

impl Payrail {
    /// Asks Alipay to refund `refund` of the trade `attempt_id`.
    pub(crate) async fn refund_through_alipay(
        &self,
        refund: &Refund,
        attempt_id: &AttemptId,
    ) -> Result<ChannelRefundStatus, ChannelError> {
        let client = self.alipay_client_for_refund(refund, attempt_id).await?;
        let request = RefundRequest {
            out_trade_no: attempt_id.to_string(),
            out_request_no: refund.id.to_string(),
            amount: Money::new(refund.amount_minor, refund.currency),
            reason: None,
        };
        retrying_transient(|| client.refund(&request)).await.map(|_| ChannelRefundStatus::Succeeded)
    }

    /// Asks Alipay whether it made `refund`; one it never made failed.
    pub(crate) async fn query_alipay_refund(
        &self,
        refund: &Refund,
        attempt_id: &AttemptId,
    ) -> Result<ChannelRefundStatus, ChannelError> {
        let client = self.alipay_client_for_refund(refund, attempt_id).await?;
        match client.refund_query(attempt_id.as_str(), refund.id.as_str()).await? {
            Some(_) => Ok(ChannelRefundStatus::Succeeded),
            None => Ok(ChannelRefundStatus::Failed { failure_code: "not_received".to_owned() }),
        }
    }

    /// The client of the app the payment was charged through. Without one nothing can be
    /// sent: the refund fails and its reservation is released.
    async fn alipay_client_for_refund(
        &self,
        refund: &Refund,
        attempt_id: &AttemptId,
    ) -> Result<AlipayClient, ChannelError> {
        let mode = if refund.livemode { Mode::Live } else { Mode::Test };
        let account_id =
            self.attempt_channel_account(attempt_id).await.map_err(|_| crate::refunds::channel_unavailable())?;
        let account = self.alipay_for_attempt(mode, account_id.as_ref()).await;
        Ok(account.map_err(|_| crate::refunds::channel_unavailable())?.client)
    }
}
