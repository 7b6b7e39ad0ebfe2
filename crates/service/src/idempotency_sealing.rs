//! Responses kept for idempotent replay are sealed at rest. Some answers carry a secret
//! shown only once (a webhook endpoint's signing secret, a rotated notification secret),
//! and an idempotent retry must show it again, so the stored answer is as sensitive as
//! the secret itself: it is kept encrypted under the server keys, bound to its key's row.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use payrail_domain::idempotency::{IdempotencyKey, KeyScope, StoredResponse};

use crate::ServiceError;
use crate::keyring::ServerKeys;

/// Marks a sealed body. A stored JSON body never starts with it, so a body recorded in
/// clear by an earlier version (kept at most the retention period) is still told apart.
const SEALED_PREFIX: &str = "sealed:";

/// `response` as it is stored for `key`: its body encrypted.
pub(crate) fn seal(
    keys: &ServerKeys,
    scope: &KeyScope,
    key: &IdempotencyKey,
    response: &StoredResponse,
) -> StoredResponse {
    let sealed = keys.encrypt(response.body.as_bytes(), &context(scope, key));
    StoredResponse { status: response.status, body: format!("{SEALED_PREFIX}{}", STANDARD.encode(sealed)) }
}

/// What [`seal`] stored for `key`, opened for replay.
pub(crate) fn open(
    keys: &ServerKeys,
    scope: &KeyScope,
    key: &IdempotencyKey,
    stored: StoredResponse,
) -> Result<StoredResponse, ServiceError> {
    let Some(sealed) = stored.body.strip_prefix(SEALED_PREFIX) else { return Ok(stored) };
    let unreadable = || ServiceError::Unexpected(anyhow::anyhow!("a stored idempotent response cannot be opened"));
    let sealed = STANDARD.decode(sealed).map_err(|_| unreadable())?;
    let body = keys.decrypt(&sealed, &context(scope, key)).ok_or_else(unreadable)?;
    let body = String::from_utf8(body.expose().clone()).map_err(|_| unreadable())?;
    Ok(StoredResponse { status: stored.status, body })
}

/// Binds a sealed body to its key's row, so it cannot be replayed under another key,
/// merchant or mode.
fn context(scope: &KeyScope, key: &IdempotencyKey) -> String {
    let mode = if scope.livemode { "live" } else { "test" };
    format!("idempotent_response:{}:{mode}:{}", scope.merchant_id.as_str(), key.as_str())
}

#[cfg(test)]
mod tests {
    use payrail_domain::MerchantId;

    use super::*;

    fn scope(livemode: bool) -> KeyScope {
        KeyScope { merchant_id: MerchantId::parse("mer_01ksr49200cwtzn0pyb9g5v4g6").expect("an id"), livemode }
    }

    #[test]
    fn a_sealed_body_hides_its_text_and_opens_only_under_its_own_key() {
        let keys = ServerKeys::generate();
        let key = IdempotencyKey::parse("k-1").expect("a key");
        let answer = StoredResponse { status: 200, body: r#"{"secret":"whsec_abc"}"#.into() };
        let sealed = seal(&keys, &scope(false), &key, &answer);
        assert!(!sealed.body.contains("whsec_abc"), "{}", sealed.body);
        assert_eq!(open(&keys, &scope(false), &key, sealed.clone()).expect("opens"), answer);
        let other_key = IdempotencyKey::parse("k-2").expect("a key");
        assert!(open(&keys, &scope(false), &other_key, sealed.clone()).is_err());
        assert!(open(&keys, &scope(true), &key, sealed.clone()).is_err());
        assert!(open(&ServerKeys::generate(), &scope(false), &key, sealed).is_err());
    }

    #[test]
    fn a_body_recorded_in_clear_before_sealing_is_replayed_as_it_is() {
        let clear = StoredResponse { status: 402, body: r#"{"error":{}}"#.into() };
        let key = IdempotencyKey::parse("k-1").expect("a key");
        assert_eq!(open(&ServerKeys::generate(), &scope(false), &key, clear.clone()).expect("read as it is"), clear);
    }
}
