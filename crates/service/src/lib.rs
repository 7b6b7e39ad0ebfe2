//! Payrail's use cases, each written once: HTTP handlers, background workers and the
//! CLI call these and re-implement none of them.
//!
//! Boundary: this crate decides transaction boundaries and holds the server keys. It
//! reaches the database only through `payrail-store` and knows nothing of HTTP.

mod alipay;
mod api_keys;
mod attempt_lookup;
mod balance;
mod balance_transactions;
mod bootstrap;
mod channel_accounts;
mod channel_retry;
mod clock;
mod confirm;
mod error;
mod events;
mod fees;
mod idempotency;
mod idempotency_sealing;
pub mod jobs;
mod keyring;
mod late_success;
mod merchants;
mod notifications;
mod objects;
mod outcome;
mod paid_notifications;
mod passwords;
mod payment_codes;
mod payment_methods;
mod payments;
mod policy;
mod random;
mod refunds;
mod sealed_settings;
mod sweeps;
mod verify;
pub mod webhook_signature;
mod webhooks;
mod wechatpay;

use std::sync::Arc;

use payrail_channels::alipay::AlipayClient;
use payrail_channels::card_network::CardNetworkClient;
use payrail_channels::wechatpay::WechatPayClient;
use payrail_domain::{Clock, Mode, RequestId};
use payrail_store::{Store, settings};

pub use alipay::ALIPAY_CHANNEL;
pub use api_keys::{Caller, CreatedApiKey};
pub use balance::Balance;
pub use balance_transactions::{
    BALANCE_TRANSACTION_LIST_LIMIT_MAX, BalanceTransaction, BalanceTransactionPage, balance_transaction_filter,
    balance_transaction_object,
};
pub use bootstrap::{Bootstrapped, DEMO_MERCHANT_NAME, OPERATOR_EMAIL};
pub use channel_accounts::routing::channel_route_object;
pub use channel_accounts::sandbox::{SandboxAccountFields, SandboxChannels, SandboxRegistration};
pub use channel_accounts::{CHANNEL_ACCOUNT_LIST_LIMIT_MAX, ChannelAccountInput, channel_account_object};
pub use clock::{ManualClock, SystemClock};
pub use error::ServiceError;
pub use events::EVENT_LIST_LIMIT_MAX;
pub use idempotency::{IdempotencyClaim, IdempotentRequest, request_fingerprint};
pub use keyring::{KeyFileError, ServerKeys};
pub use notifications::Acknowledgement;
pub use objects::{error_object, event_object, payment_object, refund_object};
pub use payment_codes::{DEFAULT_PAYER_WAIT_MS, PAYER_WAIT_MS_MAX};
pub use payments::{CardInput, NewPayment, PAYMENT_LIST_LIMIT_MAX, PaymentMethodInput, PaymentPage};
pub use payrail_store::balance_transactions::{EntryCursor, EntryFilter};
pub use payrail_store::deliveries::DeliveryView;
pub use payrail_store::fee_schedules::FeeCurrency;
pub use payrail_store::payments::{Cursor, PaymentFilter};
pub use policy::{DEFAULT_FEE_BASIS_POINTS, DEFAULT_FEE_FIXED_MINOR, LateSuccessPolicy, Policy};
pub use refunds::REFUND_LIST_LIMIT_MAX;
pub use sweeps::{AUTHORIZATION_HOLD_MS, SweepReport};
pub use verify::{LedgerReport, VIOLATIONS_LISTED_MAX, Violation, verify_ledger};
pub use webhooks::DISPATCH_POLL_MS;
pub use webhooks::endpoints::{ENDPOINT_LIST_LIMIT_MAX, EndpointInput, EndpointWithSecret, webhook_endpoint_object};
pub use webhooks::log::delivery_object;
pub use webhooks::notification_secret::{NotificationSecretView, notification_secret_object};
pub use webhooks::options::WebhookOptions;
pub use wechatpay::WECHATPAY_CHANNEL;

/// The service: every use case is a method on it. Cheap to clone.
#[derive(Clone)]
pub struct Payrail {
    store: Store,
    clock: Arc<dyn Clock>,
    keys: Arc<ServerKeys>,
    channels: Arc<Channels>,
    policy: Arc<Policy>,
    webhooks: Arc<webhooks::options::Webhooks>,
    public_base_url: Arc<str>,
    /// How long a payment-code request waits for the payer to confirm.
    payer_wait_ms: u64,
    /// Clients of merchants' channel accounts, built once per version of the account.
    account_clients: Arc<channel_accounts::routing::ClientCache>,
}

/// A random 256-bit token in hex, for secrets Payrail makes for itself (the sandbox
/// acquirer's API key, say).
pub fn random_token() -> String {
    random::hex(&random::random_bytes::<32>())
}

/// The channels each mode charges through. Test and live never share one.
#[derive(Default, Clone)]
struct Channels {
    card_network_test: Option<CardNetworkClient>,
    card_network_live: Option<CardNetworkClient>,
    alipay_test: Option<alipay::AlipayAccount>,
    alipay_live: Option<alipay::AlipayAccount>,
    wechatpay_test: Option<wechatpay::WechatPayAccount>,
    wechatpay_live: Option<wechatpay::WechatPayAccount>,
    /// Makes each merchant's own test-mode accounts at the sandbox simulators.
    sandbox: Option<Arc<dyn channel_accounts::sandbox::SandboxChannels>>,
}

impl Channels {
    fn card_network(&self, mode: Mode) -> Option<&CardNetworkClient> {
        match mode {
            Mode::Test => self.card_network_test.as_ref(),
            Mode::Live => self.card_network_live.as_ref(),
        }
    }
}

impl Payrail {
    /// Wraps an opened, migrated store. Call [`Payrail::verify_server_keys`] before serving.
    pub fn new(store: Store, clock: Arc<dyn Clock>, keys: ServerKeys) -> Payrail {
        Payrail {
            store,
            clock,
            keys: Arc::new(keys),
            channels: Arc::new(Channels::default()),
            policy: Arc::new(Policy::default()),
            webhooks: Arc::new(
                webhooks::options::Webhooks::new(WebhookOptions::default())
                    .unwrap_or_else(|_| unreachable!("the default webhook options are valid")),
            ),
            public_base_url: Arc::from("http://127.0.0.1:8080"),
            payer_wait_ms: payment_codes::DEFAULT_PAYER_WAIT_MS,
            account_clients: Arc::default(),
        }
    }

    /// Routes `mode`'s card payments to the acquirer behind `client`.
    pub fn with_card_network(mut self, mode: Mode, client: CardNetworkClient) -> Payrail {
        let mut channels = Channels::clone(&self.channels);
        match mode {
            Mode::Test => channels.card_network_test = Some(client),
            Mode::Live => channels.card_network_live = Some(client),
        }
        self.channels = Arc::new(channels);
        self
    }

    /// Routes `mode`'s Alipay payments to the app behind `client`. Alipay is told to send
    /// its notifications to `notify_url` (this server's `/notify/alipay/{mode}`).
    pub fn with_alipay(mut self, mode: Mode, client: AlipayClient, notify_url: &str) -> Payrail {
        let mut channels = Channels::clone(&self.channels);
        let account = alipay::AlipayAccount { client, notify_url: notify_url.to_owned(), account_id: None };
        match mode {
            Mode::Test => channels.alipay_test = Some(account),
            Mode::Live => channels.alipay_live = Some(account),
        }
        self.channels = Arc::new(channels);
        self
    }

    /// Routes `mode`'s WeChat Pay payments to the merchant account behind `client`. WeChat
    /// Pay is told to send its notifications to `notify_url` (this server's
    /// `/notify/wechatpay/{mode}`).
    pub fn with_wechatpay(mut self, mode: Mode, client: WechatPayClient, notify_url: &str) -> Payrail {
        let mut channels = Channels::clone(&self.channels);
        let account = wechatpay::WechatPayAccount { client, notify_url: notify_url.to_owned(), account_id: None };
        match mode {
            Mode::Test => channels.wechatpay_test = Some(account),
            Mode::Live => channels.wechatpay_live = Some(account),
        }
        self.channels = Arc::new(channels);
        self
    }

    /// How long a payment-code request (`alipay_barcode`, `wechat_barcode`) waits for the
    /// payer to confirm on their phone before it answers `processing` (the sweep then goes
    /// on asking).
    pub fn with_payer_wait_ms(mut self, wait_ms: u64) -> Payrail {
        self.payer_wait_ms = wait_ms;
        self
    }

    /// The operator's fees and limits for every merchant.
    pub fn with_policy(mut self, policy: Policy) -> Payrail {
        self.policy = Arc::new(policy);
        self
    }

    /// How webhooks are delivered: address policy, retry schedule, sender limits.
    pub fn with_webhook_options(
        mut self,
        options: WebhookOptions,
    ) -> Result<Payrail, payrail_channels::webhook::SenderConfigError> {
        self.webhooks = Arc::new(webhooks::options::Webhooks::new(options)?);
        Ok(self)
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Where payers' browsers reach this server (for 3-D Secure returns).
    pub fn with_public_base_url(mut self, url: &str) -> Payrail {
        self.public_base_url = Arc::from(url.trim_end_matches('/'));
        self
    }

    pub(crate) fn public_base_url(&self) -> &str {
        &self.public_base_url
    }

    /// What marks the sandbox, which live channel accounts must not reach: this server's
    /// `/sandbox/` paths, and the addresses and keys of the platform's test-mode accounts.
    pub(crate) fn sandbox_marks(&self) -> Vec<channel_accounts::SandboxMark> {
        let mut marks = vec![channel_accounts::SandboxMark {
            url_prefix: format!("{}/sandbox/", self.public_base_url),
            provider_key_pem: String::new(),
        }];
        if let Some(alipay) = &self.channels.alipay_test {
            marks.push(channel_accounts::SandboxMark {
                url_prefix: alipay.client.gateway_url().to_owned(),
                provider_key_pem: alipay.client.alipay_public_key_pem(),
            });
        }
        if let Some(wechatpay) = &self.channels.wechatpay_test {
            marks.push(channel_accounts::SandboxMark {
                url_prefix: wechatpay.client.base_url().to_owned(),
                provider_key_pem: wechatpay.client.platform_public_key_pem(),
            });
        }
        marks
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// A fresh id for an incoming request.
    pub fn new_request_id(&self) -> RequestId {
        {
            let now = self.clock.now();
            RequestId::generate(now, random::id_random(now))
        }
    }

    /// Whether the database answers; what `/readyz` reports.
    pub async fn database_is_reachable(&self) -> bool {
        self.store.ping().await.is_ok()
    }

    /// Makes sure every instance sharing this database holds the same server keys.
    ///
    /// The first instance records a check value derived from its keys; every later one
    /// compares. An instance with other keys would hash API secrets differently (so no key
    /// would authenticate) and could not decrypt stored secrets, so it must not start.
    pub async fn verify_server_keys(&self) -> Result<(), ServiceError> {
        let expected = self.keys.check_value();
        let (candidate, now) = (expected.clone(), self.clock.now());
        let recorded = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    settings::insert_if_absent(tx.conn(), "server_key_check", &candidate, now).await?;
                    settings::get(tx.conn(), "server_key_check").await
                })
            })
            .await?;
        if recorded.as_deref() == Some(expected.as_str()) {
            Ok(())
        } else {
            Err(ServiceError::Unexpected(anyhow::anyhow!(
                "the server key does not match the one this database was set up with; every \
                 instance sharing a database must be given the same key file (PAYRAIL_KEY_FILE) \
                 or key (PAYRAIL_SERVER_KEY)"
            )))
        }
    }
}
