//! Notifications from channels: a provider telling Payrail about a result that came later
//! than the answer to Payrail's request (today, the card network's `refund.settled`).
//!
//! Alipay's notifications are in `alipay/notify.rs`; they are answered `success`. WeChat
//! Pay's are in `wechatpay/notify.rs`; they are answered 204.
//!
//! A notification arrives at `/notify/{channel}/{account}`. The account names Payrail's
//! account with that channel, whose secret checks the signature. There is one card network
//! account per mode today, so the card network's accounts are named after the modes,
//! `test` and `live`; an account configured without a notification secret receives
//! nothing, as nothing it received could be checked.
//!
//! Invariant: the signature is checked first, before the body is read and before anything
//! is looked up; a refused notification changes nothing.
//!
//! Invariant: a notification is applied once. Its id is claimed (`inbound_notifications`)
//! in the write unit that applies it, so a redelivery finds the claim and changes nothing,
//! and a crash leaves neither or both. Applying it is itself idempotent: a refund is
//! settled only while it is `pending`, so a notification arriving after the sweep already
//! learned the outcome, or one reporting the opposite of what is recorded (out of order,
//! or a confused network), moves nothing; the second case is logged for a person to look.
//!
//! Invariant: a notification moves only what belongs to the account it was posted to. A
//! refund of the other mode, or a reference Payrail never issued, is acknowledged (so the
//! network stops resending what will never apply) and changes nothing; both are answered
//! alike, so the answer does not tell which references exist.

use payrail_channels::card_network::{
    HeaderMap, NOTIFICATION_TOLERANCE_SECONDS, NotificationEvent, NotificationRefused,
    RefundStatus as NetworkRefundStatus, verify_notification,
};
use payrail_domain::refund::RefundStatus;
use payrail_domain::{Mode, Problem, RefundId, Secret};
use payrail_store::inbound_notifications::{self, InboundNotification};
use payrail_store::refunds;

use payrail_channels::alipay::NOTIFICATION_ACKNOWLEDGEMENT;

use crate::alipay::ALIPAY_CHANNEL;
use crate::refunds::{Settled, settle_refund};
use crate::wechatpay::WECHATPAY_CHANNEL;
use crate::{Payrail, ServiceError};

/// The card network's name in notification paths.
pub const CARD_NETWORK_CHANNEL: &str = "card_network";

/// How a taken notification is answered: as its channel expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acknowledgement {
    /// HTTP 204 (the card network).
    NoContent,
    /// HTTP 200 with exactly this body (Alipay's `success`).
    Text(&'static str),
}

/// What became of an accepted notification; all are acknowledged alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applied {
    /// It moved a pending refund to its final status.
    Settled,
    /// It was received before; this delivery changed nothing.
    Duplicate,
    /// The refund had already ended (as `recorded`); nothing moved.
    AlreadyFinal { recorded: RefundStatus },
    /// No refund of this account's mode has that reference; nothing moved.
    NotThisAccount,
}

impl Applied {
    fn as_str(self) -> &'static str {
        match self {
            Applied::Settled => "settled",
            Applied::Duplicate => "duplicate",
            Applied::AlreadyFinal { .. } => "already_final",
            Applied::NotThisAccount => "not_this_account",
        }
    }
}

impl Payrail {
    /// Accepts a notification posted to `/notify/{channel}/{account}`: `Ok` means it is
    /// acknowledged (applied now, or before, or about nothing this account holds).
    pub async fn accept_notification(
        &self,
        channel: &str,
        account: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Acknowledgement, ServiceError> {
        match channel {
            CARD_NETWORK_CHANNEL => {
                self.accept_card_network_notification(account, headers, body).await?;
                Ok(Acknowledgement::NoContent)
            }
            ALIPAY_CHANNEL => {
                self.accept_alipay_notification(account, body).await?;
                Ok(Acknowledgement::Text(NOTIFICATION_ACKNOWLEDGEMENT))
            }
            WECHATPAY_CHANNEL => {
                self.accept_wechatpay_notification(account, headers, body).await?;
                Ok(Acknowledgement::NoContent)
            }
            _ => Err(Problem::invalid_request("notification_channel_unknown", "no channel notifies at this path")
                .with_status(404)
                .into()),
        }
    }

    /// Accepts a card network notification posted for `account` (`test` or `live`): checks
    /// it with that account's secret, then applies it once.
    pub async fn accept_card_network_notification(
        &self,
        account: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), ServiceError> {
        let (mode, secret) = self.card_network_account(account)?;
        let notification = verify_notification(headers, body, secret, self.clock.now(), NOTIFICATION_TOLERANCE_SECONDS)
            .map_err(|refused| {
                tracing::info!(channel = CARD_NETWORK_CHANNEL, account, code = refused.code(), "notification refused");
                refusal(refused)
            })?;
        let NotificationEvent::RefundSettled { reference, status } = &notification.event;
        let claim = Claim {
            account: mode.as_str(),
            notification_id: notification.id.clone(),
            notification_type: notification.event.type_name(),
        };
        let applied = self.apply_refund_settled(claim, mode, reference.clone(), status.clone()).await?;
        let (notification_id, outcome) = (notification.id.as_str(), applied.as_str());
        match applied {
            Applied::AlreadyFinal { recorded } if !reported_matches(status, recorded) => tracing::warn!(
                channel = CARD_NETWORK_CHANNEL, account, notification_id, refund_id = %reference, outcome,
                recorded = recorded.as_str(),
                "the card network reports a refund outcome other than the one recorded; nothing was changed"
            ),
            _ => tracing::info!(
                channel = CARD_NETWORK_CHANNEL, account, notification_id, refund_id = %reference, outcome,
                "notification accepted"
            ),
        }
        Ok(())
    }

    /// The mode and notification secret of the card network account named `account`.
    fn card_network_account(&self, account: &str) -> Result<(Mode, &Secret<String>), ServiceError> {
        let mode = match account {
            "test" => Some(Mode::Test),
            "live" => Some(Mode::Live),
            _ => None,
        };
        mode.and_then(|mode| Some((mode, self.channels.card_network(mode)?.notification_secret()?))).ok_or_else(|| {
            let message = "no account with this channel receives notifications at this path";
            Problem::invalid_request("notification_account_unknown", message).with_status(404).into()
        })
    }

    /// Claims the notification and settles the refund, in one write unit.
    async fn apply_refund_settled(
        &self,
        claim: Claim,
        mode: Mode,
        reference: RefundId,
        reported: NetworkRefundStatus,
    ) -> Result<Applied, ServiceError> {
        let (now, returns_fee) = (self.clock.now(), self.policy.refund_returns_fee());
        let (status, failure_code) = match reported {
            NetworkRefundStatus::Succeeded => (RefundStatus::Succeeded, None),
            NetworkRefundStatus::Failed { failure_code } => (RefundStatus::Failed, Some(failure_code)),
            // The channel's parser never gives a pending settlement.
            NetworkRefundStatus::Pending => return Err(anyhow::anyhow!("a settlement reported as pending").into()),
        };
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let inbound = InboundNotification {
                        channel: CARD_NETWORK_CHANNEL,
                        account: claim.account,
                        notification_id: &claim.notification_id,
                        notification_type: claim.notification_type,
                        reference: reference.as_str(),
                    };
                    if !inbound_notifications::claim(tx.conn(), &inbound, now).await? {
                        return Ok(Applied::Duplicate);
                    }
                    let refund = refunds::get(tx.conn(), &reference).await?;
                    let Some(refund) = refund.filter(|refund| refund.livemode == mode.is_live()) else {
                        return Ok(Applied::NotThisAccount);
                    };
                    if refund.status != RefundStatus::Pending {
                        return Ok(Applied::AlreadyFinal { recorded: refund.status });
                    }
                    // Settles only while still pending (a conditional update), so a sweep
                    // settling the same refund concurrently cannot make it settle twice.
                    let settled = Settled { status, failure_code: failure_code.as_deref(), returns_fee };
                    settle_refund(tx, &reference, settled, now).await?;
                    Ok::<_, ServiceError>(Applied::Settled)
                })
            })
            .await
    }
}

/// What identifies a notification in `inbound_notifications`, owned for the write unit.
struct Claim {
    account: &'static str,
    notification_id: String,
    notification_type: &'static str,
}

fn reported_matches(reported: &NetworkRefundStatus, recorded: RefundStatus) -> bool {
    matches!(
        (reported, recorded),
        (NetworkRefundStatus::Succeeded, RefundStatus::Succeeded)
            | (NetworkRefundStatus::Failed { .. }, RefundStatus::Failed)
    )
}

/// 400 with a short reason; never anything of the body.
fn refusal(refused: NotificationRefused) -> ServiceError {
    let code = match refused {
        NotificationRefused::SignatureMissing
        | NotificationRefused::SignatureMalformed
        | NotificationRefused::SignatureMismatch => "notification_signature_invalid",
        NotificationRefused::TimestampOutsideTolerance => "notification_timestamp_outside_tolerance",
        NotificationRefused::BodyMalformed => "notification_malformed",
        NotificationRefused::TypeUnknown => "notification_type_unknown",
    };
    Problem::invalid_request(code, refused.to_string()).into()
}
