//! Payrail's pure core: money, currencies, ids, time, secrets, merchants, API keys and
//! the errors a client can see.
//!
//! Boundary: nothing here does IO. No SQL, no HTTP, no async, no reading of the system
//! clock or of a random source: callers pass time and randomness in, so every rule here
//! is testable without a runtime.

pub mod api_key;
pub mod card;
pub mod channel_account;
pub mod clock;
pub mod decimal;
pub mod fees;
pub mod id;
pub mod idempotency;
pub mod ledger;
pub mod merchant;
pub mod money;
pub mod payment;
pub mod payment_amounts;
pub mod payment_record;
pub mod problem;
pub mod refund;
pub mod secret;
pub mod webhook;

pub use api_key::{ApiKey, ApiKeySecret, Mode};
pub use clock::{Clock, Timestamp};
pub use id::{
    ApiKeyId, AttemptId, ChannelAccountId, DeliveryId, EventId, JobId, JournalEntryId, MerchantId, OperatorId,
    PaymentId, RefundId, RequestId, WebhookEndpointId,
};
pub use merchant::{Merchant, MerchantName, MerchantStatus};
pub use money::{Currency, Money, MoneyError};
pub use problem::{ErrorType, Problem};
pub use secret::Secret;
