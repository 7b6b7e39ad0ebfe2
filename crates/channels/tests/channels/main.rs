//! The card channel client against the card network simulator served on a real
//! `127.0.0.1` socket, as production reaches a real acquirer: every test card, the
//! payment lifecycle, and what each kind of network failure is reported as. The Alipay
//! client against the Alipay simulator (`alipay_*`) and the WeChat Pay client against the
//! WeChat Pay simulator (`wechatpay`) the same way.

#![allow(clippy::unwrap_used)]

mod alipay_failures;
mod alipay_flows;
mod alipay_helpers;
mod authorize;
mod failures;
mod helpers;
mod lifecycle;
mod webhook_addresses;
mod webhook_delivery;
mod wechatpay;
