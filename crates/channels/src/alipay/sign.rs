//! The bytes Alipay signs, and where they are in an answer.
//!
//! - A request is signed over every parameter except `sign` (`sign_type` included), with
//!   empty values dropped, sorted by key in byte order, joined as `k=v&k=v` with raw values
//!   (not URL-encoded). Java's `AlipaySignature.getSignContent` and the Node SDK's
//!   `util.sign` build the same string.
//! - A notification is checked over every parameter except `sign` and `sign_type`
//!   (`rsaCheckV1`), sorted and joined the same way, but with empty values kept: Java's
//!   `getSignCheckContentV1` and the Node SDK's `checkNotifySign` both keep them.
//! - An answer is signed over the exact text of the value of `<method>_response` (or
//!   `error_response`) as it appears in the body, from its `{` to the matching `}`.
//!   Re-serializing would not do: Alipay writes `\/` and key orders its own way.

/// The request signing string: `params` without `sign` and without empty values, sorted by
/// key, joined as `k=v&…`.
pub(crate) fn request_content<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    content(params.into_iter().filter(|(_, value)| !value.is_empty()), &["sign"])
}

/// The notification signing string (`rsaCheckV1`): without `sign` and `sign_type`, empty
/// values kept.
pub(crate) fn notification_content<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    content(params, &["sign", "sign_type"])
}

fn content<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>, excluded: &[&str]) -> String {
    let mut kept: Vec<(&str, &str)> = params.into_iter().filter(|(key, _)| !excluded.contains(key)).collect();
    kept.sort_unstable();
    kept.iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join("&")
}

/// The key of an answer to `method`: `alipay.trade.pay` → `alipay_trade_pay_response`.
pub(crate) fn response_key(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// The exact text of the value of the top-level member `key` of the JSON object `body`,
/// if `body` is an object with such a member whose value is itself an object.
///
/// The scan is aware of strings and escapes, so braces and quotes inside values cannot
/// move the boundaries; a body that is not well-formed at the top level gives `None`.
pub(crate) fn member_text<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let bytes = body.as_bytes();
    let mut at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    loop {
        at = skip_space(bytes, at);
        let key_end = string_end(bytes, at)?;
        let member_key = &body[at + 1..key_end - 1];
        at = skip_space(bytes, key_end);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        let value_start = skip_space(bytes, at + 1);
        let value_end = value_end(bytes, value_start)?;
        if member_key == key {
            return (bytes.get(value_start) == Some(&b'{')).then(|| &body[value_start..value_end]);
        }
        at = skip_space(bytes, value_end);
        match bytes.get(at) {
            Some(b',') => at += 1,
            _ => return None,
        }
    }
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|byte| matches!(byte, b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The index just past the string starting at `at` (which must be `"`).
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let mut index = at + 1;
    loop {
        match bytes.get(index)? {
            b'\\' => index += 2,
            b'"' => return Some(index + 1),
            _ => index += 1,
        }
    }
}

/// The index just past the JSON value starting at `at`: a string, an object or array
/// (brackets matched outside strings), or a bare literal.
fn value_end(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' => string_end(bytes, at),
        b'{' | b'[' => {
            let mut depth = 0_usize;
            let mut index = at;
            loop {
                match bytes.get(index)? {
                    b'"' => {
                        index = string_end(bytes, index)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(index + 1);
                        }
                    }
                    _ => {}
                }
                index += 1;
            }
        }
        _ => {
            let length = bytes[at..].iter().position(|byte| matches!(byte, b',' | b'}' | b']' | b' ' | b'\n' | b'\r'));
            Some(at + length?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_content_drops_sign_and_empty_values_and_sorts_raw_values() {
        let params = [
            ("timestamp", "2026-12-06 15:04:05"),
            ("sign", "ignored"),
            ("app_id", "2021000000000001"),
            ("notify_url", ""),
            ("biz_content", r#"{"out_trade_no":"a&b=c","total_amount":"12.30"}"#),
            ("sign_type", "RSA2"),
        ];
        assert_eq!(
            request_content(params),
            r#"app_id=2021000000000001&biz_content={"out_trade_no":"a&b=c","total_amount":"12.30"}&sign_type=RSA2&timestamp=2026-12-06 15:04:05"#
        );
    }

    #[test]
    fn notification_content_also_drops_sign_type_but_keeps_empty_values() {
        let params =
            [("sign_type", "RSA2"), ("trade_status", "TRADE_SUCCESS"), ("sign", "x"), ("body", ""), ("app_id", "1")];
        assert_eq!(notification_content(params), "app_id=1&body=&trade_status=TRADE_SUCCESS");
    }

    #[test]
    fn response_keys_replace_every_dot() {
        assert_eq!(response_key("alipay.trade.fastpay.refund.query"), "alipay_trade_fastpay_refund_query_response");
    }

    #[test]
    fn member_text_is_the_exact_object_text_even_with_braces_and_quotes_in_strings() {
        let inner = r#"{"code":"10000","subject":"a \"}\" b {","qr_code":"https:\/\/qr.test\/x","n":[1,{"a":"}"}]}"#;
        let body = format!(r#"{{"alipay_trade_precreate_response" : {inner} , "sign":"c2ln"}}"#);
        assert_eq!(member_text(&body, "alipay_trade_precreate_response"), Some(inner));
        let reversed =
            format!(r#"{{"sign":"x\"alipay_trade_precreate_response\"","alipay_trade_precreate_response":{inner}}}"#);
        assert_eq!(member_text(&reversed, "alipay_trade_precreate_response"), Some(inner));
    }

    #[test]
    fn member_text_refuses_missing_members_and_malformed_bodies() {
        assert_eq!(member_text(r#"{"error_response":{"code":"40002"},"sign":"x"}"#, "a_response"), None);
        assert_eq!(member_text(r#"{"a_response":"text","sign":"x"}"#, "a_response"), None);
        for bad in
            ["", "[]", r#"{"a_response":{"code":"1""#, r#"{"a_response" {"code":"1"}}"#, r#"{"x":1 "a_response":{}}"#]
        {
            assert_eq!(member_text(bad, "a_response"), None, "{bad}");
        }
    }
}
