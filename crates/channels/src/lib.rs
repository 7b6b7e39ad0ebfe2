//! Payrail's channels: each provider's wire protocol in its own module, behind typed
//! results the payment service can branch on.
//!
//! Boundary: this crate knows provider wire formats and HTTP, and nothing of the
//! database or of Payrail's own API. It imports only `payrail-domain`. A channel takes a
//! base URL, so production points it at the provider and the sandbox at the built-in
//! simulator (`payrail-sandbox`), over the same real network boundary.
//!
//! Invariant: every outbound call has a total timeout and a connect timeout, and its
//! failure is classified ([`ChannelError`]) by what it means for the money: certainly not
//! done, or outcome unknown. The provider reference (an attempt or refund id) is the same
//! on every retry, so asking again is always safe.

pub mod alipay;
pub mod card_network;
mod error;
mod transport;
pub mod webhook;
pub mod wechatpay;

pub use error::{ChannelError, ConfigError};
