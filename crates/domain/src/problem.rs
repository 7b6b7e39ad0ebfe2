//! Errors a client can see: a type, a stable `snake_case` code, an HTTP status, a human
//! message and, where it applies, the offending parameter.
//!
//! Invariant: messages never contain the value a client sent (it may be a secret or card
//! data); they name the parameter instead.

use std::borrow::Cow;

/// The broad class of an error, as the `type` field of the error envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    InvalidRequest,
    Authentication,
    Permission,
    Idempotency,
    RateLimit,
    Card,
    Api,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest => "invalid_request_error",
            ErrorType::Authentication => "authentication_error",
            ErrorType::Permission => "permission_error",
            ErrorType::Idempotency => "idempotency_error",
            ErrorType::RateLimit => "rate_limit_error",
            ErrorType::Card => "card_error",
            ErrorType::Api => "api_error",
        }
    }
}

/// One client-visible error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub error_type: ErrorType,
    pub status: u16,
    pub code: &'static str,
    pub message: Cow<'static, str>,
    pub param: Option<Cow<'static, str>>,
}

impl Problem {
    fn new(error_type: ErrorType, status: u16, code: &'static str, message: impl Into<Cow<'static, str>>) -> Problem {
        debug_assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "code {code}");
        Problem { error_type, status, code, message: message.into(), param: None }
    }

    /// 400: the request is wrong and sending it again unchanged will not help.
    pub fn invalid_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Problem {
        Problem::new(ErrorType::InvalidRequest, 400, code, message)
    }

    /// 404 `resource_missing`: no such object, or not one this key may see. The two are
    /// deliberately indistinguishable so that ids cannot be probed across merchants.
    pub fn resource_missing(what: &'static str, param: &'static str) -> Problem {
        Problem::new(ErrorType::InvalidRequest, 404, "resource_missing", format!("no such {what}")).with_param(param)
    }

    /// 401: who is calling could not be established.
    pub fn authentication(code: &'static str, message: impl Into<Cow<'static, str>>) -> Problem {
        Problem::new(ErrorType::Authentication, 401, code, message)
    }

    /// 403: the caller is known but may not do this.
    pub fn permission(code: &'static str, message: impl Into<Cow<'static, str>>) -> Problem {
        Problem::new(ErrorType::Permission, 403, code, message)
    }

    /// 500 with a message that reveals nothing; the cause is logged by whoever saw it.
    pub fn internal() -> Problem {
        Problem::new(ErrorType::Api, 500, "internal_error", "an unexpected error occurred; it has been logged")
    }

    /// 503: a dependency (the database) is unavailable; retrying later may succeed.
    pub fn unavailable(code: &'static str, message: impl Into<Cow<'static, str>>) -> Problem {
        Problem::new(ErrorType::Api, 503, code, message)
    }

    pub fn with_param(mut self, param: impl Into<Cow<'static, str>>) -> Problem {
        self.param = Some(param.into());
        self
    }

    pub fn with_status(mut self, status: u16) -> Problem {
        debug_assert!((400..600).contains(&status));
        self.status = status;
        self
    }

    /// Whether the same request may succeed if sent again later.
    pub fn is_transient(&self) -> bool {
        matches!(self.status, 409 | 429 | 500..=599)
    }
}
