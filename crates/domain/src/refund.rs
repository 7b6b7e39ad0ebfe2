//! Refunds: money returned to the payer from a captured payment, in full or in part.

use crate::payment::named_enum;
use crate::{Currency, MerchantId, PaymentId, Problem, RefundId, Timestamp};

named_enum!(
    /// `pending` until the channel confirms; the amount is reserved meanwhile, so pending
    /// and succeeded refunds together never exceed what was captured.
    RefundStatus {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
    }
);

named_enum!(
    /// Why the merchant refunds, as the client may say it; `late_success` is Payrail's own
    /// (the payer paid an order after Payrail had given it up) and no client may give it.
    RefundReason {
        Duplicate = "duplicate",
        Fraudulent = "fraudulent",
        RequestedByCustomer = "requested_by_customer",
        LateSuccess = "late_success",
    }
);

impl RefundReason {
    pub fn parse_requested(text: &str) -> Result<RefundReason, Problem> {
        RefundReason::parse(text).filter(|reason| *reason != RefundReason::LateSuccess).ok_or_else(|| {
            let message = "reason must be duplicate, fraudulent or requested_by_customer";
            Problem::invalid_request("parameter_invalid", message).with_param("reason")
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: RefundId,
    pub payment_id: PaymentId,
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub amount_minor: i64,
    pub currency: Currency,
    pub status: RefundStatus,
    pub reason: Option<RefundReason>,
    pub failure_code: Option<String>,
    pub created: Timestamp,
    pub updated: Timestamp,
}
