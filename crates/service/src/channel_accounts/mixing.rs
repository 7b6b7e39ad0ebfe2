//! Test and live never mix: a test account may not reach a provider's production gateway,
//! and a live account may not reach a sandbox (Payrail's own simulators, a provider's
//! sandbox host, a loopback or private address) nor hold the simulators' keys.

use std::net::IpAddr;

use payrail_crypto::rsa::RsaPublicKey;
use payrail_domain::Problem;
use payrail_domain::channel_account::ChannelKind;

use super::credentials::{Credentials, invalid};

/// What gives a sandbox away: where a simulator is served and the public key it signs
/// with.
#[derive(Clone, Debug)]
pub(crate) struct SandboxMark {
    pub(crate) url_prefix: String,
    pub(crate) provider_key_pem: String,
}

/// The fields holding addresses, and the one holding the provider's public key.
fn address_fields(channel: ChannelKind) -> (&'static [&'static str], &'static str) {
    match channel {
        ChannelKind::Alipay => (&["gateway_url"], "alipay_public_key"),
        ChannelKind::Wechatpay => (&["base_url", "secapi_base_url"], "platform_public_key"),
    }
}

/// Whether `host` is the provider's production service.
fn is_production_host(channel: ChannelKind, host: &str) -> bool {
    match channel {
        ChannelKind::Alipay => host == "alipay.com" || host.ends_with(".alipay.com"),
        ChannelKind::Wechatpay => host.ends_with(".weixin.qq.com") || host.ends_with(".wechatpay.cn"),
    }
}

/// Whether `host` is a provider's own sandbox, or can only be a machine of ours.
fn is_sandbox_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host == "localhost" || host.ends_with(".localhost") || host.ends_with("alipaydev.com") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified(),
        Ok(IpAddr::V6(ip)) => ip.is_loopback() || ip.is_unspecified() || (ip.segments()[0] & 0xfe00) == 0xfc00,
        Err(_) => false,
    }
}

/// Refuses an account whose addresses or keys belong to the other mode.
pub(crate) fn check_mode(
    channel: ChannelKind,
    livemode: bool,
    credentials: &Credentials,
    sandboxes: &[SandboxMark],
) -> Result<(), Problem> {
    let (urls, key_field) = address_fields(channel);
    for &field in urls {
        let Some(url) = credentials.settings.get(field) else { continue };
        let host = host_of(url).ok_or_else(|| invalid(channel, field, "it must be an absolute http or https URL"))?;
        if !livemode && is_production_host(channel, &host) {
            return Err(refused(channel, field, "a test account cannot reach the provider's production service"));
        }
        if livemode {
            let in_sandbox = is_sandbox_host(&host) || sandboxes.iter().any(|mark| url.starts_with(&mark.url_prefix));
            if in_sandbox {
                return Err(refused(channel, field, "a live account cannot reach a sandbox"));
            }
            if !url.starts_with("https://") {
                return Err(refused(channel, field, "a live account must use https"));
            }
        }
    }
    if livemode {
        if credentials.settings.contains_key("secapi_ca_certificate") {
            return Err(refused(channel, "secapi_ca_certificate", "a live account trusts the system's roots only"));
        }
        let key = RsaPublicKey::from_pem(credentials.setting(key_field)).map(|key| key.to_pem());
        if key.is_ok_and(|key| sandboxes.iter().any(|mark| mark.provider_key_pem == key)) {
            return Err(refused(channel, key_field, "a live account cannot use the sandbox's keys"));
        }
    }
    Ok(())
}

fn refused(channel: ChannelKind, field: &str, why: &str) -> Problem {
    let param = format!("{}[{field}]", channel.as_str());
    Problem::invalid_request("channel_account_mode_mismatch", format!("{param}: {why}")).with_param(param)
}

/// The host of an http(s) URL, lowercased, without user info or port.
fn host_of(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next()?
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn alipay(gateway_url: &str) -> Credentials {
        let settings = BTreeMap::from([("gateway_url".to_owned(), gateway_url.to_owned())]);
        Credentials { settings, ..Credentials::default() }
    }

    #[test]
    fn hosts_are_read_without_user_info_or_port() {
        assert_eq!(host_of("https://OpenAPI.alipay.com/gateway.do").as_deref(), Some("openapi.alipay.com"));
        assert_eq!(host_of("http://user@127.0.0.1:8080/x").as_deref(), Some("127.0.0.1"));
        assert_eq!(host_of("https://[::1]:443/").as_deref(), Some("[::1]"));
        assert_eq!(host_of("ftp://example.com"), None);
    }

    #[test]
    fn a_test_account_cannot_reach_production() {
        let problem = check_mode(ChannelKind::Alipay, false, &alipay("https://openapi.alipay.com/gateway.do"), &[])
            .expect_err("refused");
        assert_eq!(problem.code, "channel_account_mode_mismatch");
        assert_eq!(problem.param.as_deref(), Some("alipay[gateway_url]"));
        assert!(check_mode(ChannelKind::Alipay, false, &alipay("http://127.0.0.1:8080/sandbox/alipay"), &[]).is_ok());
    }

    #[test]
    fn a_live_account_cannot_reach_a_sandbox() {
        let sandbox = [SandboxMark {
            url_prefix: "https://pay.example.com/sandbox/".to_owned(),
            provider_key_pem: String::new(),
        }];
        for url in [
            "http://127.0.0.1:8080/sandbox/alipay/gateway.do",
            "https://localhost/gateway.do",
            "https://10.0.0.3/gateway.do",
            "https://[::1]/gateway.do",
            "https://openapi-sandbox.dl.alipaydev.com/gateway.do",
            "https://pay.example.com/sandbox/alipay/gateway.do",
            "http://openapi.alipay.com/gateway.do",
        ] {
            assert!(check_mode(ChannelKind::Alipay, true, &alipay(url), &sandbox).is_err(), "accepted {url}");
        }
        assert!(
            check_mode(ChannelKind::Alipay, true, &alipay("https://openapi.alipay.com/gateway.do"), &sandbox).is_ok()
        );
    }
}
