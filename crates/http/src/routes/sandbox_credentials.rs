//! `GET /sandbox/credentials`: what an outside Alipay or WeChat Pay SDK needs to talk to
//! this server's simulators as if they were the providers, as JSON (the document
//! `payrail sandbox credentials --json` prints, plus the WeChat Pay mutual-TLS listener of
//! this run) or, for a browser, as a plain HTML page.
//!
//! Each merchant sees its own: the sandbox accounts the server made for its test mode (made
//! on this first look if need be). The keys are test mode's secrets, so only a test-mode
//! API key of a merchant in good standing sees them: a live key is refused (403 `livemode_key_refused`) rather than
//! accepted, so that nobody gets used to pasting live keys into a sandbox page. Nothing is
//! cached, and nothing here is logged.

use axum::extract::State;
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, VARY, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use payrail_domain::Problem;

use super::sandbox_document::SandboxCredentials;
use crate::{ApiError, AppState, auth};

/// Where the page is served.
pub const SANDBOX_CREDENTIALS_PATH: &str = "/sandbox/credentials";
/// What a browser is asked for when no usable key came: the key as the user name.
const BASIC_CHALLENGE: &str = "Basic realm=\"Payrail sandbox\"";
/// Only inline styles; nothing is loaded from anywhere, nothing may frame the page.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}\
pre{background:#f4f5f7;padding:.5rem;overflow-x:auto;margin:.25rem 0 1rem}dt{font-weight:600}\
.note{color:#5b6170}";

pub(crate) fn router() -> Router<AppState> {
    Router::new().route(SANDBOX_CREDENTIALS_PATH, get(show))
}

async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut response = match credentials_of_caller(&state, &headers).await {
        Ok(credentials) if wants_html(&headers) => page(&credentials),
        Ok(credentials) => Json(&credentials).into_response(),
        Err(error) => refusal(error),
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(VARY, HeaderValue::from_static("Accept, Authorization"));
    response
}

/// The sandbox credentials of the merchant whose test-mode key came (the key checks are
/// the API's own); its sandbox accounts are made if it has none yet.
async fn credentials_of_caller(state: &AppState, headers: &HeaderMap) -> Result<SandboxCredentials, ApiError> {
    let caller = auth::authenticate(state, headers).await?;
    if caller.mode.is_live() {
        let message = "the sandbox credentials are shown only for a test-mode key (sk_test_…)";
        return Err(Problem::permission("livemode_key_refused", message).into());
    }
    let fields = state.payrail.sandbox_account_fields(&caller.merchant.id).await?;
    Ok(SandboxCredentials::from_fields(&fields))
}

/// The API's error envelope; a 401 asks a browser for the key as a Basic user name.
fn refusal(error: ApiError) -> Response {
    let unauthorized = error.0.status == StatusCode::UNAUTHORIZED.as_u16();
    let mut response = error.into_response();
    if unauthorized {
        response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(BASIC_CHALLENGE));
    }
    response
}

/// HTML only when the client prefers `text/html` to `application/json` (a browser);
/// `*/*`, no `Accept` and ties get JSON.
fn wants_html(headers: &HeaderMap) -> bool {
    let accept = headers.get(ACCEPT).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let quality_of = |wanted: &str| {
        accept
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';').map(str::trim);
                let media = parts.next()?;
                let quality = parts.find_map(|param| param.strip_prefix("q=")).map_or(Some(1000), quality_millis)?;
                media.eq_ignore_ascii_case(wanted).then_some(quality)
            })
            .max()
            .unwrap_or(0)
    };
    quality_of("text/html") > quality_of("application/json")
}

/// `q=0.8` as 800; no float is needed to compare preferences.
fn quality_millis(text: &str) -> Option<u32> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits: String = fraction.chars().chain("000".chars()).take(3).collect();
    let millis = whole.parse::<u32>().ok()?.checked_mul(1000)?.checked_add(digits.parse::<u32>().ok()?)?;
    (millis <= 1000).then_some(millis)
}

fn page(credentials: &SandboxCredentials) -> Response {
    let mut body = String::new();
    let document = serde_json::to_value(credentials).unwrap_or_default();
    for (provider, title) in [("alipay", "Alipay"), ("wechatpay", "WeChat Pay")] {
        body.push_str(&format!("<h2>{title}</h2><dl>"));
        for (name, value) in document[provider].as_object().into_iter().flatten() {
            let value = value.as_str().unwrap_or_default();
            body.push_str(&format!("<dt>{name}</dt><dd><pre>{}</pre></dd>", escape(value.trim_end())));
        }
        body.push_str("</dl>");
    }
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sandbox credentials · Payrail</title><style>{STYLE}</style></head><body>\
         <h1>Sandbox credentials</h1><p class=\"note\">Test mode only; keep the keys to yourself. \
         Point an Alipay SDK's gateway at <code>gateway_url</code>, or a WeChat Pay SDK's base URL \
         (public-key mode) at <code>base_url</code>. The secapi address and certificates change \
         each time the server starts; the keys do not.</p>{body}</body></html>"
    );
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// Text for HTML content (never an attribute).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(accept: Option<&str>, html: bool) {
        let mut headers = HeaderMap::new();
        if let Some(accept) = accept {
            headers.insert(ACCEPT, HeaderValue::from_str(accept).expect("a header value"));
        }
        assert_eq!(wants_html(&headers), html, "Accept: {accept:?}");
    }

    #[test]
    fn browsers_get_the_page_and_everyone_else_json() {
        check(Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), true);
        check(Some("text/html"), true);
        check(Some("application/json, text/html;q=0.9"), false);
        check(Some("text/html;q=0.5, application/json;q=0.4"), true);
        check(Some("text/html;q=0"), false);
        check(Some("*/*"), false);
        check(Some("application/json"), false);
        check(None, false);
    }

    #[test]
    fn qualities_are_read_in_thousandths() {
        assert_eq!(quality_millis("1"), Some(1000));
        assert_eq!(quality_millis("0.8"), Some(800));
        assert_eq!(quality_millis("0.125"), Some(125));
        assert_eq!(quality_millis("2"), None);
        assert_eq!(quality_millis("x"), None);
    }

    #[test]
    fn markup_in_values_cannot_escape_its_block() {
        assert_eq!(escape("<script>&"), "&lt;script&gt;&amp;");
    }
}
