//! The sandbox's browser pages (the card network's 3-D Secure challenge, the WeChat Pay
//! buyer page): one small self-contained layout, no scripts, nothing loaded from elsewhere.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

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

pub(crate) fn page(status: StatusCode, title: &str, site: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · {site}</title><style>{STYLE}</style></head>\
         <body><main><h1>{title}</h1>{body}</main></body></html>"
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Escapes text for HTML content and double-quoted attributes.
pub(crate) fn escape(text: &str) -> String {
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
