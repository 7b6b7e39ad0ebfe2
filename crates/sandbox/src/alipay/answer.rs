//! The gateway's answers: refusals with Alipay's codes, and the signed body
//! `{"<method>_response":{…},"sign":"…"}` every answer is sent in, with HTTP 200 even for
//! refusals (the official Python SDK raises on any other status).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use payrail_crypto::rsa::RsaPrivateKey;
use serde_json::{Map, Value};

/// A refusal as Alipay words it: `code`/`msg` for the class, `sub_code`/`sub_msg` for the
/// reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    code: &'static str,
    msg: &'static str,
    sub_code: &'static str,
    sub_msg: String,
}

impl Refusal {
    /// `40001`: a required common parameter is missing.
    pub(crate) fn missing(sub_code: &'static str, sub_msg: &str) -> Refusal {
        Refusal { code: "40001", msg: "Missing Required Arguments", sub_code, sub_msg: sub_msg.to_owned() }
    }

    /// `40002`: a common parameter is wrong (signature, app id, method).
    pub(crate) fn invalid(sub_code: &'static str, sub_msg: &str) -> Refusal {
        Refusal { code: "40002", msg: "Invalid Arguments", sub_code, sub_msg: sub_msg.to_owned() }
    }

    /// `40004`: the business rule refused it.
    pub(crate) fn business(sub_code: &'static str, sub_msg: &str) -> Refusal {
        Refusal { code: "40004", msg: "Business Failed", sub_code, sub_msg: sub_msg.to_owned() }
    }

    /// `40004 ACQ.INVALID_PARAMETER`: `biz_content` lacks or garbles a field.
    pub(crate) fn parameter(field: &str) -> Refusal {
        Refusal::business("ACQ.INVALID_PARAMETER", &format!("参数无效: {field}"))
    }

    /// `ACQ.TRADE_NOT_EXIST`.
    pub(crate) fn trade_not_exist() -> Refusal {
        Refusal::business("ACQ.TRADE_NOT_EXIST", "交易不存在")
    }

    /// `20000`: the simulator's memory is full; nothing was stored.
    pub(crate) fn capacity() -> Refusal {
        Refusal {
            code: "20000",
            msg: "Service Currently Unavailable",
            sub_code: "isp.unknow-error",
            sub_msg: "系统繁忙".to_owned(),
        }
    }

    pub(crate) fn sub_code(&self) -> &'static str {
        self.sub_code
    }

    pub(crate) fn into_fields(self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("code".to_owned(), self.code.into());
        fields.insert("msg".to_owned(), self.msg.into());
        fields.insert("sub_code".to_owned(), self.sub_code.into());
        fields.insert("sub_msg".to_owned(), self.sub_msg.into());
        fields
    }
}

/// The fields of a success: `code` `10000` first, then `fields`.
pub(crate) fn success(fields: Map<String, Value>) -> Map<String, Value> {
    with_code("10000", "Success", fields)
}

/// Fields under a given code and message, the code first as Alipay writes it.
pub(crate) fn with_code(code: &str, msg: &str, fields: Map<String, Value>) -> Map<String, Value> {
    let mut all = Map::new();
    all.insert("code".to_owned(), code.into());
    all.insert("msg".to_owned(), msg.into());
    all.extend(fields);
    all
}

/// The response body without a signature, for a request from an unknown app.
pub(crate) fn unsigned_body(response_key: &str, fields: &Map<String, Value>) -> String {
    format!("{{\"{response_key}\":{}}}", Value::Object(fields.clone()))
}

/// The response body: the object's text (with `/` written `\/`, as Alipay's JSON writer
/// does, so a client that re-serializes instead of using the raw text fails here as it
/// would in production), then its signature right after it.
pub(crate) fn signed_body(key: &RsaPrivateKey, response_key: &str, fields: &Map<String, Value>) -> String {
    let text = Value::Object(fields.clone()).to_string().replace('/', "\\/");
    // Signing with a key the simulator generated itself fails only if the system's
    // cryptography is broken; the answer is then unsigned and every client refuses it.
    let sign = key.sign_base64(text.as_bytes()).unwrap_or_default();
    format!("{{\"{response_key}\":{text},\"sign\":\"{sign}\"}}")
}

/// An HTTP 200 JSON answer.
pub(crate) fn json_response(body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=utf-8"));
    response
}
