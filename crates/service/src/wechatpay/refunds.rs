//! Refunds of WeChat Pay payments: v3 `/v3/refund/domestic/refunds` with the refund's id
//! as `out_refund_no`, and `/v3/refund/domestic/refunds/{out_refund_no}` for its outcome.
//!
//! WeChat refunds asynchronously: the request is answered `PROCESSING`, so the refund stays
//! `pending` until WeChat's `REFUND.*` notification (`notify.rs`) or the sweep's query says
//! `SUCCESS` (succeeded) or `CLOSED` (failed, its reservation released). `ABNORMAL` (the
//! money could not reach the payer) stays pending for a person to look at.

use payrail_channels::ChannelError;
use payrail_channels::card_network::RefundStatus as ChannelRefundStatus;
use payrail_channels::wechatpay::{Fen, RefundRequest, RefundStatus};
use payrail_domain::Mode;
use payrail_domain::Money;
use payrail_domain::refund::Refund;
use payrail_store::attempts::StoredAttempt;

use super::WechatPayAccount;
use crate::Payrail;
use crate::channel_retry::retrying_transient;

impl Payrail {
    /// Asks WeChat Pay to refund `refund` of the order `attempt`.
    pub(crate) async fn refund_through_wechatpay(
        &self,
        refund: &Refund,
        attempt: &StoredAttempt,
    ) -> Result<ChannelRefundStatus, ChannelError> {
        let account = self.wechatpay_account_for_refund(refund, attempt).await?;
        let fen = |amount_minor| {
            Fen::parse(Money::new(amount_minor, refund.currency)).map_err(|refused| ChannelError::Rejected {
                status: 400,
                code: "amount_refused".to_owned(),
                message: refused.to_string(),
            })
        };
        let request = RefundRequest {
            out_trade_no: attempt.id.to_string(),
            out_refund_no: refund.id.to_string(),
            reason: None,
            refund: fen(refund.amount_minor)?,
            total: fen(attempt.amount_minor)?,
            notify_url: Some(account.notify_url),
        };
        let answered = retrying_transient(|| account.client.refund(&request)).await?;
        Ok(refund_status(refund, answered.status))
    }

    /// Asks WeChat Pay how `refund` stands; one it never received failed.
    pub(crate) async fn query_wechatpay_refund(
        &self,
        refund: &Refund,
        attempt: &StoredAttempt,
    ) -> Result<ChannelRefundStatus, ChannelError> {
        let account = self.wechatpay_account_for_refund(refund, attempt).await?;
        match account.client.query_refund(refund.id.as_str()).await? {
            Some(found) => Ok(refund_status(refund, found.status)),
            None => Ok(ChannelRefundStatus::Failed { failure_code: "not_received".to_owned() }),
        }
    }

    /// The merchant the payment was charged through. Without one nothing can be sent: the
    /// refund fails and its reservation is released.
    async fn wechatpay_account_for_refund(
        &self,
        refund: &Refund,
        attempt: &StoredAttempt,
    ) -> Result<WechatPayAccount, ChannelError> {
        let mode = if refund.livemode { Mode::Live } else { Mode::Test };
        let account = self.wechatpay_for_attempt(mode, attempt.channel_account_id.as_ref()).await;
        account.map_err(|_| crate::refunds::channel_unavailable())
    }
}

/// WeChat's refund status in Payrail's terms.
pub(crate) fn refund_status(refund: &Refund, status: RefundStatus) -> ChannelRefundStatus {
    match status {
        RefundStatus::Success => ChannelRefundStatus::Succeeded,
        RefundStatus::Closed => ChannelRefundStatus::Failed { failure_code: "CLOSED".to_owned() },
        RefundStatus::Processing => ChannelRefundStatus::Pending,
        RefundStatus::Abnormal => {
            tracing::error!(refund_id = %refund.id, "wechat pay could not pay a refund out (ABNORMAL); it needs a person");
            ChannelRefundStatus::Pending
        }
    }
}
