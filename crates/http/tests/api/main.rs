//! The HTTP API driven through the real router, on a fresh database per test, on every
//! configured engine (see `payrail-testkit`).

#![allow(clippy::unwrap_used)]

mod account;
mod alipay;
mod alipay_barcode;
mod alipay_notifications;
mod api_keys;
mod auth;
mod balance;
mod channel_accounts;
mod coupons;
mod fees;
mod helpers;
mod idempotency;
mod notifications;
mod operations;
mod payments;
mod receiver;
mod refunds;
mod sweeps;
mod webhook_endpoints;
mod webhooks;
mod wechatpay;
mod wechatpay_barcode;
mod wechatpay_browser;
mod wechatpay_notifications;
