//! The WeChat Pay client against the WeChat Pay simulator on a real socket: orders, the
//! buyer page, notifications, refunds, payment-code pay, reverse over mutual TLS, and what forged, stale or
//! misaddressed answers and notifications are reported as.

mod helpers;
mod micropay;
mod notifications;
mod orders;
mod refusals;
mod secapi;
