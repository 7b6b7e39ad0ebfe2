//! Reading fields out of a JSON body with errors that name the field and never repeat its
//! value.
//!
//! serde's own messages quote the offending value (`invalid type: string "4242…"`), which
//! would put card numbers into error bodies, so bodies are read as a JSON value and each
//! field is taken out here instead.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::error::NetworkError;

pub(crate) type Object = Map<String, Value>;

/// The request body as bytes, or 413 when it was over the limit.
pub(crate) fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, NetworkError> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => NetworkError::BodyTooLarge,
        _ => NetworkError::InvalidRequest { field: None, message: "the request body could not be read".into() },
    })
}

/// The body as a JSON object.
pub(crate) fn json_object(body: &[u8]) -> Result<Object, NetworkError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(NetworkError::InvalidRequest { field: None, message: "the body must be a JSON object".into() }),
        Err(_) => Err(NetworkError::InvalidRequest { field: None, message: "the body is not valid JSON".into() }),
    }
}

fn present<'a>(object: &'a Object, key: &str, field: &'static str) -> Result<&'a Value, NetworkError> {
    object
        .get(key)
        .filter(|value| !value.is_null())
        .ok_or_else(|| NetworkError::invalid(field, format!("{field} is required")))
}

pub(crate) fn text<'a>(object: &'a Object, key: &str, field: &'static str) -> Result<&'a str, NetworkError> {
    present(object, key, field)?
        .as_str()
        .ok_or_else(|| NetworkError::invalid(field, format!("{field} must be a string")))
}

pub(crate) fn integer(object: &Object, key: &str, field: &'static str) -> Result<i64, NetworkError> {
    present(object, key, field)?
        .as_i64()
        .ok_or_else(|| NetworkError::invalid(field, format!("{field} must be an integer")))
}

pub(crate) fn boolean(object: &Object, key: &str, field: &'static str) -> Result<bool, NetworkError> {
    present(object, key, field)?
        .as_bool()
        .ok_or_else(|| NetworkError::invalid(field, format!("{field} must be true or false")))
}

pub(crate) fn object<'a>(object: &'a Object, key: &str, field: &'static str) -> Result<&'a Object, NetworkError> {
    present(object, key, field)?
        .as_object()
        .ok_or_else(|| NetworkError::invalid(field, format!("{field} must be an object")))
}

/// A reference: 1 to 64 characters of `A-Z a-z 0-9 _ -`. References travel in URL paths
/// and in the challenge page, so this alphabet also keeps both free of escaping problems.
pub(crate) fn reference(object: &Object, key: &str, field: &'static str) -> Result<String, NetworkError> {
    let value = text(object, key, field)?;
    if is_reference(value) {
        Ok(value.to_owned())
    } else {
        Err(NetworkError::invalid(field, format!("{field} must be 1 to 64 characters of letters, digits, _ and -")))
    }
}

pub(crate) fn is_reference(value: &str) -> bool {
    (1..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A positive amount in minor units.
pub(crate) fn amount_minor(object: &Object, key: &str, field: &'static str) -> Result<i64, NetworkError> {
    let amount = integer(object, key, field)?;
    if amount >= 1 { Ok(amount) } else { Err(NetworkError::invalid(field, format!("{field} must be at least 1"))) }
}
