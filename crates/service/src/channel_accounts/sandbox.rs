//! Sandbox accounts. In test mode, a payment that no account was chosen or routed for is
//! charged through the merchant's own sandbox account of its channel: an Alipay app or a
//! WeChat Pay merchant at this server's simulators, made on first need and kept like any
//! channel account (secrets sealed). So no two merchants share sandbox credentials, and
//! none can query, close or refund another's sandbox trades with the keys it was shown.
//!
//! The simulators hold their apps and merchants in memory only: a server makes the kept
//! accounts known to them again as it starts ([`Payrail::register_sandbox_accounts`]),
//! and goes on picking up those another process made (`payrail sandbox credentials`).

use std::collections::BTreeMap;
use std::sync::Arc;

use payrail_domain::channel_account::{ChannelAccount, ChannelKind};
use payrail_domain::payment_record::PaymentMethodType;
use payrail_domain::{ChannelAccountId, MerchantId, Mode, Timestamp};
use payrail_store::channel_accounts;

use super::credentials::{ChannelClient, Credentials};
use crate::{Caller, Payrail, ServiceError};

/// How many sandbox accounts one registration step reads at a time.
const REGISTRATION_PAGE: u32 = 500;
/// How far back each registration pass looks again, for accounts another process committed
/// late (its clock behind, or its unit slow): registering one twice is harmless.
const REGISTRATION_OVERLAP_MS: i64 = 60_000;

/// The server's sandbox simulators, as far as accounts go. Implemented where the
/// simulators are (`payrail serve`); fields are named as a channel account's.
pub trait SandboxChannels: Send + Sync {
    /// Makes a new app (Alipay) or merchant (WeChat Pay) at the simulator of `channel`,
    /// known to it from now on: its fields, secrets included.
    fn create(&self, channel: ChannelKind) -> anyhow::Result<BTreeMap<String, String>>;
    /// Makes one made earlier (before a restart, or by another process) known to the
    /// simulator again. Doing it twice changes nothing.
    fn restore(&self, channel: ChannelKind, fields: &BTreeMap<String, String>) -> anyhow::Result<()>;
    /// Fields that hold for this run only, laid over the kept ones when a client is built:
    /// the simulators' addresses (the server may listen elsewhere than when the account was
    /// made) and, for WeChat Pay, the mutual-TLS listener's and the client certificate
    /// this run's CA issued.
    fn for_this_run(&self, channel: ChannelKind, fields: &BTreeMap<String, String>) -> BTreeMap<String, String>;
}

/// A merchant's sandbox credentials: every field of its sandbox account of each channel,
/// secrets included, with this run's fields laid over them.
#[derive(Clone)]
pub struct SandboxAccountFields {
    pub alipay: BTreeMap<String, String>,
    pub wechatpay: BTreeMap<String, String>,
}

impl std::fmt::Debug for SandboxAccountFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxAccountFields")
            .field("alipay", &self.alipay.keys())
            .field("wechatpay", &self.wechatpay.keys())
            .finish()
    }
}

/// Where registration has got to: sandbox accounts made up to this time are known.
#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxRegistration {
    made_until_ms: i64,
}

impl Payrail {
    /// Charges test-mode payments that were routed nowhere through each merchant's own
    /// sandbox account at `sandbox`, made on first need.
    pub fn with_sandbox_channels(mut self, sandbox: Arc<dyn SandboxChannels>) -> Payrail {
        let mut channels = crate::Channels::clone(&self.channels);
        channels.sandbox = Some(sandbox);
        self.channels = Arc::new(channels);
        self
    }

    /// The caller's sandbox account for a payment of `method`, made if it has none; `None`
    /// in live mode, for a method no channel account charges, or without simulators.
    pub(crate) async fn sandbox_account_for(
        &self,
        caller: &Caller,
        method: PaymentMethodType,
    ) -> Result<Option<(ChannelAccountId, ChannelClient)>, ServiceError> {
        let channel = ChannelKind::for_method(method);
        let (false, Some(channel), Some(_)) = (caller.mode.is_live(), channel, &self.channels.sandbox) else {
            return Ok(None);
        };
        let account = self.sandbox_account(&caller.merchant.id, channel).await?;
        Ok(Some((account.id.clone(), self.cached_client(&account)?)))
    }

    /// Every field of the merchant's sandbox accounts (made if it has none), for an outside
    /// SDK to talk to the simulators as this merchant.
    pub async fn sandbox_account_fields(&self, merchant: &MerchantId) -> Result<SandboxAccountFields, ServiceError> {
        let alipay = self.sandbox_fields(merchant, ChannelKind::Alipay).await?;
        let wechatpay = self.sandbox_fields(merchant, ChannelKind::Wechatpay).await?;
        Ok(SandboxAccountFields { alipay, wechatpay })
    }

    async fn sandbox_fields(
        &self,
        merchant: &MerchantId,
        channel: ChannelKind,
    ) -> Result<BTreeMap<String, String>, ServiceError> {
        let account = self.sandbox_account(merchant, channel).await?;
        Ok(self.for_this_run(&account, self.open_credentials(&account)?)?.exposed())
    }

    /// Makes the sandbox accounts made since `from` known to the simulators (each start
    /// begins with the default, which is all of them); returns how far it got.
    pub async fn register_sandbox_accounts(
        &self,
        from: SandboxRegistration,
    ) -> Result<SandboxRegistration, ServiceError> {
        let Some(sandbox) = self.channels.sandbox.clone() else { return Ok(from) };
        let start_ms = from.made_until_ms.saturating_sub(REGISTRATION_OVERLAP_MS).max(0);
        let start = Timestamp::from_unix_ms(start_ms).ok_or_else(|| anyhow::anyhow!("{start_ms} is not a time"))?;
        let mut after = (start, String::new());
        let mut made_until_ms = from.made_until_ms;
        loop {
            let page = {
                let mut reader = self.store.reader().await?;
                channel_accounts::sandbox_accounts_after(reader.conn(), (after.0, &after.1), REGISTRATION_PAGE).await?
            };
            for account in &page {
                // One account that cannot be registered must not keep the others out.
                let restored = self
                    .open_credentials(account)
                    .and_then(|credentials| Ok(sandbox.restore(account.channel, &credentials.exposed())?));
                if let Err(error) = restored {
                    tracing::warn!(channel_account_id = %account.id, %error, "a sandbox account could not be registered");
                }
                made_until_ms = made_until_ms.max(account.created.unix_ms());
            }
            match page.last() {
                Some(last) if page.len() == REGISTRATION_PAGE as usize => after = (last.created, last.id.to_string()),
                _ => return Ok(SandboxRegistration { made_until_ms }),
            }
        }
    }

    /// The merchant's active sandbox account of `channel`, made now if it has none.
    async fn sandbox_account(
        &self,
        merchant: &MerchantId,
        channel: ChannelKind,
    ) -> Result<ChannelAccount, ServiceError> {
        let sandbox = self.channels.sandbox.clone().ok_or_else(|| anyhow::anyhow!("this server runs no sandbox"))?;
        let existing = {
            let mut reader = self.store.reader().await?;
            channel_accounts::sandbox_account(reader.conn(), merchant, channel).await?
        };
        if let Some(account) = existing {
            return Ok(account);
        }
        // Key generation takes a while: off the async threads.
        let made = tokio::task::spawn_blocking(move || sandbox.create(channel))
            .await
            .map_err(|error| anyhow::anyhow!("making a sandbox account stopped: {error}"))??;
        let credentials = Credentials::default()
            .merged(channel, made)
            .map_err(|problem| anyhow::anyhow!("the sandbox made unusable credentials: {}", problem.message))?;
        let account = ChannelAccount {
            description: Some(format!("Sandbox {} account, made by the server", channel.as_str())),
            sandbox: true,
            ..self.new_channel_account(merchant, Mode::Test, channel, &credentials)
        };
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if channel_accounts::insert(tx.conn(), &account).await? {
                        return Ok(account);
                    }
                    // Another request made one first: that one is the merchant's.
                    let kept = channel_accounts::sandbox_account(tx.conn(), &account.merchant_id, channel).await?;
                    kept.ok_or_else(|| ServiceError::Unexpected(anyhow::anyhow!("a sandbox account vanished")))
                })
            })
            .await
    }

    /// A sandbox account's `credentials` as this run uses them: the account is made known
    /// to the simulator first (it may be another process's, not registered here yet), and
    /// this run's fields are laid over the kept ones. Any other account's, unchanged.
    pub(crate) fn for_this_run(
        &self,
        account: &ChannelAccount,
        credentials: Credentials,
    ) -> Result<Credentials, ServiceError> {
        let (true, Some(sandbox)) = (account.sandbox, &self.channels.sandbox) else { return Ok(credentials) };
        let fields = credentials.exposed();
        sandbox.restore(account.channel, &fields)?;
        let this_run = sandbox.for_this_run(account.channel, &fields);
        credentials.merged(account.channel, this_run).map_err(|problem| {
            ServiceError::Unexpected(anyhow::anyhow!("the sandbox gave unusable fields: {}", problem.message))
        })
    }
}
