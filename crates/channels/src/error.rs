//! How a call to a provider failed, classified by what the caller may conclude about the
//! money.
//!
//! The one question that matters after a failed call is "could the provider have acted on
//! it?". Three answers are possible:
//!
//! - **Certainly not done** ([`ChannelError::Transient`], [`ChannelError::Rejected`]): the
//!   request never left this process (the connection could not be opened), or the provider
//!   answered that it did nothing.
//! - **Outcome unknown** ([`ChannelError::Timeout`], [`ChannelError::ConnectionLost`],
//!   [`ChannelError::Protocol`]): the request may have been received and acted on. The
//!   caller must find out by querying with the same reference, or by sending the same
//!   request again under the same reference (the provider then answers with what it
//!   stored). It must never send the request under a new reference.
//! - Success, which is not an error.

/// A failed call to a provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// No complete answer arrived within `timeout_ms`. The request may have been received
    /// and acted on: the outcome is unknown. Query with the same reference.
    #[error("the provider did not answer within the timeout; the outcome is unknown")]
    Timeout,
    /// The connection was opened and then broke (reset, closed early) before a complete
    /// answer arrived. The request may have been received: the outcome is unknown. Query
    /// with the same reference.
    #[error("the connection broke before the provider answered; the outcome is unknown")]
    ConnectionLost,
    /// Nothing was done, and the same request under the same reference may succeed later:
    /// the connection could not be opened (refused, unreachable, connect timeout, TLS
    /// handshake failed), so not a byte of the request was sent; or the provider answered
    /// 5xx or 429 with its error envelope, which in its protocol means nothing was stored.
    /// `code` is the provider's code, or `connection_failed`, or `client_certificate_refused`
    /// (the server ended the TLS handshake with a certificate alert, which under TLS 1.3
    /// can arrive after the request was written but before any server reads it).
    #[error("the provider could not take the request ({code}); nothing was done")]
    Transient { code: String },
    /// The provider refused the request with a 4xx answer; nothing was done, and sending
    /// the same request again will not help. This is a bug in the caller (a malformed
    /// request, a wrong API key) or a conflict (`reference_conflict`, `invalid_state`,
    /// `amount_too_large`). Alipay refuses with HTTP 200 and a signed `code`/`sub_code`:
    /// its refusals have `status` 200 and the `sub_code` (`ACQ.TRADE_STATUS_ERROR`, …) as
    /// `code`. A request refused before it was sent (a currency the provider does not
    /// take) has `status` 400.
    #[error("the provider refused the request with HTTP {status} ({code})")]
    Rejected { status: u16, code: String, message: String },
    /// The provider answered something this client cannot read: a 2xx body that does not
    /// parse or does not match the request, a 5xx without the provider's envelope (say
    /// from a proxy in between), or an unexpected status. The request may have been acted
    /// on: the outcome is unknown. Query with the same reference.
    #[error("the provider's answer could not be understood ({0}); the outcome is unknown")]
    Protocol(String),
}

impl ChannelError {
    /// Whether the provider may have acted on the request, so that the caller must find
    /// out (query, or resend under the same reference) before concluding anything.
    pub fn outcome_is_unknown(&self) -> bool {
        matches!(self, ChannelError::Timeout | ChannelError::ConnectionLost | ChannelError::Protocol(_))
    }

    /// Whether sending the same request again, under the same reference, may succeed.
    pub fn is_transient(&self) -> bool {
        !matches!(self, ChannelError::Rejected { .. })
    }

    /// The provider's error code, where it gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ChannelError::Transient { code } | ChannelError::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Why a channel client could not be built from its configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("base_url must be an absolute http or https URL without a query or fragment")]
    BaseUrl,
    #[error("timeout_ms must be between 1 and {max}")]
    Timeout { max: u64 },
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
    #[error("the {0} is not a usable RSA key in PEM or base64")]
    Key(&'static str),
    #[error("the {0} must not be empty")]
    Empty(&'static str),
}
