//! Who a client is, for rate limits: the address a request came from (the peer, or the
//! `X-Forwarded-For` entry a trusted proxy added) and the key its events are counted under.
//! One IPv6 host owns a whole /64, so an IPv6 address is counted by its /64.

use crate::web::Request;
use std::net::IpAddr;

/// The client behind a trusted proxy: when the peer is one of `trusted`, the right-most
/// `X-Forwarded-For` address that is not itself a trusted proxy (what the nearest proxy
/// saw; entries further left are whatever the client wrote). `None` when the peer is not
/// trusted (its own address counts, and the header is ignored) or names no one.
pub(crate) fn forwarded_client(trusted: &[IpAddr], request: &Request) -> Option<String> {
    let peer: IpAddr = request.ip.parse().ok()?;
    if !trusted.contains(&peer) {
        return None;
    }
    let entries: Vec<&str> = request
        .header_values("X-Forwarded-For")
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    for entry in entries.iter().rev() {
        let address: IpAddr = entry.parse().ok()?;
        if !trusted.contains(&address) {
            return Some(address.to_string());
        }
    }
    None
}

/// The rate-limit key of the client address `ip`: an IPv4 address as it is, an IPv6
/// address by its /64 (`2001:db8:1:2::/64`); anything unparsable as it is.
pub(crate) fn rate_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_trusted_proxies_name_the_client() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut request = Request::for_test("POST", "/device", None, None);
        request.ip = "10.0.0.1".into();
        request.set_header_for_test("X-Forwarded-For", "6.6.6.6, 198.51.100.7");
        assert_eq!(
            forwarded_client(&[proxy], &request).as_deref(),
            Some("198.51.100.7")
        );
        assert_eq!(forwarded_client(&[], &request), None);
        request.ip = "203.0.113.1".into();
        assert_eq!(forwarded_client(&[proxy], &request), None);
        request.ip = "10.0.0.1".into();
        request.set_header_for_test("X-Forwarded-For", "198.51.100.7, 10.0.0.1");
        assert_eq!(
            forwarded_client(&[proxy], &request).as_deref(),
            Some("198.51.100.7")
        );
        request.set_header_for_test("X-Forwarded-For", "not-an-address");
        assert_eq!(forwarded_client(&[proxy], &request), None);
    }

    #[test]
    fn ipv6_counts_by_its_64() {
        assert_eq!(rate_key("203.0.113.7"), "203.0.113.7");
        assert_eq!(rate_key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(
            rate_key("2001:db8:1:2:ffff:eeee:dddd:cccc"),
            "2001:db8:1:2::/64"
        );
        assert_ne!(rate_key("2001:db8:1:3::1"), rate_key("2001:db8:1:2::1"));
        assert_eq!(rate_key("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(rate_key("unknown"), "unknown");
    }
}
