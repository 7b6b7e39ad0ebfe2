//! Checking a webhook URL before it is stored and again before every delivery: its shape,
//! and every address its host resolves to.
//!
//! Invariant: a [`CheckedTarget`] can only be made here, and it carries the addresses that
//! were checked. The sender connects to those and looks nothing up again, so a name that
//! resolves to a public address when checked and to `127.0.0.1` a moment later (DNS
//! rebinding) still reaches only the public one.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::Url;

use super::address::{AddressPolicy, Forbidden};

/// Longest URL accepted, in bytes; Stripe's limit is similar and real ones are far shorter.
pub const URL_BYTES_MAX: usize = 2048;
/// Longest time spent resolving a host; a name server that hangs must not hold a worker.
const RESOLVE_TIMEOUT_MS: u64 = 5_000;
/// Most addresses kept per target. All resolved addresses are checked; only this many are
/// tried when connecting.
const ADDRESSES_MAX: usize = 16;

/// A URL that passed the checks, with the addresses it may be reached at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedTarget {
    url: Url,
    host: String,
    addresses: Vec<SocketAddr>,
}

impl CheckedTarget {
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The host as written in the URL (lowercased, IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The checked addresses, in the order the resolver gave them.
    pub fn addresses(&self) -> &[SocketAddr] {
        &self.addresses
    }

    pub(crate) fn parsed_url(&self) -> &Url {
        &self.url
    }
}

/// Why a URL was refused. Messages never repeat the URL or the addresses it resolved to:
/// telling a caller "resolves to 10.1.2.3" would map the internal network for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("the URL is not usable: {0}")]
    Invalid(&'static str),
    #[error("the URL's host could not be resolved")]
    Unresolvable,
    #[error("the URL's host resolves to a {0} address, which webhooks may not reach")]
    ForbiddenAddress(Forbidden),
}

impl UrlRefused {
    /// The stable code a client sees.
    pub fn code(self) -> &'static str {
        match self {
            UrlRefused::Invalid(_) => "url_invalid",
            UrlRefused::Unresolvable => "url_unresolvable",
            UrlRefused::ForbiddenAddress(_) => "url_forbidden_address",
        }
    }

    /// Whether checking again later may succeed: a name may start resolving. A forbidden
    /// address is not transient, though DNS may change it; the caller decides.
    pub fn is_transient(self) -> bool {
        matches!(self, UrlRefused::Unresolvable)
    }
}

/// Parses `text`, resolves its host and checks every address under `policy`.
///
/// Refused: a scheme other than `http`/`https`, a user or password, no host, more than
/// [`URL_BYTES_MAX`] bytes, a host that does not resolve, and a host for which ANY address
/// is forbidden (a name with one public and one private address could be steered to
/// the private one).
pub async fn check_url(text: &str, policy: &AddressPolicy) -> Result<CheckedTarget, UrlRefused> {
    let url = parse(text)?;
    let port = url.port_or_known_default().ok_or(UrlRefused::Invalid("the URL has no port"))?;
    let host = url.host_str().ok_or(UrlRefused::Invalid("the URL has no host"))?.to_ascii_lowercase();
    let addresses = match literal_address(&host) {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => resolve(&host, port).await?,
    };
    for address in &addresses {
        policy.check(address.ip()).map_err(UrlRefused::ForbiddenAddress)?;
    }
    let mut kept: Vec<SocketAddr> = Vec::with_capacity(addresses.len().min(ADDRESSES_MAX));
    for address in addresses {
        if !kept.contains(&address) && kept.len() < ADDRESSES_MAX {
            kept.push(address);
        }
    }
    Ok(CheckedTarget { url, host, addresses: kept })
}

fn parse(text: &str) -> Result<Url, UrlRefused> {
    if text.len() > URL_BYTES_MAX {
        return Err(UrlRefused::Invalid("the URL is longer than 2048 bytes"));
    }
    let url = Url::parse(text).map_err(|_| UrlRefused::Invalid("the URL does not parse as an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlRefused::Invalid("the scheme must be http or https"));
    }
    // Credentials in a URL end up in logs and dashboards; receivers authenticate us by
    // the signature instead.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlRefused::Invalid("the URL may not contain a user or password"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlRefused::Invalid("the URL has no host"));
    }
    Ok(url)
}

/// The address a host names literally, if it is one. The URL parser has already turned
/// every IPv4 spelling (`2130706433`, `0x7f.1`, `127.1`) into dotted decimal and put IPv6
/// in brackets, so these two forms are the only ones left to recognise.
fn literal_address(host: &str) -> Option<IpAddr> {
    if let Some(inside) = host.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
        return inside.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

async fn resolve(domain: &str, port: u16) -> Result<Vec<SocketAddr>, UrlRefused> {
    let lookup = tokio::net::lookup_host((domain, port));
    let addresses: Vec<SocketAddr> = tokio::time::timeout(Duration::from_millis(RESOLVE_TIMEOUT_MS), lookup)
        .await
        .map_err(|_| UrlRefused::Unresolvable)?
        .map_err(|_| UrlRefused::Unresolvable)?
        .collect();
    if addresses.is_empty() { Err(UrlRefused::Unresolvable) } else { Ok(addresses) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::{SenderConfig, WebhookSender};

    /// A receiver under a name that resolves nowhere (`.invalid` never does), with the
    /// address a check would have found: if the sender looked the name up again, the
    /// delivery could not arrive.
    #[tokio::test]
    async fn the_sender_connects_to_the_checked_address_without_looking_the_name_up_again() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");
        let app = axum::Router::new().route("/hook", axum::routing::post(|| async { "checked" }));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        let url = Url::parse(&format!("http://rebound.invalid:{}/hook", address.port())).expect("url");
        let target = CheckedTarget { url, host: "rebound.invalid".to_owned(), addresses: vec![address] };
        assert!(check_url(target.url(), &AddressPolicy::public_only()).await.is_err(), "the name must not resolve");

        let sender = WebhookSender::new(SenderConfig::default()).expect("sender");
        let result = sender.send(&target, &[], b"{}").await;
        assert!(result.succeeded(), "{result:?}");
        assert_eq!(result.snippet, "checked");
    }
}
