//! The card network simulator driven through its router, mounted under a prefix as
//! Payrail's server mounts it, without a socket; and the WeChat Pay simulator checked by
//! the providers' own SDKs over a real socket.

#![allow(clippy::unwrap_used)]

mod authorizations;
mod challenge;
mod helpers;
mod lifecycle;
mod notifications;
mod requests;
mod wechatpay;
mod wechatpay_interop;
