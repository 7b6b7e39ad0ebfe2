//! How this instance delivers webhooks: which addresses each mode may reach, the retry
//! schedule, and the sender's limits. Set by the operator; see `payrail config show`.

use payrail_channels::webhook::{AddressPolicy, Network, SenderConfig, SenderConfigError, WebhookSender};
use payrail_domain::Mode;
use payrail_domain::webhook::RetrySchedule;

/// The operator's choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookOptions {
    /// Whether test mode may deliver to loopback (a developer's own machine). The embedded
    /// default allows it; live mode never does.
    pub test_allows_loopback: bool,
    /// Private networks the operator allows deliveries to reach, in both modes.
    pub allowed_networks: Vec<Network>,
    pub schedule: RetrySchedule,
    pub sender: SenderConfig,
}

impl Default for WebhookOptions {
    fn default() -> WebhookOptions {
        WebhookOptions {
            test_allows_loopback: true,
            allowed_networks: Vec::new(),
            schedule: RetrySchedule::default(),
            sender: SenderConfig::default(),
        }
    }
}

/// The options, ready to use.
#[derive(Clone)]
pub(crate) struct Webhooks {
    pub options: WebhookOptions,
    pub sender: WebhookSender,
}

impl Webhooks {
    pub fn new(options: WebhookOptions) -> Result<Webhooks, SenderConfigError> {
        Ok(Webhooks { sender: WebhookSender::new(options.sender)?, options })
    }

    /// Which addresses deliveries in `mode` may reach.
    pub fn policy(&self, mode: Mode) -> AddressPolicy {
        AddressPolicy {
            allow_loopback: mode == Mode::Test && self.options.test_allows_loopback,
            allowed_networks: self.options.allowed_networks.clone(),
        }
    }
}
