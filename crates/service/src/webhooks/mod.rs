//! Outbound notifications: the endpoints merchants register, the secrets that sign what
//! Payrail sends them, and delivery.

pub(crate) mod dispatch;
pub(crate) mod endpoint_health;
pub(crate) mod endpoints;
pub(crate) mod log;
pub(crate) mod notification_secret;
pub(crate) mod options;

use payrail_channels::webhook::{UrlRefused, check_url};
use payrail_domain::payment_record::WebUrl;
use payrail_domain::{Mode, Problem};

use crate::{Payrail, ServiceError};

impl Payrail {
    /// Refuses a URL deliveries in `mode` may not reach. A host that does not resolve now
    /// is accepted: it is checked again before every attempt.
    pub(crate) async fn check_delivery_url(
        &self,
        url: &WebUrl,
        mode: Mode,
        param: &'static str,
    ) -> Result<(), ServiceError> {
        match check_url(url.as_str(), &self.webhooks.policy(mode)).await {
            Ok(_) | Err(UrlRefused::Unresolvable) => Ok(()),
            Err(refused) => Err(Problem::invalid_request(refused.code(), refused.to_string()).with_param(param).into()),
        }
    }
}
pub(crate) mod secrets;

/// How often an idle dispatcher looks for due deliveries: the most a new delivery waits
/// before its first attempt. An empty look is one indexed query.
pub const DISPATCH_POLL_MS: u64 = 100;

impl Payrail {
    /// Delivers webhooks until `stop` turns true: claims what is due, and waits a little
    /// only when nothing was. Deliveries in hand are finished before it returns.
    pub async fn run_webhook_dispatcher(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let claimed = match self.dispatch_webhooks(dispatch::DISPATCH_BATCH_MAX).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(error = %error, "webhook dispatch failed; trying again shortly");
                    0
                }
            };
            if claimed > 0 {
                continue;
            }
            tokio::select! {
                _ = stop.changed() => {}
                () = tokio::time::sleep(std::time::Duration::from_millis(DISPATCH_POLL_MS)) => {}
            }
        }
    }
}
