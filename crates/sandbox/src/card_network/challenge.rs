//! The 3-D Secure challenge: a small self-contained page (no scripts, no external assets)
//! where the tester plays the cardholder, and the two answers it can give.
//!
//! Both answers redirect (303 See Other) to the authorization's `return_url`, unchanged,
//! as a bank's authentication page sends the cardholder back to the merchant. The merchant
//! learns the outcome by querying the authorization, never from the redirect itself.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::CardNetwork;
use super::error::NetworkError;
use super::fields;

/// Only inline styles; nothing is loaded from anywhere. `form-action` is deliberately not
/// restricted: browsers apply it to the redirect that follows the form, and that goes to
/// the merchant's `return_url`.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}\
main{max-width:26rem;margin:4rem auto;background:#fff;border-radius:.75rem;padding:2rem;\
box-shadow:0 1px 4px rgba(0,0,0,.12)}h1{font-size:1.25rem;margin:0 0 1rem}\
.amount{font-size:2rem;font-weight:600;margin:.5rem 0}.note{color:#5b6170;font-size:.875rem}\
form{display:inline-block;margin:1rem .5rem 0 0}button{font-size:1rem;padding:.6rem 1.2rem;\
border-radius:.5rem;border:0;cursor:pointer;background:#1a7f37;color:#fff}button.fail{background:#b42318}";

pub(crate) async fn show_challenge(State(network): State<CardNetwork>, Path(reference): Path<String>) -> Response {
    let view = match known(&reference).and_then(|()| network.book().challenge_view(&reference)) {
        Ok(view) => view,
        Err(error) => return error_page(&error),
    };
    let base = escape(network.book().public_base_url());
    let body = if view.open {
        format!(
            "<p class=\"amount\">{amount}</p>\
             <p>Card ending {last4} · reference <code>{reference}</code></p>\
             <p class=\"note\">Sandbox: no bank is involved. Choose how the cardholder's authentication ends.</p>\
             <form method=\"post\" action=\"{base}/3ds/{reference}/complete\">\
             <button type=\"submit\">Complete authentication</button></form>\
             <form method=\"post\" action=\"{base}/3ds/{reference}/fail\">\
             <button type=\"submit\" class=\"fail\">Fail authentication</button></form>",
            amount = view.amount,
            last4 = view.card_last4,
        )
    } else {
        format!("<p>The authentication of <code>{reference}</code> is already finished.</p>")
    };
    page(StatusCode::OK, "Confirm this payment", &body)
}

pub(crate) async fn complete_challenge(State(network): State<CardNetwork>, Path(reference): Path<String>) -> Response {
    let result = known(&reference).and_then(|()| network.book().complete_challenge(&reference));
    answer(&reference, "complete", result)
}

pub(crate) async fn fail_challenge(State(network): State<CardNetwork>, Path(reference): Path<String>) -> Response {
    let result = known(&reference).and_then(|()| network.book().fail_challenge(&reference));
    answer(&reference, "fail", result)
}

fn answer(reference: &str, choice: &'static str, result: Result<String, NetworkError>) -> Response {
    match result {
        Ok(return_url) => {
            tracing::info!(reference, choice, "card network challenge answered");
            // `return_url` was checked to be printable ASCII when the authorization was made.
            Redirect::to(&return_url).into_response()
        }
        Err(error) => {
            tracing::info!(reference, choice, code = error.code(), "card network challenge refused");
            error_page(&error)
        }
    }
}

fn known(reference: &str) -> Result<(), NetworkError> {
    if fields::is_reference(reference) { Ok(()) } else { Err(NetworkError::NotFound { what: "authorization" }) }
}

fn error_page(error: &NetworkError) -> Response {
    let body = format!("<p>{}.</p><p class=\"note\">Code: <code>{}</code></p>", escape(&error.message()), error.code());
    page(error.status(), "This authentication cannot continue", &body)
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · card network sandbox</title><style>{STYLE}</style></head>\
         <body><main><h1>{title}</h1>{body}</main></body></html>"
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Escapes text for HTML content and double-quoted attributes. References need none (their
/// alphabet has no special characters); the configured base URL and messages might.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
        assert_eq!(escape("https://x.test/card-network"), "https://x.test/card-network");
    }
}
