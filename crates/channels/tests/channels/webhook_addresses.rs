//! The SSRF guard: every non-public range, IPv4 and IPv6 and the IPv6 forms that carry an
//! IPv4 address, what a policy lets through, and which webhook URLs are refused.

use std::net::IpAddr;

use payrail_channels::webhook::{AddressPolicy, Forbidden, Network, check_url, classify};

#[track_caller]
fn check(ip: &str, expected: Option<Forbidden>) {
    let parsed: IpAddr = ip.parse().unwrap();
    assert_eq!(classify(parsed), expected, "{ip}");
}

#[test]
fn every_non_public_ipv4_range_is_classified() {
    use Forbidden::*;
    let table = [
        ("0.0.0.0", Some(Unspecified)),
        ("0.255.255.255", Some(Unspecified)),
        ("127.0.0.1", Some(Loopback)),
        ("127.255.255.254", Some(Loopback)),
        ("10.0.0.1", Some(Private)),
        ("10.255.255.255", Some(Private)),
        ("172.16.0.1", Some(Private)),
        ("172.31.255.255", Some(Private)),
        ("192.168.1.1", Some(Private)),
        ("100.64.0.1", Some(SharedAddressSpace)),
        ("100.127.255.255", Some(SharedAddressSpace)),
        ("169.254.0.1", Some(LinkLocal)),
        ("169.254.169.254", Some(CloudMetadata)),
        ("169.254.170.2", Some(CloudMetadata)),
        ("100.100.100.200", Some(CloudMetadata)),
        ("168.63.129.16", Some(CloudMetadata)),
        ("192.0.0.1", Some(Reserved)),
        ("192.0.2.1", Some(Documentation)),
        ("198.51.100.7", Some(Documentation)),
        ("203.0.113.9", Some(Documentation)),
        ("198.18.0.1", Some(Reserved)),
        ("198.19.255.255", Some(Reserved)),
        ("192.88.99.1", Some(Reserved)),
        ("224.0.0.1", Some(Multicast)),
        ("239.255.255.250", Some(Multicast)),
        ("240.0.0.1", Some(Reserved)),
        ("255.255.255.254", Some(Reserved)),
        ("255.255.255.255", Some(Broadcast)),
        // Neighbours of the ranges above are public.
        ("1.1.1.1", None),
        ("8.8.8.8", None),
        ("9.255.255.255", None),
        ("11.0.0.0", None),
        ("100.63.255.255", None),
        ("100.128.0.0", None),
        ("172.15.255.255", None),
        ("172.32.0.0", None),
        ("192.167.255.255", None),
        ("192.169.0.0", None),
        ("198.17.255.255", None),
        ("198.20.0.0", None),
        ("223.255.255.255", None),
    ];
    for (ip, expected) in table {
        check(ip, expected);
    }
}

#[test]
fn every_non_public_ipv6_range_is_classified_and_ipv4_forms_are_mapped_back() {
    use Forbidden::*;
    let table = [
        ("::", Some(Unspecified)),
        ("::1", Some(Loopback)),
        ("fc00::1", Some(UniqueLocal)),
        ("fd12:3456::1", Some(UniqueLocal)),
        ("fd00:ec2::254", Some(CloudMetadata)),
        ("fd00:ec2::23", Some(CloudMetadata)),
        ("fe80::1", Some(LinkLocal)),
        ("febf:ffff::1", Some(LinkLocal)),
        ("fec0::1", Some(Private)),
        ("ff02::1", Some(Multicast)),
        ("2001:db8::1", Some(Documentation)),
        ("3fff::1", Some(Documentation)),
        ("2001::1", Some(Reserved)),
        ("100::1", Some(Reserved)),
        ("64:ff9b:1::1", Some(Private)),
        ("4000::1", Some(Reserved)),
        // IPv4-mapped, IPv4-translated, IPv4-compatible, NAT64 and 6to4 forms are judged as
        // the IPv4 address they carry.
        ("::ffff:127.0.0.1", Some(Loopback)),
        ("::ffff:10.0.0.1", Some(Private)),
        ("::ffff:169.254.169.254", Some(CloudMetadata)),
        ("::ffff:0.0.0.0", Some(Unspecified)),
        ("::ffff:0:127.0.0.1", Some(Loopback)),
        ("::127.0.0.1", Some(Loopback)),
        ("::192.168.0.1", Some(Private)),
        ("64:ff9b::127.0.0.1", Some(Loopback)),
        ("64:ff9b::169.254.169.254", Some(CloudMetadata)),
        ("64:ff9b::10.1.1.1", Some(Private)),
        ("2002:7f00:1::", Some(Loopback)),
        ("2002:a9fe:a9fe::1", Some(CloudMetadata)),
        ("2002:c0a8:101::1", Some(Private)),
        // Public, directly or through a mapped form.
        ("2606:4700:4700::1111", None),
        ("2a00:1450:4001::200e", None),
        ("2001:4860:4860::8888", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::8.8.8.8", None),
        ("2002:808:808::1", None),
    ];
    for (ip, expected) in table {
        check(ip, expected);
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn networks(texts: &[&str]) -> Vec<Network> {
    texts.iter().map(|text| text.parse().unwrap()).collect()
}

#[test]
fn a_policy_allows_loopback_or_named_networks_but_never_metadata_or_unspecified() {
    let strict = AddressPolicy::public_only();
    assert_eq!(strict.check(ip("8.8.8.8")), Ok(()));
    assert_eq!(strict.check(ip("127.0.0.1")), Err(Forbidden::Loopback));

    let laptop = AddressPolicy { allow_loopback: true, allowed_networks: Vec::new() };
    for allowed in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "8.8.8.8"] {
        assert_eq!(laptop.check(ip(allowed)), Ok(()), "{allowed}");
    }
    assert_eq!(laptop.check(ip("10.0.0.1")), Err(Forbidden::Private));
    assert_eq!(laptop.check(ip("0.0.0.0")), Err(Forbidden::Unspecified));

    let named = AddressPolicy {
        allow_loopback: false,
        allowed_networks: networks(&["10.1.0.0/16", "fd12::/16", "169.254.0.0/16", "0.0.0.0/0"]),
    };
    for allowed in ["10.1.2.3", "::ffff:10.1.2.3", "64:ff9b::a01:203", "fd12::1", "169.254.1.1", "127.0.0.1"] {
        assert_eq!(named.check(ip(allowed)), Ok(()), "{allowed}");
    }
    assert_eq!(named.check(ip("fd13::1")), Err(Forbidden::UniqueLocal));
    assert_eq!(named.check(ip("169.254.169.254")), Err(Forbidden::CloudMetadata));
    assert_eq!(named.check(ip("::ffff:169.254.169.254")), Err(Forbidden::CloudMetadata));
    assert_eq!(named.check(ip("0.0.0.0")), Err(Forbidden::Unspecified));
    let narrow = AddressPolicy { allow_loopback: false, allowed_networks: networks(&["10.1.0.0/16"]) };
    assert_eq!(narrow.check(ip("10.2.0.1")), Err(Forbidden::Private));
}

#[test]
fn networks_are_parsed_strictly() {
    for good in ["10.0.0.0/8", "10.1.2.3/32", "0.0.0.0/0", "fd00::/8", "::1/128"] {
        let network: Network = good.parse().unwrap();
        assert_eq!(network.to_string(), good);
    }
    for bad in ["10.0.0.0", "10.0.0.1/8", "10.0.0.0/33", "fd00::/129", "10.0.0.0/+8", "10.0.0.0/", "x/8", "fd00::1/8"] {
        assert!(bad.parse::<Network>().is_err(), "{bad}");
    }
}

#[tokio::test]
async fn urls_are_refused_by_shape_and_by_every_address_they_resolve_to() {
    let strict = AddressPolicy::public_only();
    let laptop = AddressPolicy { allow_loopback: true, allowed_networks: Vec::new() };
    let long = format!("https://example.com/{}", "a".repeat(2048));
    let table: [(&str, Option<&str>, Option<&str>); 17] = [
        // (url, code when loopback is refused, code when it is allowed)
        ("ftp://example.com/hook", Some("url_invalid"), Some("url_invalid")),
        ("https://user:pass@93.184.215.14/hook", Some("url_invalid"), Some("url_invalid")),
        ("https://user@93.184.215.14/hook", Some("url_invalid"), Some("url_invalid")),
        ("/relative/hook", Some("url_invalid"), Some("url_invalid")),
        ("http://", Some("url_invalid"), Some("url_invalid")),
        ("file:///etc/passwd", Some("url_invalid"), Some("url_invalid")),
        (&long, Some("url_invalid"), Some("url_invalid")),
        ("http://127.0.0.1/hook", Some("url_forbidden_address"), None),
        ("http://[::1]:8080/hook", Some("url_forbidden_address"), None),
        ("http://[::ffff:127.0.0.1]/hook", Some("url_forbidden_address"), None),
        ("http://2130706433/hook", Some("url_forbidden_address"), None),
        ("http://0x7f.1/hook", Some("url_forbidden_address"), None),
        ("http://localhost/hook", Some("url_forbidden_address"), None),
        ("http://169.254.169.254/latest/meta-data", Some("url_forbidden_address"), Some("url_forbidden_address")),
        ("http://0.0.0.0:8080/", Some("url_forbidden_address"), Some("url_forbidden_address")),
        ("https://no-such-host.invalid/hook", Some("url_unresolvable"), Some("url_unresolvable")),
        ("https://93.184.215.14/hook", None, None),
    ];
    for (url, strict_code, laptop_code) in table {
        let strict_result = check_url(url, &strict).await.map_err(|refused| refused.code());
        assert_eq!(strict_result.err(), strict_code, "{url} with loopback refused");
        let laptop_result = check_url(url, &laptop).await.map_err(|refused| refused.code());
        assert_eq!(laptop_result.err(), laptop_code, "{url} with loopback allowed");
    }
}

#[tokio::test]
async fn a_checked_target_carries_the_checked_addresses_and_says_why_it_was_refused() {
    let laptop = AddressPolicy { allow_loopback: true, allowed_networks: Vec::new() };
    let target = check_url("http://LOCALHOST:4242/hook?x=1", &laptop).await.unwrap();
    assert_eq!(target.host(), "localhost");
    assert_eq!(target.url(), "http://localhost:4242/hook?x=1");
    assert!(!target.addresses().is_empty());
    assert!(target.addresses().iter().all(|address| address.ip().is_loopback() && address.port() == 4242));

    let refused = check_url("http://[::ffff:169.254.169.254]/", &laptop).await.unwrap_err();
    assert_eq!(refused.code(), "url_forbidden_address");
    assert!(refused.to_string().contains("cloud_metadata"), "{refused}");
    assert!(!refused.to_string().contains("169.254"), "the message must not map the network: {refused}");
}
