//! The v3 gate every `/v3/…` request passes: it checks the merchant's `Authorization`
//! signature before any handler runs, and signs every 2xx answer (a 204 included) on the
//! way out with the platform key.
//!
//! The request check, as WeChat Pay runs it: the scheme `WECHATPAY2-SHA256-RSA2048`, the
//! parameters `mchid`, `nonce_str`, `signature`, `timestamp`, `serial_no` in any order
//! (SDKs differ), the serial of the merchant's registered key, a timestamp within 300 s,
//! and SHA256withRSA over `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n` with the raw body
//! bytes. Failing any of it is 401 `SIGN_ERROR`.
//!
//! Mounted under a prefix, the path is accepted as signed either with the prefix (as the
//! client sent it: `wechatpay-axios-plugin` and Payrail's channel sign the full path) or
//! without it (`wechatpayv3` signs only `/v3/…` whatever its gateway URL). Against the real
//! API, with no prefix, the two are the same.

use std::collections::HashMap;

use axum::body::{Body, to_bytes};
use axum::extract::{OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::merchants::Merchant;
use super::random::token;
use super::{BODY_BYTES_MAX, WechatPay};

const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";
const TOLERANCE_SECONDS: i64 = 300;
const AUTHORIZATION_BYTES_MAX: usize = 2048;

/// The merchant whose signature a request carried; handlers take it from the extensions.
#[derive(Clone)]
pub(crate) struct Caller(pub(crate) Merchant);

pub(crate) async fn v3_gate(State(simulator): State<WechatPay>, request: Request, next: Next) -> Response {
    let request_id = token(32);
    let (parts, body) = request.into_parts();
    let response = match to_bytes(body, BODY_BYTES_MAX).await {
        Err(_) => ApiError::param("请求体过大或无法读取").into_response(),
        Ok(bytes) => match authenticate(&simulator, &parts, &bytes) {
            Err(error) => {
                tracing::info!(code = error.code, "wechat pay simulator refused a request signature");
                error.into_response()
            }
            Ok(merchant) => {
                let mut request = Request::from_parts(parts, Body::from(bytes));
                request.extensions_mut().insert(Caller(merchant));
                sign_response(&simulator, next.run(request).await).await
            }
        },
    };
    with_header(response, "request-id", &request_id)
}

fn authenticate(simulator: &WechatPay, parts: &Parts, body: &[u8]) -> Result<Merchant, ApiError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .filter(|value| value.len() <= AUTHORIZATION_BYTES_MAX)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| ApiError::sign_error("缺少 Authorization 头"))?;
    let parameters = parse_authorization(header).ok_or_else(|| ApiError::sign_error("Authorization 格式错误"))?;
    let field = |name: &str| parameters.get(name).map(String::as_str).unwrap_or_default();
    let merchant = simulator.merchant(field("mchid")).ok_or_else(|| ApiError::sign_error("商户号不存在"))?;
    if field("serial_no") != merchant.serial_no {
        return Err(ApiError::sign_error("商户证书序列号有误"));
    }
    let timestamp: i64 = field("timestamp").parse().map_err(|_| ApiError::sign_error("时间戳格式错误"))?;
    if (simulator.now().unix_seconds() - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(ApiError::sign_error("请求已过期"));
    }
    let as_received = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |original| &original.0);
    let candidates = [as_received, &parts.uri].map(|uri| uri.path_and_query().map_or("/", |pq| pq.as_str()));
    let verified = candidates.iter().any(|url| {
        let message = signed_message(parts.method.as_str(), url, field("timestamp"), field("nonce_str"), body);
        merchant.public_key.verify_base64(&message, field("signature"))
    });
    if verified { Ok(merchant) } else { Err(ApiError::sign_error("签名错误")) }
}

fn signed_message(method: &str, url: &str, timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{method}\n{url}\n{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// The parameters of `WECHATPAY2-SHA256-RSA2048 k="v",k="v",…`, if all five are there once.
fn parse_authorization(header: &str) -> Option<HashMap<String, String>> {
    let rest = header.trim().strip_prefix(SCHEME)?.strip_prefix(' ')?;
    let mut parameters = HashMap::new();
    for pair in rest.split(',') {
        let (name, value) = pair.trim().split_once('=')?;
        let value = value.strip_prefix('"')?.strip_suffix('"')?;
        if parameters.insert(name.to_owned(), value.to_owned()).is_some() {
            return None;
        }
    }
    let complete = ["mchid", "nonce_str", "signature", "timestamp", "serial_no"]
        .iter()
        .all(|name| parameters.get(*name).is_some_and(|value| !value.is_empty()));
    complete.then_some(parameters)
}

/// Adds the five `Wechatpay-*` headers to a 2xx answer, signed over its exact body.
pub(crate) async fn sign_response(simulator: &WechatPay, response: Response) -> Response {
    if !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_BYTES_MAX).await else {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "SYSTEM_ERROR", "系统错误").into_response();
    };
    let headers = simulator.signature_headers(&bytes);
    let mut response = Response::from_parts(parts, Body::from(bytes));
    for (name, value) in headers {
        response = with_header(response, name, &value);
    }
    response
}

fn with_header(mut response: Response, name: &'static str, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(HeaderName::from_static(name), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::parse_authorization;

    #[test]
    fn authorization_parameters_are_read_in_any_order_and_must_all_be_there_once() {
        let sdk_orders = [
            r#"WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",signature="s",timestamp="2",serial_no="S""#,
            r#"WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="S",timestamp="2",nonce_str="n",signature="s""#,
            r#"WECHATPAY2-SHA256-RSA2048 mchid="1", nonce_str="n", timestamp="2", serial_no="S", signature="s""#,
        ];
        for header in sdk_orders {
            let parameters = parse_authorization(header).expect(header);
            assert_eq!(parameters["signature"], "s");
            assert_eq!(parameters["serial_no"], "S");
        }
        for bad in [
            r#"WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",signature="s",timestamp="2""#,
            r#"WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="2",nonce_str="n",signature="s",timestamp="2",serial_no="S""#,
            r#"Bearer mchid="1",nonce_str="n",signature="s",timestamp="2",serial_no="S""#,
            r#"WECHATPAY2-SHA256-RSA2048 mchid=1,nonce_str="n",signature="s",timestamp="2",serial_no="S""#,
        ] {
            assert!(parse_authorization(bad).is_none(), "{bad}");
        }
    }
}
