//! WeChat Pay v2's flat XML (`<xml><key>value</key>…</xml>`) and its `sign`.
//!
//! The format is one level deep, so a small strict reader does instead of a general XML
//! parser, and refuses what a general parser would have to process: a DOCTYPE, comments,
//! processing instructions after the declaration, entities other than the five predefined
//! ones, attributes, nesting, repeated keys. That closes the XXE and entity-expansion
//! attacks v2 integrations have suffered from. Values may be plain text or CDATA (WeChat
//! writes CDATA, several SDKs write plain text).
//!
//! The v2 signature (`sign_type=HMAC-SHA256`): drop `sign` and empty values, sort by key
//! (ASCII), join as `k=v&…`, append `&key=<v2 key>`, HMAC-SHA256 keyed with the v2 key,
//! uppercase hex.

use std::collections::BTreeMap;

/// Most fields read from one document; WeChat's answers have about 25.
const FIELDS_MAX: usize = 100;
/// Largest document read.
const DOCUMENT_BYTES_MAX: usize = 64 * 1024;

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not WeChat Pay's flat XML: {0}")]
pub struct XmlRefused(pub &'static str);

/// `<xml>` with each field as `<key><![CDATA[value]]></key>`, in the order given.
pub fn write<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut document = String::from("<xml>");
    for (key, value) in fields {
        // A CDATA section cannot hold `]]>`; it is split across two sections.
        let value = value.replace("]]>", "]]]]><![CDATA[>");
        document.push_str(&format!("<{key}><![CDATA[{value}]]></{key}>"));
    }
    document.push_str("</xml>");
    document
}

/// The fields of a flat `<xml>` document.
pub fn read(text: &str) -> Result<BTreeMap<String, String>, XmlRefused> {
    if text.len() > DOCUMENT_BYTES_MAX {
        return Err(XmlRefused("document too large"));
    }
    let mut rest = skip_declaration(text.trim_start())?;
    rest = expect(rest, "<xml>")?;
    let mut fields = BTreeMap::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("</xml>") {
            return if after.trim().is_empty() { Ok(fields) } else { Err(XmlRefused("content after </xml>")) };
        }
        let (key, value, after) = read_field(rest)?;
        if fields.len() == FIELDS_MAX {
            return Err(XmlRefused("too many fields"));
        }
        if fields.insert(key.to_owned(), value).is_some() {
            return Err(XmlRefused("a key appears twice"));
        }
        rest = after;
    }
}

fn skip_declaration(text: &str) -> Result<&str, XmlRefused> {
    let Some(after) = text.strip_prefix("<?xml") else { return Ok(text) };
    let end = after.find("?>").ok_or(XmlRefused("unterminated declaration"))?;
    Ok(after[end + 2..].trim_start())
}

fn expect<'t>(text: &'t str, token: &str) -> Result<&'t str, XmlRefused> {
    text.strip_prefix(token).ok_or(XmlRefused("unexpected markup"))
}

/// One `<key>value</key>`: its key, its value and what follows.
fn read_field(text: &str) -> Result<(&str, String, &str), XmlRefused> {
    let after_open = text.strip_prefix('<').ok_or(XmlRefused("expected an element"))?;
    let name_end = after_open.find('>').ok_or(XmlRefused("unterminated tag"))?;
    let key = &after_open[..name_end];
    if key.is_empty() || !key.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_') {
        return Err(XmlRefused("element names must be letters, digits and _ without attributes"));
    }
    let mut rest = &after_open[name_end + 1..];
    let mut value = String::new();
    let closing = format!("</{key}>");
    loop {
        if let Some(after) = rest.strip_prefix(closing.as_str()) {
            return Ok((key, value, after));
        }
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").ok_or(XmlRefused("unterminated CDATA"))?;
            value.push_str(&after[..end]);
            rest = &after[end + 3..];
        } else if rest.starts_with('<') {
            return Err(XmlRefused("nested elements, comments and DOCTYPEs are not accepted"));
        } else {
            let end = rest.find('<').ok_or(XmlRefused("unterminated element"))?;
            value.push_str(&unescape(&rest[..end])?);
            rest = &rest[end..];
        }
    }
}

/// Plain text with only the five predefined entities.
fn unescape(text: &str) -> Result<String, XmlRefused> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find(';').ok_or(XmlRefused("unterminated entity"))? + start;
        out.push(match &rest[start + 1..end] {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => return Err(XmlRefused("only the five predefined entities are accepted")),
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The v2 `sign` of `fields` with `sign_type=HMAC-SHA256` under the v2 key.
pub fn sign_hmac_sha256(fields: &BTreeMap<String, String>, v2_key: &str) -> String {
    let mut message = fields
        .iter()
        .filter(|(key, value)| key.as_str() != "sign" && !value.is_empty())
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    message.push_str("&key=");
    message.push_str(v2_key);
    payrail_crypto::hmac::sha256_upper_hex(v2_key.as_bytes(), message.as_bytes())
}

/// Whether `fields` carry a valid HMAC-SHA256 `sign` under the v2 key (compared in
/// constant time).
pub fn verify_hmac_sha256(fields: &BTreeMap<String, String>, v2_key: &str) -> bool {
    let Some(presented) = fields.get("sign") else { return false };
    let expected = sign_hmac_sha256(fields, v2_key);
    payrail_crypto::hmac::equal_in_constant_time(presented.as_bytes(), expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn documents_round_trip_in_cdata_and_plain_text() {
        let written = write([("return_code", "SUCCESS"), ("body", "a]]>b <&>")]);
        assert_eq!(read(&written), Ok(map(&[("return_code", "SUCCESS"), ("body", "a]]>b <&>")])));
        let plain = "<?xml version=\"1.0\"?>\n<xml>\n <a>1 &amp; 2</a>\n <b></b>\n</xml>\n";
        assert_eq!(read(plain), Ok(map(&[("a", "1 & 2"), ("b", "")])));
    }

    #[test]
    fn doctypes_entities_nesting_attributes_and_repeats_are_refused() {
        for bad in [
            "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><a>&e;</a></xml>",
            "<xml><!DOCTYPE x><a>1</a></xml>",
            "<xml><a>&e;</a></xml>",
            "<xml><a><b>1</b></a></xml>",
            "<xml><a x=\"1\">1</a></xml>",
            "<xml><a>1</a><a>2</a></xml>",
            "<xml><a>1</a></xml><more/>",
            "<xml><!-- c --><a>1</a></xml>",
            "<xml><a>1</b></xml>",
            "<root><a>1</a></root>",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_hmac_sign_drops_sign_and_empty_values_and_sorts_keys() {
        // Worked by hand: "appid=wx1&body=test&mch_id=10000100&nonce_str=abc&key=<key>".
        let key = "192006250b4c09247ec02edce69f6a2d";
        let fields =
            map(&[("mch_id", "10000100"), ("appid", "wx1"), ("body", "test"), ("nonce_str", "abc"), ("empty", "")]);
        let message = format!("appid=wx1&body=test&mch_id=10000100&nonce_str=abc&key={key}");
        let expected = payrail_crypto::hmac::sha256_upper_hex(key.as_bytes(), message.as_bytes());
        assert_eq!(sign_hmac_sha256(&fields, key), expected);
        let mut signed = fields.clone();
        signed.insert("sign".to_owned(), expected);
        assert!(verify_hmac_sha256(&signed, key));
        signed.insert("body".to_owned(), "tesT".to_owned());
        assert!(!verify_hmac_sha256(&signed, key));
    }
}
