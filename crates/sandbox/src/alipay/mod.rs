//! An Alipay OpenAPI v2 gateway simulator, faithful enough that Alipay's own SDKs (the npm
//! `alipay-sdk` with `validateSign`, see `interop/alipay`) work against it unchanged.
//!
//! Routes, relative to wherever the router is mounted (Payrail mounts it at
//! `/sandbox/alipay`):
//!
//! - `GET`/`POST /gateway.do`: the gateway. Parameters are read from the query string and
//!   the form body together. Methods: `alipay.trade.precreate`, `.pay`, `.query`,
//!   `.cancel`, `.close`, `.refund`, `.fastpay.refund.query`, and the browser flows
//!   `alipay.trade.page.pay` / `.wap.pay` (a signed `GET` that redirects to the buyer
//!   page). Every answer is HTTP 200 `{"<method>_response":{…},"sign":"…"}`, signed with
//!   the simulator's Alipay key over the object's exact text (see `gateway.rs` for the
//!   checks and their codes).
//! - `GET /buyer/{trade_no}`, `POST /buyer/{trade_no}/pay`, `POST /buyer/{trade_no}/decline`:
//!   the buyer's page; a precreated trade's `qr_code` is the absolute URL of this page.
//! - `POST /control/trades/{trade_no}/pay`: sandbox-only, pays a waiting trade now;
//!   `POST /control/trades/{trade_no}/finish`: sandbox-only, ends a paid trade's refund
//!   period (`TRADE_FINISHED`, notified; refunds then fail with `ACQ.TRADE_HAS_FINISHED`).
//!
//! Behaviour worth knowing, as in production: a precreated trade is unknown to
//! `trade.query` and `trade.close` (`ACQ.TRADE_NOT_EXIST`) until the buyer page is opened
//! (the QR "scanned"); `trade.cancel` reaches it anyway. Payment codes decide
//! `trade.pay`'s outcome ([`CODE_PAID`], [`CODE_PAYING_THEN_PAID`],
//! [`CODE_PAYING_FOREVER`], [`CODE_BALANCE_NOT_ENOUGH`], [`CODE_INVALID`]). Paid trades and
//! full refunds are notified (see `notify.rs`).
//!
//! Keys: the simulator generates its own Alipay key pair; apps are registered with their
//! public key ([`AlipaySandbox::register_app`]), or created with a fresh key pair whose
//! private half is handed out ([`AlipaySandbox::create_app`]) so that any SDK can be
//! pointed at the sandbox.

mod answer;
mod book;
mod buyer;
mod codes;
mod gateway;
mod notify;
mod params;
mod refunds;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use payrail_crypto::CryptoError;
use payrail_crypto::rsa::{RsaPrivateKey, RsaPublicKey};
use payrail_domain::{Clock, Secret};

use book::Book;
use notify::Notifier;

pub use book::COUPON_MINOR;
pub use codes::{
    CODE_BALANCE_NOT_ENOUGH, CODE_INVALID, CODE_PAID, CODE_PAYING_FOREVER, CODE_PAYING_THEN_PAID, QUERIES_UNTIL_PAID,
};
pub use notify::SentAlipayNotification;

/// Largest request body read; a gateway request is a few kilobytes.
const BODY_BYTES_MAX: usize = 64 * 1024;

/// What an outside client needs to talk to the simulator as to Alipay.
#[derive(Debug, Clone)]
pub struct AlipayCredentials {
    /// Such as `http://127.0.0.1:8080/sandbox/alipay/gateway.do`.
    pub gateway_url: String,
    pub app_id: String,
    /// PKCS#8 PEM.
    pub app_private_key_pem: Secret<String>,
    /// X.509 SubjectPublicKeyInfo PEM.
    pub alipay_public_key_pem: String,
}

/// The simulator's state. Cloning is cheap; clones share everything.
#[derive(Clone)]
pub struct AlipaySandbox {
    shared: Arc<Shared>,
}

struct Shared {
    alipay_key: Arc<RsaPrivateKey>,
    alipay_public_key: RsaPublicKey,
    public_base_url: String,
    clock: Arc<dyn Clock>,
    apps: Mutex<HashMap<String, RsaPublicKey>>,
    /// When not empty, a `notify_url` must start with one of these.
    notify_url_prefixes: Mutex<Vec<String>>,
    book: Mutex<Book>,
    notifier: Arc<Notifier>,
}

impl AlipaySandbox {
    /// How many trades plus refunds are kept before new ones are refused (`20000`).
    pub const OBJECTS_MAX: usize = 1_000_000;
    /// How many apps may be registered.
    pub const APPS_MAX: usize = 10_000;

    /// A simulator with a fresh Alipay key pair, reachable by browsers at
    /// `public_base_url` (where the router is mounted, such as
    /// `https://payrail.example/sandbox/alipay`; a trailing `/` is ignored). Notification
    /// retries wait Alipay's real schedule.
    pub fn new(public_base_url: &str, clock: Arc<dyn Clock>) -> Result<AlipaySandbox, CryptoError> {
        AlipaySandbox::with_limits(public_base_url, clock, AlipaySandbox::OBJECTS_MAX, 1)
    }

    /// As [`AlipaySandbox::new`], keeping at most `objects_max` trades plus refunds, and
    /// dividing every notification retry wait by `retry_delay_divisor` (60,000 turns the
    /// first 4 minutes into 4 ms).
    pub fn with_limits(
        public_base_url: &str,
        clock: Arc<dyn Clock>,
        objects_max: usize,
        retry_delay_divisor: u64,
    ) -> Result<AlipaySandbox, CryptoError> {
        let alipay_key = RsaPrivateKey::generate()?;
        AlipaySandbox::with_alipay_key(public_base_url, clock, alipay_key, objects_max, retry_delay_divisor)
    }

    /// As [`AlipaySandbox::with_limits`], signing with `alipay_key` instead of a fresh
    /// key, so that the Alipay public key handed to merchants stays valid across restarts
    /// (the caller keeps the key, say encrypted in its database).
    pub fn with_alipay_key(
        public_base_url: &str,
        clock: Arc<dyn Clock>,
        alipay_key: RsaPrivateKey,
        objects_max: usize,
        retry_delay_divisor: u64,
    ) -> Result<AlipaySandbox, CryptoError> {
        let alipay_key = Arc::new(alipay_key);
        let shared = Shared {
            alipay_public_key: alipay_key.public_key()?,
            notifier: Arc::new(Notifier::new(Arc::clone(&alipay_key), retry_delay_divisor)),
            alipay_key,
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            clock,
            apps: Mutex::new(HashMap::new()),
            notify_url_prefixes: Mutex::new(Vec::new()),
            book: Mutex::new(Book::new(objects_max)),
        };
        Ok(AlipaySandbox { shared: Arc::new(shared) })
    }

    /// Registers (or replaces) the app `app_id` whose requests are signed by the private
    /// half of `app_public_key`. `false` if the app limit is reached.
    pub fn register_app(&self, app_id: &str, app_public_key: RsaPublicKey) -> bool {
        let mut apps = self.shared.apps.lock().unwrap_or_else(PoisonError::into_inner);
        if apps.len() >= AlipaySandbox::APPS_MAX && !apps.contains_key(app_id) {
            return false;
        }
        apps.insert(app_id.to_owned(), app_public_key);
        true
    }

    /// Whether the app `app_id` is registered.
    pub fn knows_app(&self, app_id: &str) -> bool {
        self.app_key(app_id).is_some()
    }

    /// A new app with a fresh key pair, registered, and everything a client needs.
    pub fn create_app(&self) -> Result<AlipayCredentials, CryptoError> {
        let app_key = RsaPrivateKey::generate()?;
        let mut random = [0_u8; 8];
        aws_lc_rs::rand::fill(&mut random).map_err(|_| CryptoError::Sign)?;
        // 16 digits like a real app id; 9021 marks it as the sandbox's.
        let app_id = format!("9021{:012}", u64::from_be_bytes(random) % 1_000_000_000_000);
        if !self.register_app(&app_id, app_key.public_key()?) {
            return Err(CryptoError::KeyRejected("the sandbox holds too many apps".to_owned()));
        }
        Ok(AlipayCredentials {
            gateway_url: self.gateway_url(),
            app_id,
            app_private_key_pem: Secret::new(app_key.to_pkcs8_pem()?),
            alipay_public_key_pem: self.alipay_public_key().to_pem(),
        })
    }

    /// From now on, accepts only `notify_url`s starting with one of the prefixes allowed
    /// this way (others are refused with `ACQ.INVALID_PARAMETER`). Without any, every URL
    /// is accepted, which lets anyone holding an app's key make the simulator `POST` to
    /// any address it can reach; a public server should allow only its own notification
    /// endpoint.
    pub fn allow_notify_urls_starting_with(&self, prefix: &str) {
        self.shared.notify_url_prefixes.lock().unwrap_or_else(PoisonError::into_inner).push(prefix.to_owned());
    }

    fn notify_url_allowed(&self, url: &str) -> bool {
        let prefixes = self.shared.notify_url_prefixes.lock().unwrap_or_else(PoisonError::into_inner);
        prefixes.is_empty() || prefixes.iter().any(|prefix| url.starts_with(prefix.as_str()))
    }

    /// The gateway's address as clients see it: `{public_base_url}/gateway.do`.
    pub fn gateway_url(&self) -> String {
        format!("{}/gateway.do", self.shared.public_base_url)
    }

    /// The public half of the key the simulator signs answers and notifications with.
    pub fn alipay_public_key(&self) -> &RsaPublicKey {
        &self.shared.alipay_public_key
    }

    /// The notifications sent so far (the most recent thousand), oldest first.
    pub fn sent_notifications(&self) -> Vec<SentAlipayNotification> {
        self.shared.notifier.sent()
    }

    fn app_key(&self, app_id: &str) -> Option<RsaPublicKey> {
        self.shared.apps.lock().unwrap_or_else(PoisonError::into_inner).get(app_id).cloned()
    }

    /// The memory, locked. No rule holds it across an `.await`, and each builds its new
    /// value before storing it, so a poisoned lock is taken over.
    fn book(&self) -> MutexGuard<'_, Book> {
        self.shared.book.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for AlipaySandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipaySandbox").field("public_base_url", &self.shared.public_base_url).finish_non_exhaustive()
    }
}

/// The simulator's routes (see the module documentation), to be mounted under any prefix
/// with [`Router::nest`] or served alone.
pub fn alipay_router(sandbox: AlipaySandbox) -> Router {
    Router::new()
        .route("/gateway.do", get(gateway::gateway).post(gateway::gateway))
        .route("/buyer/{trade_no}", get(buyer::show))
        .route("/buyer/{trade_no}/pay", post(buyer::pay))
        .route("/buyer/{trade_no}/pay_with_coupon", post(buyer::pay_with_coupon))
        .route("/buyer/{trade_no}/decline", post(buyer::decline))
        .route("/control/trades/{trade_no}/pay", post(buyer::control_pay))
        .route("/control/trades/{trade_no}/finish", post(buyer::control_finish))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(sandbox)
}
