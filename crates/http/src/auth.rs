//! Authentication: `Authorization: Bearer <secret>`, or HTTP Basic with the secret as the
//! user name and an empty password, as Stripe's client libraries send it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use payrail_domain::{ApiKeySecret, Problem};
use payrail_service::Caller;

use crate::{ApiError, AppState};

/// The authenticated caller of a request.
pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Authenticated, ApiError> {
        // A layer before the handler (idempotency) may have authenticated already.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(Authenticated(caller.clone()));
        }
        Ok(Authenticated(authenticate(state, &parts.headers).await?))
    }
}

/// Establishes the caller from the request's headers.
pub(crate) async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let secret = presented_secret(headers)?;
    Ok(state.payrail.authenticate(&secret).await?)
}

fn presented_secret(headers: &HeaderMap) -> Result<ApiKeySecret, Problem> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        Problem::authentication("api_key_missing", "no API key provided; send Authorization: Bearer sk_test_…")
    })?;
    let value = value.to_str().map_err(|_| malformed_header())?;
    let (scheme, credentials) = value.trim().split_once(' ').ok_or_else(malformed_header)?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        ApiKeySecret::parse(credentials)
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(credentials).map_err(|_| malformed_header())?;
        let decoded = String::from_utf8(decoded).map_err(|_| malformed_header())?;
        let user = decoded.split_once(':').map_or(decoded.as_str(), |(user, _password)| user);
        ApiKeySecret::parse(user)
    } else {
        Err(malformed_header())
    }
}

fn malformed_header() -> Problem {
    Problem::authentication(
        "authorization_header_malformed",
        "the Authorization header must be Bearer <secret> or Basic <base64 of secret:>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn check(header_value: Option<&[u8]>, expected_code: Option<&str>) {
        let mut headers = HeaderMap::new();
        if let Some(value) = header_value {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_bytes(value).expect("valid header bytes"));
        }
        let result = presented_secret(&headers);
        match expected_code {
            None => assert!(result.is_ok(), "{:?}", result.err()),
            Some(code) => assert_eq!(result.expect_err("should be refused").code, code),
        }
    }

    #[test]
    fn bearer_and_basic_forms_are_accepted_and_everything_else_is_named() {
        let secret = format!("sk_test_{}", "ab".repeat(32));
        let basic = STANDARD.encode(format!("{secret}:"));
        check(Some(format!("Bearer {secret}").as_bytes()), None);
        check(Some(format!("bearer   {secret} ").as_bytes()), None);
        check(Some(format!("Basic {basic}").as_bytes()), None);
        check(Some(format!("Basic {}", STANDARD.encode(&secret)).as_bytes()), None);
        check(None, Some("api_key_missing"));
        check(Some(b"Bearer"), Some("authorization_header_malformed"));
        check(Some(format!("Token {secret}").as_bytes()), Some("authorization_header_malformed"));
        check(Some(b"Basic !!!not-base64"), Some("authorization_header_malformed"));
        check(Some(b"Bearer \xff\xfe"), Some("authorization_header_malformed"));
        check(Some(b"Bearer sk_test_short"), Some("api_key_malformed"));
        check(Some(format!("Basic {}", STANDARD.encode("user:sk")).as_bytes()), Some("api_key_malformed"));
    }
}
