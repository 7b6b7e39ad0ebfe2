//! Webhook signing secrets at rest: sealed under the server key and bound to their owner,
//! opened only to sign a delivery.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use payrail_domain::webhook::{RetiringSecret, SealedSecret};
use payrail_domain::{Secret, Timestamp};

use crate::ServiceError;
use crate::keyring::ServerKeys;
use crate::webhook_signature::new_webhook_secret;

/// A fresh secret, sealed for the owner named by `context`, and its clear text (shown
/// once, to the merchant).
pub(crate) fn fresh(keys: &ServerKeys, context: &str) -> (SealedSecret, Secret<String>) {
    let secret = new_webhook_secret();
    (seal(keys, &secret, context), secret)
}

pub(crate) fn seal(keys: &ServerKeys, secret: &Secret<String>, context: &str) -> SealedSecret {
    let text = secret.expose();
    let hint = format!("whsec_…{}", &text[text.len().saturating_sub(4)..]);
    SealedSecret { ciphertext: STANDARD.encode(keys.encrypt(text.as_bytes(), context)), hint }
}

/// The secret a rotation replaces, signing beside the new one until `expires_at`; none
/// at all when the overlap is zero.
pub(crate) fn retire(sealed: &SealedSecret, now: Timestamp, overlap_ms: i64) -> Option<RetiringSecret> {
    (overlap_ms > 0)
        .then(|| RetiringSecret { ciphertext: sealed.ciphertext.clone(), expires_at: now.plus_ms(overlap_ms) })
}

/// The secrets that sign at `now`: the current one first, then the retiring one.
pub(crate) fn signing(
    keys: &ServerKeys,
    current: &SealedSecret,
    retiring: Option<&RetiringSecret>,
    context: &str,
    now: Timestamp,
) -> Result<Vec<Secret<String>>, ServiceError> {
    let mut secrets = vec![open(keys, &current.ciphertext, context)?];
    if let Some(retiring) = retiring.filter(|retiring| now < retiring.expires_at) {
        secrets.push(open(keys, &retiring.ciphertext, context)?);
    }
    Ok(secrets)
}

/// The clear text of a sealed secret, to show it to its merchant once.
pub(crate) fn reveal(keys: &ServerKeys, sealed: &SealedSecret, context: &str) -> Result<Secret<String>, ServiceError> {
    open(keys, &sealed.ciphertext, context)
}

fn open(keys: &ServerKeys, ciphertext: &str, context: &str) -> Result<Secret<String>, ServiceError> {
    let unreadable = || anyhow::anyhow!("the signing secret of {context} cannot be opened with this server key");
    let sealed = STANDARD.decode(ciphertext).map_err(|_| unreadable())?;
    let clear = keys.decrypt(&sealed, context).ok_or_else(unreadable)?;
    let text = String::from_utf8(clear.expose().clone()).map_err(|_| unreadable())?;
    Ok(Secret::new(text))
}
