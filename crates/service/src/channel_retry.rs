//! Calling a channel again when it says it did nothing and may succeed later
//! ([`ChannelError::Transient`]: it could not be reached, or answered 5xx/429, or Alipay's
//! `ACQ.SYSTEM_ERROR`-like codes the client classifies so). The same request goes again
//! under the same reference, so a repeat can never charge or refund twice.
//!
//! Only for calls the provider treats as idempotent under their reference (placing an
//! order, a refund); a payment code's pay has its own rules (`payment_codes.rs`).

use std::future::Future;
use std::time::Duration;

use payrail_channels::ChannelError;

/// Further tries after the first, and the pause before the first of them (tripled after
/// each): at most 0.2 + 0.6 s more, well inside a request.
const TRANSIENT_RETRIES: u32 = 2;
const FIRST_PAUSE_MS: u64 = 200;

/// `call`, tried again after a transient failure, at most [`TRANSIENT_RETRIES`] times.
pub(crate) async fn retrying_transient<T, F, Fut>(mut call: F) -> Result<T, ChannelError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ChannelError>>,
{
    let (mut left, mut pause_ms) = (TRANSIENT_RETRIES, FIRST_PAUSE_MS);
    loop {
        match call().await {
            Err(ChannelError::Transient { code }) if left > 0 => {
                tracing::info!(code, left, "the channel could not take the request; sending it again");
                tokio::time::sleep(Duration::from_millis(pause_ms)).await;
                (left, pause_ms) = (left - 1, pause_ms * 3);
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn transient() -> ChannelError {
        ChannelError::Transient { code: "SYSTEM_ERROR".to_owned() }
    }

    #[tokio::test]
    async fn a_transient_failure_is_tried_again_under_the_same_call_and_at_most_twice() {
        let calls = AtomicU32::new(0);
        let answer = retrying_transient(|| async {
            let call = calls.fetch_add(1, Ordering::SeqCst);
            if call < 2 { Err(transient()) } else { Ok(call) }
        })
        .await;
        assert_eq!(answer, Ok(2));
        let calls = AtomicU32::new(0);
        let answer: Result<(), _> = retrying_transient(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(transient())
        })
        .await;
        assert_eq!((answer, calls.load(Ordering::SeqCst)), (Err(transient()), 3));
    }

    #[tokio::test]
    async fn a_refusal_or_an_unknown_outcome_is_not_sent_again_here() {
        for error in [
            ChannelError::Rejected { status: 400, code: "PARAM_ERROR".to_owned(), message: String::new() },
            ChannelError::Timeout,
        ] {
            let calls = AtomicU32::new(0);
            let answer: Result<(), _> = retrying_transient(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(error.clone())
            })
            .await;
            assert_eq!((answer, calls.load(Ordering::SeqCst)), (Err(error), 1));
        }
    }
}
