//! A WeChat Pay merchant API simulator: v3 JSON (native, JSAPI and H5 orders, query,
//! close, refunds) and v2 XML payment-code pay, with its own keys, signed answers, signed
//! and encrypted notifications, and a buyer page. Unmodified SDKs (`wechatpayv3` in
//! public-key mode, `wechatpay-axios-plugin`) work against it; see `interop/wechatpay/`.
//!
//! Routes, relative to wherever the router is mounted (Payrail mounts it at
//! `/sandbox/wechatpay`, which is then the base URL in place of
//! `https://api.mch.weixin.qq.com`):
//!
//! - `POST /v3/pay/transactions/native` → `{"code_url":"weixin://wxpay/bizpayurl?pr=<token>"}`;
//!   `POST /v3/pay/transactions/jsapi` → `{"prepay_id"}`; `POST /v3/pay/transactions/h5` →
//!   `{"h5_url"}`; `GET /v3/pay/transactions/out-trade-no/{no}?mchid=…` and
//!   `GET /v3/pay/transactions/id/{transaction_id}?mchid=…`;
//!   `POST /v3/pay/transactions/out-trade-no/{no}/close` → 204; `POST /v3/refund/domestic/refunds`;
//!   `GET /v3/refund/domestic/refunds/{out_refund_no}`. Each checked and signed by [`gate`].
//! - `POST /pay/micropay`, `POST /pay/orderquery`: v2 XML with an MD5 (WeChat's default) or
//!   HMAC-SHA256 `sign`, the answer signed the same way (see [`micropay`] for the test
//!   payment codes).
//! - `POST /secapi/pay/reverse`, `POST /secapi/pay/refund`: not on this router. As at WeChat, `/secapi/…` needs the
//!   merchant's API client certificate, so it is served by a separate mutual-TLS listener,
//!   [`WechatPay::serve_secapi`]; see [`secapi`].
//! - `GET /buyer/{token}`, `POST /buyer/{token}/pay`, `POST /buyer/{token}/decline`: the
//!   payer's side. From a native order's `code_url`, take the `pr` value and open
//!   `{base}/buyer/{pr}`; a JSAPI order's page is `{base}/buyer/{prepay_id}`, an H5 order's
//!   `h5_url` is its page. Paying moves the trade to `SUCCESS` and notifies `notify_url`.
//!
//! Notifications follow WeChat's protocol and retry schedule; see [`notify`].
//!
//! Each merchant gets an API client certificate from the simulator's own CA
//! ([`WechatPayCredentials::merchant_certificate_pem`], its key being
//! `merchant_private_key_pem`); [`WechatPay::ca_certificate_pem`] is what a client trusts
//! for the secapi listener.
//!
//! How `payrail serve` starts the simulator: mount [`wechatpay_router`] under
//! `/sandbox/wechatpay` on the main listener, then, before handing out credentials, call
//! `simulator.serve_secapi(address).await` once with the secapi address (for instance the
//! main port plus one, on the same interface) and keep the returned `JoinHandle` with the
//! server's other tasks (abort it on shutdown). From then on every merchant's credentials
//! carry `secapi_base_url`, the address channel clients must use for `/secapi/…` along
//! with `ca_certificate_pem` as the CA to trust.
//!
//! Boundary: state is in memory, bounded by [`WechatPay::OBJECTS_MAX`], lost on restart;
//! so are the CA and the certificates.

mod book;
mod buyer;
mod certificates;
mod error;
mod gate;
mod merchants;
pub mod micropay;
pub mod notify;
mod objects;
mod random;
pub mod secapi;
mod v3;
mod xml;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use payrail_crypto::CryptoError;
use payrail_crypto::rsa::RsaPrivateKey;
use payrail_domain::{Clock, Secret, Timestamp};

use book::Book;
use certificates::Authority;
use merchants::{Merchant, MerchantError, Platform, Secapi};
use notify::Notifier;

pub use book::COUPON_FEN;
pub use merchants::{KeptKeys, KeptMerchant, WechatPayCredentials};
pub use micropay::{
    CODE_AUTH_CODE_EXPIRED, CODE_IMMEDIATE_SUCCESS, CODE_NOT_ENOUGH, CODE_USER_PAYING_FOREVER,
    CODE_USER_PAYING_THEN_SUCCESS,
};
pub use notify::{NOTIFY_RETRY_SCHEDULE_SECONDS, SentNotification};

/// Largest request body read; WeChat's requests are a few hundred bytes.
pub(crate) const BODY_BYTES_MAX: usize = 64 * 1024;
/// Most merchants one simulator holds.
const MERCHANTS_MAX: usize = 10_000;

/// The simulator. Cloning is cheap and every clone shares the same memory.
#[derive(Clone)]
pub struct WechatPay {
    shared: Arc<Shared>,
}

struct Shared {
    public_base_url: String,
    clock: Arc<dyn Clock>,
    platform: Platform,
    authority: Authority,
    /// Set once by [`WechatPay::serve_secapi`].
    secapi_base_url: Mutex<Option<String>>,
    merchants: Mutex<Vec<Merchant>>,
    /// Where notifications may go; empty means anywhere (see
    /// [`WechatPay::allow_notify_urls_starting_with`]).
    notify_url_prefixes: Mutex<Vec<String>>,
    book: Mutex<Book>,
    notifier: Arc<Notifier>,
}

/// Why the simulator could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WechatPaySetupError {
    #[error("key generation failed: {0}")]
    Keys(#[from] CryptoError),
    #[error("the simulator already holds {MERCHANTS_MAX} merchants")]
    TooManyMerchants,
    #[error("the notification client could not be built: {0}")]
    Client(String),
    #[error(transparent)]
    Certificate(#[from] certificates::CertificateError),
}

impl From<MerchantError> for WechatPaySetupError {
    fn from(error: MerchantError) -> WechatPaySetupError {
        match error {
            MerchantError::Keys(error) => WechatPaySetupError::Keys(error),
            MerchantError::Certificate(error) => WechatPaySetupError::Certificate(error),
        }
    }
}

impl WechatPay {
    /// How many trades (and, separately, refunds) are kept before new ones are refused.
    pub const OBJECTS_MAX: usize = 1_000_000;

    /// A simulator with fresh platform keys and no merchant yet, reachable (as browsers and
    /// SDKs see it) at `public_base_url`, such as `https://payrail.example/sandbox/wechatpay`.
    pub fn new(public_base_url: &str, clock: Arc<dyn Clock>) -> Result<WechatPay, WechatPaySetupError> {
        WechatPay::with_limits(public_base_url, clock, WechatPay::OBJECTS_MAX, 1)
    }

    /// As [`WechatPay::new`], keeping at most `objects_max` trades and refunds, and waiting
    /// `1/time_divisor` of WeChat's notification retry delays (tests compress 15 s to 15 ms
    /// with 1000).
    pub fn with_limits(
        public_base_url: &str,
        clock: Arc<dyn Clock>,
        objects_max: usize,
        time_divisor: u64,
    ) -> Result<WechatPay, WechatPaySetupError> {
        WechatPay::with_platform(public_base_url, clock, Platform::generate()?, objects_max, time_divisor)
    }

    /// As [`WechatPay::with_limits`], signing with the platform key a previous run kept
    /// ([`WechatPay::kept_keys`]), so credentials handed out before a restart still verify.
    pub fn with_kept_platform_key(
        public_base_url: &str,
        clock: Arc<dyn Clock>,
        kept: &KeptKeys,
        objects_max: usize,
        time_divisor: u64,
    ) -> Result<WechatPay, WechatPaySetupError> {
        let platform = Platform::from_key(
            RsaPrivateKey::from_pem(kept.platform_private_key_pem.expose())?,
            &kept.platform_key_id,
        )?;
        WechatPay::with_platform(public_base_url, clock, platform, objects_max, time_divisor)
    }

    fn with_platform(
        public_base_url: &str,
        clock: Arc<dyn Clock>,
        platform: Platform,
        objects_max: usize,
        time_divisor: u64,
    ) -> Result<WechatPay, WechatPaySetupError> {
        let notifier = Notifier::new(time_divisor).map_err(WechatPaySetupError::Client)?;
        let shared = Shared {
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            clock,
            platform,
            authority: Authority::generate()?,
            secapi_base_url: Mutex::new(None),
            merchants: Mutex::new(Vec::new()),
            notify_url_prefixes: Mutex::new(Vec::new()),
            book: Mutex::new(Book::new(objects_max)),
            notifier: Arc::new(notifier),
        };
        Ok(WechatPay { shared: Arc::new(shared) })
    }

    /// From now on, orders and refunds whose `notify_url` does not start with one of the
    /// prefixes given are refused (`PARAM_ERROR`), so that a simulator others can reach
    /// (`payrail serve`'s) cannot be made to post to arbitrary addresses.
    pub fn allow_notify_urls_starting_with(&self, prefix: &str) {
        lock(&self.shared.notify_url_prefixes).push(prefix.to_owned());
    }

    pub(crate) fn notify_url_allowed(&self, url: &str) -> bool {
        let prefixes = lock(&self.shared.notify_url_prefixes);
        prefixes.is_empty() || prefixes.iter().any(|prefix| url.starts_with(prefix.as_str()))
    }

    /// Registers a new merchant with generated keys and returns its credentials.
    pub fn add_merchant(&self) -> Result<WechatPayCredentials, WechatPaySetupError> {
        let merchant = Merchant::generate(&self.shared.authority)?;
        let credentials = self.credentials_of(&merchant);
        let mut merchants = lock(&self.shared.merchants);
        if merchants.len() >= MERCHANTS_MAX {
            return Err(WechatPaySetupError::TooManyMerchants);
        }
        merchants.push(merchant);
        Ok(credentials)
    }

    /// Registers a merchant a previous run kept ([`WechatPay::kept_keys`]) and returns its
    /// credentials. Its certificate is issued anew by this run's CA.
    pub fn restore_merchant(&self, kept: &KeptMerchant) -> Result<WechatPayCredentials, WechatPaySetupError> {
        let merchant = Merchant::restore(kept, &self.shared.authority)?;
        let credentials = self.credentials_of(&merchant);
        let mut merchants = lock(&self.shared.merchants);
        if merchants.len() >= MERCHANTS_MAX {
            return Err(WechatPaySetupError::TooManyMerchants);
        }
        merchants.retain(|known| known.mchid != kept.mchid);
        merchants.push(merchant);
        Ok(credentials)
    }

    /// What a later run needs to sign as this simulator and to know its merchants again:
    /// the platform key and every merchant's identifiers and keys. Secret: keep it sealed.
    pub fn kept_keys(&self) -> Result<KeptKeys, WechatPaySetupError> {
        let merchants = lock(&self.shared.merchants).iter().map(Merchant::kept).collect();
        Ok(KeptKeys {
            platform_private_key_pem: Secret::new(self.shared.platform.key.to_pkcs8_pem()?),
            platform_key_id: self.shared.platform.key_id.clone(),
            merchants,
        })
    }

    /// The credentials of the merchant `mchid`, if it is registered.
    pub fn credentials(&self, mchid: &str) -> Option<WechatPayCredentials> {
        self.merchant(mchid).map(|merchant| self.credentials_of(&merchant))
    }

    /// The simulator CA's certificate in PEM: the root a client trusts for the secapi
    /// listener (and the issuer of every merchant certificate).
    pub fn ca_certificate_pem(&self) -> &str {
        &self.shared.authority.certificate_pem
    }

    fn credentials_of(&self, merchant: &Merchant) -> WechatPayCredentials {
        let secapi = Secapi {
            ca_certificate_pem: &self.shared.authority.certificate_pem,
            base_url: lock(&self.shared.secapi_base_url).clone(),
        };
        merchant.credentials(&self.shared.public_base_url, &self.shared.platform, &secapi)
    }

    /// The notifications sent so far (the most recent thousand), oldest first.
    pub fn sent_notifications(&self) -> Vec<SentNotification> {
        self.shared.notifier.sent()
    }

    fn merchant(&self, mchid: &str) -> Option<Merchant> {
        lock(&self.shared.merchants).iter().find(|merchant| merchant.mchid == mchid).cloned()
    }

    fn now(&self) -> Timestamp {
        self.shared.clock.now()
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        lock(&self.shared.book)
    }

    /// The five `Wechatpay-*` headers for a body sent now.
    fn signature_headers(&self, body: &[u8]) -> Vec<(&'static str, String)> {
        let timestamp = self.now().unix_seconds().to_string();
        let nonce = random::token(32);
        let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
        message.extend_from_slice(body);
        message.push(b'\n');
        // Signing with a key generated in this process does not fail; if it ever did, an
        // empty signature makes every client refuse the answer, which is the safe side.
        let signature = self.shared.platform.key.sign_base64(&message).unwrap_or_default();
        vec![
            ("wechatpay-timestamp", timestamp),
            ("wechatpay-nonce", nonce),
            ("wechatpay-signature", signature),
            ("wechatpay-serial", self.shared.platform.key_id.clone()),
            ("wechatpay-signature-type", "WECHATPAY2-SHA256-RSA2048".to_owned()),
        ]
    }
}

impl std::fmt::Debug for WechatPay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatPay").field("public_base_url", &self.shared.public_base_url).finish_non_exhaustive()
    }
}

/// A lock that no rule holds across an `.await`, and under which every write replaces
/// whole values, so a poisoned lock is taken over rather than failing every later request.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The simulator's routes (see the module documentation), ready to be mounted under any
/// prefix with [`Router::nest`] or served alone.
pub fn wechatpay_router(simulator: WechatPay) -> Router {
    let v3 = Router::new()
        .route("/v3/pay/transactions/native", post(v3::native))
        .route("/v3/pay/transactions/jsapi", post(v3::jsapi))
        .route("/v3/pay/transactions/h5", post(v3::h5))
        .route("/v3/pay/transactions/out-trade-no/{out_trade_no}", get(v3::query))
        .route("/v3/pay/transactions/id/{transaction_id}", get(v3::query_by_transaction_id))
        .route("/v3/pay/transactions/out-trade-no/{out_trade_no}/close", post(v3::close))
        .route("/v3/refund/domestic/refunds", post(v3::refund))
        .route("/v3/refund/domestic/refunds/{out_refund_no}", get(v3::query_refund))
        .route_layer(middleware::from_fn_with_state(simulator.clone(), gate::v3_gate));
    Router::new()
        .merge(v3)
        .route("/pay/micropay", post(micropay::micropay))
        .route("/pay/orderquery", post(micropay::order_query))
        .route("/buyer/{token}", get(buyer::show))
        .route("/buyer/{token}/pay", post(buyer::pay))
        .route("/buyer/{token}/pay_with_coupon", post(buyer::pay_with_coupon))
        .route("/buyer/{token}/decline", post(buyer::decline))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(simulator)
}
