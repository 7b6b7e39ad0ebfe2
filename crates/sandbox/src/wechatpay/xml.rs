//! The v2 flat XML (`<xml><key>value</key>…</xml>`) as the simulator reads and writes it,
//! and the `sign` (MD5 or HMAC-SHA256).
//!
//! Written independently of Payrail's channel on purpose: a shared reader would make a bug
//! on one side invisible from the other. The reader refuses DOCTYPEs, comments, entities
//! other than the five predefined ones, attributes and nesting.

use std::collections::BTreeMap;

const FIELDS_MAX: usize = 100;

/// The fields of a document, or `None` if it is not flat XML of the accepted kind.
pub(crate) fn read(text: &str) -> Option<BTreeMap<String, String>> {
    let mut text = text.trim();
    if text.starts_with("<?xml") {
        text = text[text.find("?>")? + 2..].trim_start();
    }
    let mut rest = text.strip_prefix("<xml>")?.trim_end().strip_suffix("</xml>")?;
    let mut fields = BTreeMap::new();
    while !rest.trim().is_empty() {
        rest = rest.trim_start();
        let name_end = rest.find('>')?;
        let name = rest.strip_prefix('<')?.get(..name_end - 1)?;
        if name.is_empty() || !name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_') {
            return None;
        }
        let after_open = &rest[name_end + 1..];
        let close = format!("</{name}>");
        let value_end = value_end(after_open, &close)?;
        let value = value(&after_open[..value_end])?;
        if fields.len() == FIELDS_MAX || fields.insert(name.to_owned(), value).is_some() {
            return None;
        }
        rest = &after_open[value_end + close.len()..];
    }
    Some(fields)
}

/// Where the value ends: the closing tag, found after any CDATA section (whose content may
/// hold `<`).
fn value_end(text: &str, close: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(start) = text[from..].find("<![CDATA[") {
        let before_close = text[from..].find(close).is_some_and(|at| at < start);
        if before_close {
            break;
        }
        from += start + text[from + start..].find("]]>")? + 3;
    }
    Some(from + text[from..].find(close)?)
}

/// A value's text: CDATA sections verbatim, plain text with the five entities decoded.
fn value(raw: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = raw;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>")?;
            out.push_str(&after[..end]);
            rest = &after[end + 3..];
            continue;
        }
        let end = rest.find("<![CDATA[").unwrap_or(rest.len());
        let plain = &rest[..end];
        if plain.contains('<') {
            return None;
        }
        out.push_str(&decode_entities(plain)?);
        rest = &rest[end..];
    }
    Some(out)
}

fn decode_entities(plain: &str) -> Option<String> {
    let mut out = String::new();
    let mut parts = plain.split('&');
    out.push_str(parts.next().unwrap_or_default());
    for part in parts {
        let (entity, tail) = part.split_once(';')?;
        out.push(match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => return None,
        });
        out.push_str(tail);
    }
    Some(out)
}

/// A document with every value in CDATA, keys in the map's (sorted) order.
pub(crate) fn write(fields: &BTreeMap<String, String>) -> String {
    let body: String = fields
        .iter()
        .map(|(key, value)| format!("<{key}><![CDATA[{}]]></{key}>", value.replace("]]>", "]]]]><![CDATA[>")))
        .collect();
    format!("<xml>{body}</xml>")
}

/// How a v2 message is signed. A request names it in `sign_type`; WeChat's default, when
/// the field is absent, is MD5 (`wechatpy` never sends it), and the answer is signed the
/// way the request was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignType {
    Md5,
    HmacSha256,
}

impl SignType {
    /// The type `fields` name, or `None` for one WeChat does not know.
    pub(crate) fn of(fields: &BTreeMap<String, String>) -> Option<SignType> {
        match fields.get("sign_type").map(String::as_str) {
            None | Some("" | "MD5") => Some(SignType::Md5),
            Some("HMAC-SHA256") => Some(SignType::HmacSha256),
            Some(_) => None,
        }
    }
}

/// The `sign` under the APIv2 key: non-empty fields but `sign`, sorted, `k=v&…&key=<key>`,
/// then MD5 of that, or HMAC-SHA256 of it keyed with the same key; uppercase hex.
pub(crate) fn sign(fields: &BTreeMap<String, String>, key: &str, sign_type: SignType) -> String {
    let mut message = String::new();
    for (name, value) in fields.iter().filter(|(name, value)| *name != "sign" && !value.is_empty()) {
        message.push_str(&format!("{name}={value}&"));
    }
    message.push_str(&format!("key={key}"));
    match sign_type {
        SignType::Md5 => payrail_crypto::md5::upper_hex(message.as_bytes()),
        SignType::HmacSha256 => payrail_crypto::hmac::sha256_upper_hex(key.as_bytes(), message.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_cdata_values_are_read_and_markup_is_refused() {
        let fields = read("<xml><a><![CDATA[x<y]]></a><b>1 &amp; 2</b><c></c></xml>").expect("reads");
        assert_eq!(fields["a"], "x<y");
        assert_eq!(fields["b"], "1 & 2");
        assert_eq!(fields["c"], "");
        for bad in [
            "<!DOCTYPE x><xml><a>1</a></xml>",
            "<xml><a>&e;</a></xml>",
            "<xml><a><b>1</b></a></xml>",
            "<xml><a>1</a><a>1</a></xml>",
            "<xml><!-- c --></xml>",
        ] {
            assert!(read(bad).is_none(), "{bad}");
        }
        let written = write(&fields);
        assert_eq!(read(&written), Some(fields));
    }

    #[test]
    fn signs_like_wechats_v2_documentation_example() {
        // pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=4_3: this message under this
        // key, MD5 by default.
        let example = [
            ("appid", "wxd930ea5d5a258f4f"),
            ("mch_id", "10000100"),
            ("device_info", "1000"),
            ("body", "test"),
            ("nonce_str", "ibuaiVcKdpRxkhJA"),
        ];
        let mut fields: BTreeMap<String, String> =
            example.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        let key = "192006250b4c09247ec02edce69f6a2d";
        assert_eq!(SignType::of(&fields), Some(SignType::Md5));
        assert_eq!(sign(&fields, key, SignType::Md5), "9A0A8659F005D6984697E2CA0A9CF3B7");
        assert_eq!(
            sign(&fields, key, SignType::HmacSha256),
            "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
        );
        fields.insert("sign_type".to_owned(), "SHA1".to_owned());
        assert_eq!(SignType::of(&fields), None);
    }
}
