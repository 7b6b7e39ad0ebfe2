//! PEM: base64 DER between `-----BEGIN <label>-----` and `-----END <label>-----` lines.
//! Providers also hand out keys as bare base64 (Alipay's key tool does), so reading accepts
//! that too.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::CryptoError;

/// DER bytes as PEM with the given label, 64 characters a line, ending in a newline.
pub fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

/// The label (`None` for bare base64) and DER bytes of the first block in `text`.
pub fn decode(text: &str) -> Result<(Option<String>, Vec<u8>), CryptoError> {
    let text = text.trim();
    let (label, body) = match text.strip_prefix("-----BEGIN ") {
        Some(rest) => {
            let (label, rest) = rest.split_once("-----").ok_or(CryptoError::KeyEncoding)?;
            let end = format!("-----END {label}-----");
            let body = rest.split_once(end.as_str()).ok_or(CryptoError::KeyEncoding)?.0;
            (Some(label.to_owned()), body)
        }
        None => (None, text),
    };
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD.decode(compact).map_err(|_| CryptoError::KeyEncoding)?;
    if der.is_empty() {
        return Err(CryptoError::KeyEncoding);
    }
    Ok((label, der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_pem_decodes_to_the_same_label_and_bytes() {
        let der: Vec<u8> = (0..=200).collect();
        let pem = encode("PUBLIC KEY", &der);
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n") && pem.ends_with("-----END PUBLIC KEY-----\n"));
        assert!(pem.lines().all(|line| line.len() <= 64));
        assert_eq!(decode(&pem), Ok((Some("PUBLIC KEY".to_owned()), der.clone())));
        let bare: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(decode(&bare), Ok((None, der)));
    }

    #[test]
    fn text_that_is_not_pem_or_base64_is_refused() {
        for bad in ["", "-----BEGIN X-----\nAAAA", "not base64!", "-----BEGIN X-----\n-----END X-----"] {
            assert_eq!(decode(bad), Err(CryptoError::KeyEncoding), "{bad:?}");
        }
    }
}
