//! HTTP for every channel: building a client with timeouts, sending a request, and
//! classifying what came back (or did not) into [`ChannelError`].

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

use crate::error::{ChannelError, ConfigError};

/// Longest total timeout a channel accepts; a payment cannot wait longer than this.
pub(crate) const TIMEOUT_MS_MAX: u64 = 600_000;
/// Longest time spent opening a connection, whatever the total timeout.
const CONNECT_TIMEOUT_MS_MAX: u64 = 5_000;
/// Largest answer read from a provider; theirs are a few hundred bytes.
const RESPONSE_BYTES_MAX: usize = 256 * 1024;

/// A client whose every request has a total deadline of `timeout_ms`, and whose connect
/// deadline is shorter (half of it, at most 5 s). The shorter connect deadline matters: a
/// connect timeout proves nothing was sent ([`ChannelError::Transient`]), while the total
/// deadline firing first would have to be reported as an unknown outcome.
///
/// Redirects are not followed (a provider API does not redirect; a redirect means a wrong
/// base URL) and proxies from the environment are not used, so that "could not connect"
/// is about the provider itself.
pub(crate) fn client(timeout_ms: u64) -> Result<reqwest::Client, ConfigError> {
    client_builder(timeout_ms)?.build().map_err(|error| ConfigError::Client(error.to_string()))
}

/// The builder behind [`client`], for a channel that adds TLS settings (a client
/// certificate) before building.
pub(crate) fn client_builder(timeout_ms: u64) -> Result<reqwest::ClientBuilder, ConfigError> {
    if !(1..=TIMEOUT_MS_MAX).contains(&timeout_ms) {
        return Err(ConfigError::Timeout { max: TIMEOUT_MS_MAX });
    }
    let connect_timeout_ms = (timeout_ms / 2).clamp(1, CONNECT_TIMEOUT_MS_MAX);
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_millis(timeout_ms))
        .connect_timeout(Duration::from_millis(connect_timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("payrail/", env!("CARGO_PKG_VERSION"))))
}

/// An absolute `http(s)` base URL without query or fragment, with no trailing `/`.
pub(crate) fn base_url(text: &str) -> Result<String, ConfigError> {
    let url = reqwest::Url::parse(text).map_err(|_| ConfigError::BaseUrl)?;
    let usable =
        matches!(url.scheme(), "http" | "https") && url.has_host() && url.query().is_none() && url.fragment().is_none();
    if usable { Ok(url.as_str().trim_end_matches('/').to_owned()) } else { Err(ConfigError::BaseUrl) }
}

/// A complete answer: its status and body.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

/// Sends `request` and reads the whole answer, or says what the failure means.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> Result<Answer, ChannelError> {
    send_with_headers(request).await.map(|(answer, _)| answer)
}

/// As [`send`], also giving the answer's headers (for providers that sign their answers
/// in headers).
pub(crate) async fn send_with_headers(
    request: reqwest::RequestBuilder,
) -> Result<(Answer, reqwest::header::HeaderMap), ChannelError> {
    let mut response = request.send().await.map_err(|error| classify(&error))?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|error| classify(&error))? {
        if body.len() + chunk.len() > RESPONSE_BYTES_MAX {
            return Err(ChannelError::Protocol(format!("answer larger than {RESPONSE_BYTES_MAX} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((Answer { status, body }, headers))
}

/// What a transport failure means for the request's outcome.
fn classify(error: &reqwest::Error) -> ChannelError {
    if client_certificate_refused(error) {
        return ChannelError::Transient { code: "client_certificate_refused".to_owned() };
    }
    // Checked next: a connect error, a connect timeout included, happened before any byte
    // of the request was written.
    if error.is_connect() {
        return ChannelError::Transient { code: "connection_failed".to_owned() };
    }
    if error.is_builder() {
        // The URL is validated when the client is built, so this is not expected; either
        // way nothing was sent.
        return ChannelError::Transient { code: "request_not_built".to_owned() };
    }
    if error.is_timeout() {
        return ChannelError::Timeout;
    }
    ChannelError::ConnectionLost
}

/// Whether the server ended the TLS handshake with an alert refusing our client
/// certificate. Under TLS 1.3 the client's side of the handshake is over before the
/// server has checked the certificate, so the alert can arrive after the request was
/// written and is then not a connect error; but a server reads no request before the
/// handshake completes, so nothing was done. `decrypt_error` is in the list because it is
/// what rustls sends for a certificate whose issuer has a trusted name but whose signature
/// does not verify.
fn client_certificate_refused(error: &reqwest::Error) -> bool {
    use rustls::AlertDescription as Alert;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        // `io::Error::source` skips the error it wraps, so look inside it explicitly.
        let wrapped = current.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        let tls = wrapped.and_then(|inner| inner.downcast_ref::<rustls::Error>());
        let tls = tls.or_else(|| current.downcast_ref::<rustls::Error>());
        if let Some(rustls::Error::AlertReceived(alert)) = tls {
            return matches!(
                alert,
                Alert::CertificateRequired
                    | Alert::BadCertificate
                    | Alert::UnknownCA
                    | Alert::CertificateUnknown
                    | Alert::UnsupportedCertificate
                    | Alert::CertificateExpired
                    | Alert::CertificateRevoked
                    | Alert::AccessDenied
                    | Alert::DecryptError
            );
        }
        source = current.source();
    }
    false
}

#[derive(Deserialize)]
struct Envelope {
    error: EnvelopeError,
}

#[derive(Deserialize)]
struct EnvelopeError {
    code: String,
    #[serde(default)]
    message: String,
}

/// The error of a non-2xx answer.
pub(crate) fn refusal(answer: &Answer) -> ChannelError {
    let envelope = serde_json::from_slice::<Envelope>(&answer.body).ok().map(|envelope| envelope.error);
    refusal_with(answer.status, envelope.map(|error| (error.code, error.message)))
}

/// The error of a non-2xx answer whose provider error body, if it had one, gave `error`
/// (code, message): 5xx and 429 with a body are transient, 4xx rejected, and anything
/// without the provider's body is an unknown outcome unless it is a plain 4xx.
pub(crate) fn refusal_with(status: StatusCode, error: Option<(String, String)>) -> ChannelError {
    match error {
        Some((code, _)) if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
            ChannelError::Transient { code }
        }
        Some((code, message)) if status.is_client_error() => {
            ChannelError::Rejected { status: status.as_u16(), code, message }
        }
        None if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS => ChannelError::Rejected {
            status: status.as_u16(),
            code: format!("http_{}", status.as_u16()),
            message: "the answer had no error envelope".to_owned(),
        },
        _ => {
            ChannelError::Protocol(format!("unexpected HTTP {} without the provider's error envelope", status.as_u16()))
        }
    }
}

/// Parses a 2xx body.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(answer: &Answer) -> Result<T, ChannelError> {
    serde_json::from_slice(&answer.body).map_err(|error| ChannelError::Protocol(format!("unreadable body: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer { status: StatusCode::from_u16(status).expect("valid status"), body: body.as_bytes().to_vec() }
    }

    #[test]
    fn refusals_are_classified_by_status_and_envelope() {
        let envelope = r#"{"error":{"code":"processing_error","message":"nothing was done"}}"#;
        let transient = ChannelError::Transient { code: "processing_error".to_owned() };
        assert_eq!(refusal(&answer(503, envelope)), transient);
        assert_eq!(refusal(&answer(429, envelope)), transient);
        let rejected = refusal(&answer(409, r#"{"error":{"code":"reference_conflict","message":"m"}}"#));
        assert_eq!(rejected.code(), Some("reference_conflict"));
        assert!(!rejected.is_transient() && !rejected.outcome_is_unknown());
        assert!(refusal(&answer(502, "<html>bad gateway</html>")).outcome_is_unknown());
        assert!(refusal(&answer(504, "")).outcome_is_unknown());
        assert!(refusal(&answer(302, "")).outcome_is_unknown());
        assert_eq!(refusal(&answer(404, "not json")).code(), Some("http_404"));
    }

    #[test]
    fn base_urls_must_be_absolute_http_and_lose_their_trailing_slash() {
        assert_eq!(
            base_url("http://127.0.0.1:9/sandbox/card-network/").as_deref(),
            Ok("http://127.0.0.1:9/sandbox/card-network")
        );
        assert_eq!(base_url("https://acquirer.test").as_deref(), Ok("https://acquirer.test"));
        for bad in ["", "/relative", "ftp://acquirer.test", "https://acquirer.test/?a=1", "https://acquirer.test/#x"] {
            assert_eq!(base_url(bad), Err(ConfigError::BaseUrl), "{bad}");
        }
    }

    #[test]
    fn timeouts_must_be_positive_and_bounded() {
        assert!(client(0).is_err());
        assert!(client(TIMEOUT_MS_MAX + 1).is_err());
        assert!(client(1).is_ok());
    }
}
