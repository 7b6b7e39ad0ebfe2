//! The card channel client against the card network simulator served on a real
//! `127.0.0.1` socket, as production reaches a real acquirer: every test card, the
//! payment lifecycle, and what each kind of network failure is reported as. The WeChat Pay
//! client against the WeChat Pay simulator the same way.

#![allow(clippy::unwrap_used)]

mod authorize;
mod failures;
mod helpers;
mod lifecycle;
mod webhook_addresses;
mod webhook_delivery;
mod wechatpay;
