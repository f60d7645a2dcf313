//! Per-client rate limits: a token bucket per client and class of request, `burst` requests at
//! once, refilled at `per_hour`. Clients are IPv4 addresses, or IPv6 /64 networks (one
//! household or phone usually holds a whole /64). The table forgets clients whose bucket is full
//! again, so it stays small.
//!
//! Who the client is (`client_ip`): the connection's peer, unless the peer is one of the
//! configured trusted proxies (`[network] trusted_proxies`), in which case the forwarded address
//! (`Forwarded: for=`, else `X-Forwarded-For`) is read from the right, skipping trusted proxies:
//! the first untrusted address is the client. A forwarding header from anyone else is ignored, so
//! nobody escapes the limit by writing one.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Settings of a rate limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Requests a client may make at once.
    pub burst: u32,
    /// Requests a client regains per hour.
    pub per_hour: u32,
}

impl RateLimit {
    /// A limit of `burst` at once and `per_minute` more each minute.
    pub const fn per_minute(burst: u32, per_minute: u32) -> RateLimit {
        RateLimit {
            burst,
            per_hour: per_minute.saturating_mul(60),
        }
    }

    /// The same limit multiplied by `factor` (for token holders).
    pub fn times(self, factor: u32) -> RateLimit {
        RateLimit {
            burst: self.burst.saturating_mul(factor),
            per_hour: self.per_hour.saturating_mul(factor),
        }
    }
}

/// How many clients the table holds before it forgets those with full buckets.
const PRUNE_AT: usize = 100_000;

/// The buckets of every client seen lately.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<u128, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter with these settings; `burst` and `per_hour` must be at least 1.
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            limit: RateLimit {
                burst: limit.burst.max(1),
                per_hour: limit.per_hour.max(1),
            },
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The limit in force.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes one token for `ip` at `now`; when none is left, says how long until one is.
    pub fn take(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let burst = self.limit.burst as f64;
        let per_sec = self.limit.per_hour as f64 / 3600.0;
        let key = client_key(ip);
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if b.len() >= PRUNE_AT {
            b.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * per_sec < burst
            });
        }
        let (tokens, at) = b.entry(key).or_insert((burst, now));
        let have =
            (*tokens + now.saturating_duration_since(*at).as_secs_f64() * per_sec).min(burst);
        *at = now;
        if have >= 1.0 {
            *tokens = have - 1.0;
            Ok(())
        } else {
            *tokens = have;
            Err(Duration::from_secs_f64((1.0 - have) / per_sec))
        }
    }
}

/// The key of a client: an IPv4 address (as IPv4-mapped IPv6), or an IPv6 /64 network.
fn client_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(v4.to_ipv6_mapped()),
            None => u128::from(v6) & !((1u128 << 64) - 1),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Trusted proxies and the client's address.

/// A network of trusted proxies: an address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// Parses `ADDR` or `ADDR/PREFIX` (IPv4 or IPv6).
    pub fn parse(s: &str) -> Result<Net, String> {
        let (a, p) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or network such as 10.0.0.0/8"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Net { addr, prefix })
    }

    /// Whether `ip` is in the network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// One `for=` value of a `Forwarded` header, or one entry of `X-Forwarded-For`: an address,
/// perhaps quoted, bracketed, or with a port.
fn forwarded_addr(v: &str) -> Option<IpAddr> {
    let v = v.trim().trim_matches('"');
    if let Ok(ip) = v.parse() {
        return Some(ip);
    }
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    v.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// The forwarded chain, nearest hop last: `Forwarded`'s `for=` values when the header is there,
/// else `X-Forwarded-For`'s entries. An entry that is not an address ends the chain there.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers
        .get_all(header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| forwarded_addr(v))
                })?
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(forwarded_addr)
        .collect()
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the nearest forwarded
/// address that is not one.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Net]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_chain(headers).into_iter().rev() {
        match hop {
            Some(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            // An entry that is not an address (`unknown`, an obfuscated name): the last proxy we
            // trust is the best we know.
            None => break,
        }
    }
    client
}

/// The peer address of a request (unspecified when the service runs without one, in tests).
pub fn peer_ip(extensions: &axum::http::Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// 429 problem with `Retry-After`, naming the limit (`limit`, e.g. `rate_limits.tiles`).
pub fn too_many(limit: &str, what: &str, wait: Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let body = serde_json::json!({
        "type": "about:blank",
        "title": "Too many requests",
        "status": 429,
        "detail": format!("too many {what} from this address ({limit}); try again in {secs} s"),
        "limit": limit,
    });
    let mut r = (StatusCode::TOO_MANY_REQUESTS, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r.headers_mut().insert(header::RETRY_AFTER, secs.into());
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_and_refills() {
        let l = RateLimiter::new(RateLimit {
            burst: 3,
            per_hour: 3600,
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let t = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.take(a, t), Ok(()));
        }
        let wait = l.take(a, t).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        // Another client has its own bucket.
        assert_eq!(l.take(b, t), Ok(()));
        // One second later, one more.
        assert_eq!(l.take(a, t + Duration::from_secs(1)), Ok(()));
        assert!(l.take(a, t + Duration::from_secs(1)).is_err());
        // Addresses of one IPv6 /64 share a bucket; another /64 does not.
        let l = RateLimiter::new(RateLimit {
            burst: 1,
            per_hour: 1,
        });
        assert_eq!(l.take("2001:db8:1:2::1".parse().unwrap(), t), Ok(()));
        assert!(l.take("2001:db8:1:2::99".parse().unwrap(), t).is_err());
        assert_eq!(l.take("2001:db8:1:3::1".parse().unwrap(), t), Ok(()));
        let wait = l.take("2001:db8:1:3::1".parse().unwrap(), t).unwrap_err();
        assert_eq!(wait.as_secs(), 3600);
    }

    #[test]
    fn networks_parse_and_contain() {
        let n = Net::parse("10.1.0.0/16").unwrap();
        assert!(n.contains("10.1.200.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.0.9".parse().unwrap()));
        let one = Net::parse("192.0.2.7").unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()));
        assert!(!one.contains("192.0.2.8".parse().unwrap()));
        let v6 = Net::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert!(
            Net::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(Net::parse("10.0.0.0/33").unwrap_err().contains("prefix"));
        assert!(Net::parse("proxy.local").unwrap_err().contains("not an IP"));
    }

    #[test]
    fn the_client_is_read_only_through_trusted_proxies() {
        let trusted = [Net::parse("10.0.0.0/8").unwrap()];
        let peer: IpAddr = "10.0.0.5".parse().unwrap();
        let outsider: IpAddr = "198.51.100.9".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.1, 10.0.0.9".parse().unwrap());
        // From a trusted proxy: the nearest untrusted hop.
        assert_eq!(
            client_ip(peer, &h, &trusted),
            "203.0.113.1".parse::<IpAddr>().unwrap()
        );
        // From anyone else: the header is ignored.
        assert_eq!(client_ip(outsider, &h, &trusted), outsider);
        assert_eq!(client_ip(peer, &h, &[]), peer);
        // A forged left-most entry does not help: the right-most untrusted one counts.
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4, 203.0.113.1".parse().unwrap());
        assert_eq!(
            client_ip(peer, &h, &trusted),
            "203.0.113.1".parse::<IpAddr>().unwrap()
        );
        // RFC 7239 Forwarded wins over X-Forwarded-For, with quotes, brackets and ports.
        h.insert(
            header::FORWARDED,
            "for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            client_ip(peer, &h, &trusted),
            "2001:db8:cafe::17".parse::<IpAddr>().unwrap()
        );
        // No header: the proxy itself.
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted), peer);
    }
}
