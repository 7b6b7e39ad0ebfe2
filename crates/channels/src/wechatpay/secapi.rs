//! The HTTP client for WeChat Pay's `/secapi/…` paths (v2 reverse), which WeChat serves
//! only over mutual TLS: the merchant API certificate (`apiclient_cert.pem`) and its key
//! (`apiclient_key.pem`) are presented as the TLS client identity.
//!
//! Without a configured certificate these calls fail before anything is sent
//! (`client_certificate_missing`), never falling back to a connection without one. A
//! server that refuses the certificate during the handshake is reported as
//! `client_certificate_refused`, with nothing done (see `transport::classify`).

use payrail_domain::Secret;

use crate::error::{ChannelError, ConfigError};
use crate::transport;

/// The merchant API certificate and its private key, both PEM. `Debug` masks the key.
#[derive(Debug, Clone)]
pub struct ClientCertificate {
    /// `apiclient_cert.pem`: the certificate, optionally followed by its chain.
    pub certificate_pem: String,
    /// `apiclient_key.pem`, PKCS#8 or PKCS#1; for WeChat's certificates the same key as
    /// [`super::WechatPayConfig::merchant_private_key_pem`].
    pub private_key_pem: Secret<String>,
}

/// The mutual-TLS client and where it sends `/secapi/…` calls.
#[derive(Clone)]
pub(crate) struct SecapiClient {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
}

/// Why the secapi client could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecapiConfigError {
    #[error("the client certificate and key are not a usable PEM identity")]
    ClientCertificate,
    #[error("the secapi CA certificate is not a usable PEM certificate")]
    CaCertificate,
    #[error("the secapi base URL must be https: a client certificate is never sent in the clear")]
    NotHttps,
    #[error(transparent)]
    Transport(#[from] ConfigError),
}

impl SecapiClient {
    /// A client presenting `certificate`, trusting only `ca_certificate_pem` when given (a
    /// sandbox) and the system's roots otherwise, sending to `base_url`.
    pub(crate) fn new(
        certificate: &ClientCertificate,
        ca_certificate_pem: Option<&str>,
        base_url: &str,
        timeout_ms: u64,
    ) -> Result<SecapiClient, SecapiConfigError> {
        let mut identity_pem = certificate.certificate_pem.trim_end().to_owned();
        identity_pem.push('\n');
        identity_pem.push_str(certificate.private_key_pem.expose());
        let identity =
            reqwest::Identity::from_pem(identity_pem.as_bytes()).map_err(|_| SecapiConfigError::ClientCertificate)?;
        let mut builder = transport::client_builder(timeout_ms)?.identity(identity);
        if let Some(pem) = ca_certificate_pem {
            let ca = reqwest::Certificate::from_pem(pem.as_bytes()).map_err(|_| SecapiConfigError::CaCertificate)?;
            builder = builder.tls_certs_only([ca]);
        }
        let http = builder.build().map_err(|error| ConfigError::Client(error.to_string()))?;
        let base_url = transport::base_url(base_url)?;
        if !base_url.starts_with("https://") {
            return Err(SecapiConfigError::NotHttps);
        }
        Ok(SecapiClient { http, base_url })
    }
}

/// What a `/secapi/…` call without a configured certificate fails with: nothing was sent.
pub(crate) fn certificate_missing() -> ChannelError {
    ChannelError::Rejected {
        status: 0,
        code: "client_certificate_missing".to_owned(),
        message: "this call needs the merchant's API client certificate (mutual TLS)".to_owned(),
    }
}
