//! Merchants' own channel accounts: create, retrieve, list, update (rotate a key) and
//! delete an Alipay app or a WeChat Pay merchant, per mode. Routing payments to them is in
//! `routing.rs`.
//!
//! Invariant: secrets are sealed under the server key, bound to the account's id, in the
//! unit that stores them, and never returned: the API shows which secrets are set, not
//! what they are. An account is checked before it is stored: its keys must parse (the
//! client is built), and its addresses and keys must belong to its mode (`mixing.rs`).

pub(crate) mod credentials;
mod mixing;
pub(crate) mod routing;
pub(crate) mod sandbox;

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use payrail_domain::channel_account::{
    CHANNEL_ACCOUNTS_PER_MODE_MAX, ChannelAccount, ChannelAccountStatus, ChannelKind, parse_description,
};
use payrail_domain::{ChannelAccountId, MerchantId, Mode, Problem, Secret};
use payrail_store::channel_accounts;
use payrail_store::idempotency::Recording;
use serde_json::{Value, json};

use crate::idempotency::{Answer, mark_answered, record_answer};
use crate::random::id_random;
use crate::{Caller, Payrail, ServiceError};
use credentials::{ChannelClient, Credentials, build_client};
pub(crate) use mixing::SandboxMark;

/// The most channel accounts one list call returns.
pub const CHANNEL_ACCOUNT_LIST_LIMIT_MAX: u32 = 100;

/// `POST /v1/channel_accounts`, and what `POST /v1/channel_accounts/{id}` may change.
/// `Debug` names the fields given, never their values (private keys among them).
#[derive(Default)]
pub struct ChannelAccountInput {
    /// `alipay` or `wechatpay`; given on creation only.
    pub channel: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    /// The channel's fields (the `alipay` or `wechatpay` object), in clear as sent.
    pub fields: Option<BTreeMap<String, String>>,
}

impl std::fmt::Debug for ChannelAccountInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelAccountInput")
            .field("channel", &self.channel)
            .field("description", &self.description)
            .field("fields", &self.fields.as_ref().map(|fields| fields.keys().collect::<Vec<_>>()))
            .finish()
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("settings", &self.settings.keys()).finish_non_exhaustive()
    }
}

impl Payrail {
    pub async fn create_channel_account(
        &self,
        caller: &Caller,
        input: ChannelAccountInput,
    ) -> Result<ChannelAccount, ServiceError> {
        let channel = parse_channel(input.channel.as_deref())?;
        let fields = input.fields.ok_or_else(|| {
            let param = channel.as_str();
            Problem::invalid_request("parameter_missing", format!("{param} is required")).with_param(param)
        })?;
        let credentials = Credentials::default().merged(channel, fields)?;
        self.check_credentials(caller.mode, channel, &credentials)?;
        let description = input.description.flatten().as_deref().map(parse_description).transpose()?;
        let mut account = self.new_channel_account(&caller.merchant.id, caller.mode, channel, &credentials);
        account.description = description.filter(|text| !text.is_empty());
        let (stored, answering, answer) = (account.clone(), caller.clone(), channel_account_object(&account));
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let count = channel_accounts::count(tx.conn(), &stored.merchant_id, stored.livemode).await?;
                    if count >= CHANNEL_ACCOUNTS_PER_MODE_MAX {
                        let message = format!(
                            "a merchant may have at most {CHANNEL_ACCOUNTS_PER_MODE_MAX} channel accounts per mode"
                        );
                        return Err(Problem::invalid_request("channel_accounts_limit", message).into());
                    }
                    channel_accounts::insert(tx.conn(), &stored).await?;
                    record_answer(tx, &answering, Answer::Object(&answer), Recording::Final).await
                })
            })
            .await?;
        mark_answered(caller);
        tracing::info!(channel_account_id = %account.id, channel = channel.as_str(), "channel account created");
        Ok(account)
    }

    pub async fn get_channel_account(
        &self,
        caller: &Caller,
        id: &ChannelAccountId,
    ) -> Result<ChannelAccount, ServiceError> {
        let mut reader = self.store.reader().await?;
        visible(caller, channel_accounts::get(reader.conn(), id).await?, "id")
    }

    /// Oldest first, a page at a time.
    pub async fn list_channel_accounts(
        &self,
        caller: &Caller,
        starting_after: Option<&ChannelAccountId>,
        limit: u32,
    ) -> Result<Vec<ChannelAccount>, ServiceError> {
        let limit = limit.clamp(1, CHANNEL_ACCOUNT_LIST_LIMIT_MAX + 1);
        let mut reader = self.store.reader().await?;
        let livemode = caller.mode.is_live();
        Ok(channel_accounts::list(reader.conn(), &caller.merchant.id, livemode, starting_after, limit).await?)
    }

    /// Changes the description or some fields (a rotated key, say); the account is checked
    /// again as a whole before it is stored.
    pub async fn update_channel_account(
        &self,
        caller: &Caller,
        id: &ChannelAccountId,
        input: ChannelAccountInput,
    ) -> Result<ChannelAccount, ServiceError> {
        if input.channel.is_some() {
            let message = "the channel of an account cannot be changed; create another account";
            return Err(Problem::invalid_request("parameter_invalid", message).with_param("channel").into());
        }
        let mut account = self.get_channel_account(caller, id).await?;
        if account.sandbox {
            let message = "a sandbox account is made and kept by the server; delete it to have a new one made";
            return Err(Problem::invalid_request("channel_account_sandbox", message).with_param("id").into());
        }
        if let Some(fields) = input.fields {
            let credentials = self.open_credentials(&account)?.merged(account.channel, fields)?;
            self.check_credentials(caller.mode, account.channel, &credentials)?;
            account.credentials_ciphertext = self.seal_credentials(&account.id, &credentials);
            account.settings = settings_json(&credentials);
        }
        if let Some(description) = input.description {
            account.description = description.as_deref().map(parse_description).transpose()?.filter(|d| !d.is_empty());
        }
        account.updated = self.clock.now();
        self.save_channel_account(caller, account).await
    }

    /// Deletes an account: it is no longer listed nor routed to (its routes are removed),
    /// but the payments it charged are still queried, refunded and notified through it.
    pub async fn delete_channel_account(
        &self,
        caller: &Caller,
        id: &ChannelAccountId,
    ) -> Result<ChannelAccount, ServiceError> {
        let mut account = self.get_channel_account(caller, id).await?;
        account.status = ChannelAccountStatus::Deleted;
        account.updated = self.clock.now();
        self.save_channel_account(caller, account).await
    }

    async fn save_channel_account(
        &self,
        caller: &Caller,
        account: ChannelAccount,
    ) -> Result<ChannelAccount, ServiceError> {
        let (stored, answering) = (account.clone(), caller.clone());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    // Still the caller's and not deleted meanwhile.
                    visible(&answering, channel_accounts::get(tx.conn(), &stored.id).await?, "id")?;
                    channel_accounts::update(tx.conn(), &stored).await?;
                    if stored.status == ChannelAccountStatus::Deleted {
                        channel_accounts::delete_routes_to(tx.conn(), &stored.id).await?;
                    }
                    Ok::<_, ServiceError>(())
                })
            })
            .await?;
        Ok(account)
    }

    /// A new active account of the merchant's `mode`, holding `credentials` (sealed).
    fn new_channel_account(
        &self,
        merchant: &MerchantId,
        mode: Mode,
        channel: ChannelKind,
        credentials: &Credentials,
    ) -> ChannelAccount {
        let now = self.clock.now();
        let id = ChannelAccountId::generate(now, id_random(now));
        ChannelAccount {
            credentials_ciphertext: self.seal_credentials(&id, credentials),
            settings: settings_json(credentials),
            id,
            merchant_id: merchant.clone(),
            livemode: mode.is_live(),
            channel,
            description: None,
            status: ChannelAccountStatus::Active,
            sandbox: false,
            created: now,
            updated: now,
        }
    }

    /// The fields must make a working client and belong to the caller's mode.
    fn check_credentials(&self, mode: Mode, channel: ChannelKind, credentials: &Credentials) -> Result<(), Problem> {
        mixing::check_mode(channel, mode.is_live(), credentials, &self.sandbox_marks())?;
        build_client(channel, credentials, self.clock.clone()).map(|_| ())
    }

    fn seal_credentials(&self, id: &ChannelAccountId, credentials: &Credentials) -> String {
        STANDARD.encode(self.keys.encrypt(credentials.secrets_json().expose().as_bytes(), id.as_str()))
    }

    pub(crate) fn open_credentials(&self, account: &ChannelAccount) -> Result<Credentials, ServiceError> {
        let unreadable = || ServiceError::Unexpected(anyhow::anyhow!("channel account {} is unreadable", account.id));
        let sealed = STANDARD.decode(&account.credentials_ciphertext).map_err(|_| unreadable())?;
        let clear = self.keys.decrypt(&sealed, account.id.as_str()).ok_or_else(unreadable)?;
        let text = Secret::new(String::from_utf8(clear.expose().clone()).map_err(|_| unreadable())?);
        let public = serde_json::from_str::<Value>(&account.settings).map_err(|_| unreadable())?;
        Credentials::restore(&public["public"].to_string(), &text).ok_or_else(unreadable)
    }

    /// The client of a stored account.
    pub(crate) fn channel_client_of(&self, account: &ChannelAccount) -> Result<ChannelClient, ServiceError> {
        let credentials = self.for_this_run(account, self.open_credentials(account)?)?;
        build_client(account.channel, &credentials, self.clock.clone()).map_err(|problem| {
            ServiceError::Unexpected(anyhow::anyhow!(
                "channel account {} no longer builds: {}",
                account.id,
                problem.message
            ))
        })
    }
}

/// The account as the API shows it: its public settings and the names of the secrets set,
/// never a secret.
pub fn channel_account_object(account: &ChannelAccount) -> Value {
    let stored = serde_json::from_str::<Value>(&account.settings).unwrap_or(Value::Null);
    let mut object = json!({
        "id": account.id.as_str(),
        "object": "channel_account",
        "channel": account.channel.as_str(),
        "livemode": account.livemode,
        "description": account.description,
        "secrets_set": stored["secrets"],
        "sandbox": account.sandbox,
        "created": account.created.unix_seconds(),
        "updated": account.updated.unix_seconds(),
    });
    object[account.channel.as_str()] = stored["public"].clone();
    if account.status == ChannelAccountStatus::Deleted {
        object["deleted"] = Value::Bool(true);
    }
    object
}

/// What is stored in clear: the public fields, and which secrets are set.
fn settings_json(credentials: &Credentials) -> String {
    json!({ "public": credentials.settings, "secrets": credentials.secrets.keys().collect::<Vec<_>>() }).to_string()
}

fn parse_channel(text: Option<&str>) -> Result<ChannelKind, Problem> {
    let text =
        text.ok_or_else(|| Problem::invalid_request("parameter_missing", "channel is required").with_param("channel"))?;
    ChannelKind::parse(text).ok_or_else(|| {
        Problem::invalid_request("parameter_invalid", "channel must be alipay or wechatpay").with_param("channel")
    })
}

/// The account, if the caller may see it: their merchant's, in their mode, not deleted.
pub(crate) fn visible(
    caller: &Caller,
    account: Option<ChannelAccount>,
    param: &'static str,
) -> Result<ChannelAccount, ServiceError> {
    account
        .filter(|account| {
            account.merchant_id == caller.merchant.id
                && account.livemode == caller.mode.is_live()
                && account.status == ChannelAccountStatus::Active
        })
        .ok_or_else(|| Problem::resource_missing("channel_account", param).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_and_credentials_show_field_names_and_never_values() {
        let key = "-----BEGIN PRIVATE KEY-----very-secret";
        let fields = BTreeMap::from([("app_private_key".to_owned(), key.to_owned())]);
        let input = ChannelAccountInput { fields: Some(fields.clone()), ..ChannelAccountInput::default() };
        let shown = format!("{input:?}");
        assert!(shown.contains("app_private_key") && !shown.contains("very-secret"), "{shown}");
        let mut fields = fields;
        fields.insert("gateway_url".to_owned(), "https://gateway.test/gateway.do".to_owned());
        fields.insert("app_id".to_owned(), "2021".to_owned());
        fields.insert("alipay_public_key".to_owned(), "public".to_owned());
        let credentials = Credentials::default().merged(ChannelKind::Alipay, fields).expect("complete");
        assert!(!format!("{credentials:?}").contains("very-secret"));
        assert!(!settings_json(&credentials).contains("very-secret"), "secrets are never stored in clear");
    }
}
