//! Idempotency keys: claiming a key for a request, completing it with the response, and
//! pruning old keys. The rules themselves are `payrail_domain::idempotency`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_lc_rs::digest;
use payrail_domain::idempotency::{Decision, IdempotencyKey, KeyScope, RETENTION_MS, StoredResponse, key_in_use};
use payrail_domain::payment_record::Payment;
use payrail_domain::refund::Refund;
use payrail_domain::{Problem, RequestId};
use payrail_store::Tx;
use payrail_store::idempotency::{self, Recording};

use crate::idempotency_sealing::{open, seal};
use crate::keyring::ServerKeys;
use crate::objects::{error_object, payment_object, refund_object};
use crate::random::hex;
use crate::{Caller, Payrail, ServiceError};

/// The key a request runs under. A use case records the request's answer in the same unit
/// that commits its effects, so no crash can leave the effects without the answer (a
/// retry would then run the request a second time). Only a claim makes one.
#[derive(Debug, Clone)]
pub struct IdempotentRequest {
    key: IdempotencyKey,
    request_id: Option<RequestId>,
    /// Seal the answer at rest (see `idempotency_sealing`).
    keys: Arc<ServerKeys>,
    /// Set once a final answer is durable: the HTTP layer then has nothing left to record.
    answered: Arc<AtomicBool>,
}

impl IdempotentRequest {
    /// Whether a use case recorded the final answer with its effects.
    pub fn is_answered(&self) -> bool {
        self.answered.load(Ordering::Acquire)
    }
}

/// What a request answers, as recorded for replay. Rendered only when the request carries
/// a key, so requests without one pay nothing for it.
pub(crate) enum Answer<'a> {
    Payment(&'a Payment),
    Refund(&'a Refund),
    Problem(&'a Problem),
    /// Any other object, as the API renders it.
    Object(&'a serde_json::Value),
}

/// Records `answer` for the caller's key inside `tx`, if the request carries a key.
pub(crate) async fn record_answer(
    tx: &mut Tx,
    caller: &Caller,
    answer: Answer<'_>,
    recording: Recording,
) -> Result<(), ServiceError> {
    let Some(request) = &caller.idempotency else { return Ok(()) };
    let response = match answer {
        Answer::Payment(payment) => StoredResponse { status: 200, body: payment_object(payment).to_string() },
        Answer::Refund(refund) => StoredResponse { status: 200, body: refund_object(refund).to_string() },
        Answer::Object(object) => StoredResponse { status: 200, body: object.to_string() },
        Answer::Problem(problem) => {
            let request_id = request.request_id.as_ref().map_or("", RequestId::as_str);
            StoredResponse { status: problem.status, body: error_object(problem, request_id).to_string() }
        }
    };
    let scope = scope_of(caller);
    let sealed = seal(&request.keys, &scope, &request.key, &response);
    idempotency::complete(tx.conn(), &scope, &request.key, &sealed, recording).await?;
    Ok(())
}

/// Notes that the caller's final answer is durable; called once its unit has committed.
pub(crate) fn mark_answered(caller: &Caller) {
    if let Some(request) = &caller.idempotency {
        request.answered.store(true, Ordering::Release);
    }
}

/// What a request carrying a key must do.
#[derive(Debug)]
pub enum IdempotencyClaim {
    /// Run it, under the request given; the key is held for it until completed or until
    /// the claim lapses.
    Run(IdempotentRequest),
    /// Answer with the stored response of the same earlier request.
    Replay(StoredResponse),
}

/// Identifies a request by its method, path and body bytes.
pub fn request_fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut context = digest::Context::new(&digest::SHA256);
    for part in [method.as_bytes(), b" ", path_and_query.as_bytes(), b"\n", body] {
        context.update(part);
    }
    hex(context.finish().as_ref())
}

impl Payrail {
    /// Claims `key` for the request `request_id`. `lease_ms` bounds how long a running
    /// request holds the key should its process die: after it, the same request may run again.
    pub async fn claim_idempotency_key(
        &self,
        caller: &Caller,
        key: &IdempotencyKey,
        request_id: Option<RequestId>,
        fingerprint: String,
        lease_ms: i64,
    ) -> Result<IdempotencyClaim, ServiceError> {
        let scope = scope_of(caller);
        let (claimed, now) = (key.clone(), self.clock.now());
        let locked_until = now.plus_ms(lease_ms);
        let decided = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let key = &claimed;
                    let existing = idempotency::claim(tx.conn(), &scope, key, &fingerprint, locked_until, now).await?;
                    let Some(record) = existing else { return Ok(Decision::Run) };
                    match record.decide(&fingerprint, now)? {
                        Decision::Run if !idempotency::reclaim(tx.conn(), &scope, key, locked_until, now).await? => {
                            // A racing request took over the lapsed key first.
                            Err(ServiceError::Rejected(key_in_use()))
                        }
                        decision => Ok(decision),
                    }
                })
            })
            .await?;
        Ok(match decided {
            Decision::Replay(stored) => IdempotencyClaim::Replay(open(&self.keys, &scope_of(caller), key, stored)?),
            Decision::Run => IdempotencyClaim::Run(IdempotentRequest {
                key: key.clone(),
                request_id,
                keys: self.keys.clone(),
                answered: Arc::new(AtomicBool::new(false)),
            }),
        })
    }

    /// Stores the response of a request that held `key`, for replay, unless a use case
    /// already recorded one with its effects.
    pub async fn complete_idempotency_key(
        &self,
        caller: &Caller,
        key: &IdempotencyKey,
        response: StoredResponse,
    ) -> Result<(), ServiceError> {
        let scope = scope_of(caller);
        let (sealed, key) = (seal(&self.keys, &scope, key, &response), key.clone());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    idempotency::complete(tx.conn(), &scope, &key, &sealed, Recording::IfNoneRecorded).await
                })
            })
            .await?;
        Ok(())
    }

    /// Deletes keys older than the retention period; returns how many.
    pub async fn prune_idempotency_keys(&self) -> Result<u64, ServiceError> {
        let created_before = self.clock.now().plus_ms(-RETENTION_MS);
        Ok(self
            .store
            .write(move |tx| Box::pin(async move { idempotency::prune(tx.conn(), created_before).await }))
            .await?)
    }
}

fn scope_of(caller: &Caller) -> KeyScope {
    KeyScope { merchant_id: caller.merchant.id.clone(), livemode: caller.mode.is_live() }
}

#[cfg(test)]
mod tests {
    use super::request_fingerprint;

    #[test]
    fn fingerprints_differ_when_method_path_or_body_differ() {
        let base = request_fingerprint("POST", "/v1/payments", b"{}");
        assert_eq!(base.len(), 64);
        assert_eq!(base, request_fingerprint("POST", "/v1/payments", b"{}"));
        for other in [
            request_fingerprint("PUT", "/v1/payments", b"{}"),
            request_fingerprint("POST", "/v1/refunds", b"{}"),
            request_fingerprint("POST", "/v1/payments", b"{ }"),
            request_fingerprint("POST", "/v1/payments\n{", b"}"),
        ] {
            assert_ne!(base, other);
        }
    }
}
