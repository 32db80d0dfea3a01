//! Who a client is, for rate limits: the address a request came from (the peer, or the
//! `X-Forwarded-For` entry a trusted proxy added) and the key its events are counted under.
//! One IPv6 host owns a whole /64, so an IPv6 address is counted by its /64.

use std::net::IpAddr;

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
