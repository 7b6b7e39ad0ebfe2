//! Simulated providers for Payrail's sandbox mode.
//!
//! Each simulator is an axum [`Router`](axum::Router) that Payrail's server mounts under a
//! prefix in sandbox mode, and that can also be served alone. Channels reach a simulator
//! only over HTTP, exactly as they reach the real provider, so the sandbox exercises the
//! same network boundary (timeouts, retries, idempotent references) as production.
//!
//! Boundary: nothing here is used on the money path of a live payment. State is kept in
//! memory, bounded, and lost on restart.

pub mod alipay;
pub mod card_network;
mod page;
pub mod wechatpay;

pub use alipay::{AlipayCredentials, AlipaySandbox, alipay_router};
pub use card_network::{CardNetwork, card_network_router};
pub use wechatpay::{KeptKeys, KeptMerchant, WechatPay, WechatPayCredentials, wechatpay_router};
