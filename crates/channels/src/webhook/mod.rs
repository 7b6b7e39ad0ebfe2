//! Outbound webhooks on the wire: which addresses a merchant's URL may reach, and sending
//! one signed delivery attempt there. Signing, the outbox and retries live in the service.
//!
//! Boundary: this module knows URLs, DNS, addresses and HTTP, and nothing of events,
//! endpoints or the database. The service checks a URL with [`check_url`] when an
//! endpoint is created and again before every attempt, and hands the [`CheckedTarget`] to
//! [`WebhookSender::send`], which connects only to the addresses that were checked.

mod address;
mod sender;
mod target;

pub use address::{AddressPolicy, Forbidden, Network, NetworkParseError, classify};
pub use sender::{DeliveryResult, SNIPPET_BYTES_MAX, SenderConfig, SenderConfigError, TIMEOUT_MS_MAX, WebhookSender};
pub use target::{CheckedTarget, URL_BYTES_MAX, UrlRefused, check_url};
