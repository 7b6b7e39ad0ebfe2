//! Which IP addresses a webhook may be delivered to.
//!
//! A webhook URL is chosen by a merchant, so without a guard Payrail would make requests
//! on their behalf into its own network (server-side request forgery): the cloud metadata
//! service, the database, an admin port on loopback. [`classify`] names every range that
//! is not the public internet; [`AddressPolicy`] says which of those the operator lets
//! through (loopback for a developer's laptop in test mode, named networks in live mode).
//!
//! IPv6 forms that reach an IPv4 host (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
//! `::a.b.c.d`, NAT64 `64:ff9b::/96`) and 6to4 `2002::/16` are mapped back and judged
//! as the IPv4 address they carry, so `[::ffff:127.0.0.1]` is loopback.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Why an address is not on the public internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forbidden {
    /// `0.0.0.0/8`, `::`. Connecting to `0.0.0.0` reaches this host on Linux.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `10/8`, `172.16/12`, `192.168/16`, deprecated site-local `fec0::/10`, local-use
    /// NAT64 `64:ff9b:1::/48`.
    Private,
    /// Carrier-grade NAT, `100.64.0.0/10`.
    SharedAddressSpace,
    /// `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// `fc00::/7`.
    UniqueLocal,
    /// An instance metadata or cloud control endpoint (`169.254.169.254`,
    /// `fd00:ec2::254`, …); these hand out credentials.
    CloudMetadata,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// Everything else that is not globally routable unicast: `240/4`, `192.0.0/24`,
    /// benchmarking `198.18/15`, IPv6 outside `2000::/3`, Teredo and the other IETF
    /// protocol assignments in `2001::/23`, the discard prefix `100::/64`.
    Reserved,
}

impl Forbidden {
    /// A stable name for logs and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Forbidden::Unspecified => "unspecified",
            Forbidden::Loopback => "loopback",
            Forbidden::Private => "private",
            Forbidden::SharedAddressSpace => "shared_address_space",
            Forbidden::LinkLocal => "link_local",
            Forbidden::UniqueLocal => "unique_local",
            Forbidden::CloudMetadata => "cloud_metadata",
            Forbidden::Multicast => "multicast",
            Forbidden::Broadcast => "broadcast",
            Forbidden::Documentation => "documentation",
            Forbidden::Reserved => "reserved",
        }
    }

    /// Whether no policy may allow it. Metadata endpoints hand out the host's cloud
    /// credentials, and "unspecified" is this host under another name; an operator who
    /// allows `169.254.0.0/16` or `0.0.0.0/0` surely did not mean either.
    pub fn is_never_allowed(self) -> bool {
        matches!(self, Forbidden::CloudMetadata | Forbidden::Unspecified)
    }
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Metadata endpoints: AWS, GCP, Azure, OCI, DigitalOcean (`169.254.169.254`), AWS ECS
/// task credentials (`169.254.170.2`), EKS Pod Identity (`169.254.170.23`), Alibaba Cloud
/// (`100.100.100.200`), Azure WireServer (`168.63.129.16`, a public address, hence listed).
const METADATA_V4: [Ipv4Addr; 5] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(169, 254, 170, 23),
    Ipv4Addr::new(100, 100, 100, 200),
    Ipv4Addr::new(168, 63, 129, 16),
];
/// AWS instance metadata and EKS Pod Identity over IPv6.
const METADATA_V6: [Ipv6Addr; 2] =
    [Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254), Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)];

/// IPv4 ranges in the order they are checked: the more specific first.
const RANGES_V4: [([u8; 4], u8, Forbidden); 16] = [
    ([0, 0, 0, 0], 8, Forbidden::Unspecified),
    ([127, 0, 0, 0], 8, Forbidden::Loopback),
    ([10, 0, 0, 0], 8, Forbidden::Private),
    ([172, 16, 0, 0], 12, Forbidden::Private),
    ([192, 168, 0, 0], 16, Forbidden::Private),
    ([100, 64, 0, 0], 10, Forbidden::SharedAddressSpace),
    ([169, 254, 0, 0], 16, Forbidden::LinkLocal),
    ([192, 0, 0, 0], 24, Forbidden::Reserved),
    ([192, 0, 2, 0], 24, Forbidden::Documentation),
    ([198, 51, 100, 0], 24, Forbidden::Documentation),
    ([203, 0, 113, 0], 24, Forbidden::Documentation),
    ([198, 18, 0, 0], 15, Forbidden::Reserved),
    // The deprecated 6to4 relay anycast prefix: traffic to it leaves for an unknown relay.
    ([192, 88, 99, 0], 24, Forbidden::Reserved),
    ([224, 0, 0, 0], 4, Forbidden::Multicast),
    ([255, 255, 255, 255], 32, Forbidden::Broadcast),
    ([240, 0, 0, 0], 4, Forbidden::Reserved),
];

/// Why `ip` is not a public internet address, or `None` if it is.
pub fn classify(ip: IpAddr) -> Option<Forbidden> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Forbidden> {
    if METADATA_V4.contains(&ip) {
        return Some(Forbidden::CloudMetadata);
    }
    let bits = u32::from(ip);
    RANGES_V4.iter().find(|(network, len, _)| prefix_matches_v4(bits, *network, *len)).map(|(_, _, reason)| *reason)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Forbidden> {
    if METADATA_V6.contains(&ip) {
        return Some(Forbidden::CloudMetadata);
    }
    if ip.is_unspecified() {
        return Some(Forbidden::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Forbidden::Loopback);
    }
    if let Some(v4) = ipv4_reached_by(ip) {
        return classify_v4(v4);
    }
    let bits = u128::from(ip);
    let in_prefix = |network: u128, len: u32| prefix_matches_v6(bits, network, len);
    if in_prefix(0x2002 << 112, 16) {
        // 6to4 carries the IPv4 address of the site's router in bits 16..48.
        let embedded = Ipv4Addr::from(u32::try_from((bits >> 80) & 0xffff_ffff).unwrap_or_default());
        return classify_v4(embedded);
    }
    let ranges: [(u128, u32, Forbidden); 9] = [
        (0x0064_ff9b_0001 << 80, 48, Forbidden::Private),
        (0xfc00 << 112, 7, Forbidden::UniqueLocal),
        (0xfe80 << 112, 10, Forbidden::LinkLocal),
        (0xfec0 << 112, 10, Forbidden::Private),
        (0xff00 << 112, 8, Forbidden::Multicast),
        (0x2001_0db8 << 96, 32, Forbidden::Documentation),
        (0x3fff << 112, 20, Forbidden::Documentation),
        (0x2001 << 112, 23, Forbidden::Reserved),
        (0x0100 << 112, 64, Forbidden::Reserved),
    ];
    if let Some((_, _, reason)) = ranges.iter().find(|(network, len, _)| in_prefix(*network, *len)) {
        return Some(*reason);
    }
    // Only 2000::/3 is allocated for global unicast; anything else cannot be a real
    // receiver's address.
    if !in_prefix(0x2000 << 112, 3) {
        return Some(Forbidden::Reserved);
    }
    None
}

/// The IPv4 host an IPv6 address reaches: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated
/// (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated but still routed by some
/// stacks) and NAT64 (`64:ff9b::a.b.c.d`).
fn ipv4_reached_by(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let prefixes: [u128; 4] = [0xffff << 32, 0xffff << 48, 0, 0x0064_ff9b << 96];
    let low = Ipv4Addr::from(u32::try_from(bits & 0xffff_ffff).unwrap_or_default());
    // `::` and `::1` also sit in ::/96; the caller has judged them before asking.
    prefixes.iter().any(|prefix| prefix_matches_v6(bits, *prefix, 96)).then_some(low)
}

fn prefix_matches_v4(bits: u32, network: [u8; 4], len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    bits & mask == u32::from_be_bytes(network) & mask
}

fn prefix_matches_v6(bits: u128, network: u128, len: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    bits & mask == network & mask
}

/// A network in CIDR notation (`10.1.0.0/16`, `fd12::/64`), as an operator names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix_len: u8,
}

/// Why a network could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a network is an IP address, `/` and a prefix length (10.0.0.0/8), with no bits set after the prefix")]
pub struct NetworkParseError;

impl Network {
    /// Whether `ip` is inside. An IPv6 form that reaches an IPv4 host counts as that host.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => ipv4_reached_by(v6).map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        match (self.address, ip) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                prefix_matches_v4(u32::from(ip), network.octets(), self.prefix_len)
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                prefix_matches_v6(u128::from(ip), u128::from(network), u32::from(self.prefix_len))
            }
            _ => false,
        }
    }
}

impl FromStr for Network {
    type Err = NetworkParseError;

    fn from_str(text: &str) -> Result<Network, NetworkParseError> {
        let (address, len) = text.split_once('/').ok_or(NetworkParseError)?;
        let address: IpAddr = address.parse().map_err(|_| NetworkParseError)?;
        if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NetworkParseError);
        }
        let prefix_len: u8 = len.parse().map_err(|_| NetworkParseError)?;
        // Bits after the prefix are refused rather than cleared: `10.0.0.1/8` is more
        // likely a typo for a /32 than a wish to allow all of 10/8.
        let exact = match address {
            IpAddr::V4(v4) if prefix_len <= 32 => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix_len)).unwrap_or(0);
                u32::from(v4) & !mask == 0
            }
            IpAddr::V6(v6) if prefix_len <= 128 => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix_len)).unwrap_or(0);
                u128::from(v6) & !mask == 0
            }
            _ => false,
        };
        if exact { Ok(Network { address, prefix_len }) } else { Err(NetworkParseError) }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

/// Which non-public addresses the operator lets webhooks reach.
///
/// Live mode uses `allow_loopback: false` and lists only networks the operator named in
/// configuration; test mode may allow loopback so a developer receives on their laptop.
/// [`Forbidden::is_never_allowed`] addresses are refused whatever the policy says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressPolicy {
    pub allow_loopback: bool,
    pub allowed_networks: Vec<Network>,
}

impl AddressPolicy {
    /// Public internet addresses only.
    pub fn public_only() -> AddressPolicy {
        AddressPolicy { allow_loopback: false, allowed_networks: Vec::new() }
    }

    /// Why `ip` may not be reached under this policy, if it may not.
    pub fn check(&self, ip: IpAddr) -> Result<(), Forbidden> {
        match classify(ip) {
            None => Ok(()),
            Some(reason) if reason.is_never_allowed() => Err(reason),
            Some(Forbidden::Loopback) if self.allow_loopback => Ok(()),
            Some(_) if self.allowed_networks.iter().any(|network| network.contains(ip)) => Ok(()),
            Some(reason) => Err(reason),
        }
    }
}
