//! A token bucket per client: `burst` requests at once, refilled at `per_hour`. Clients are
//! IPv4 addresses, or IPv6 /64 networks (one household or phone usually holds a whole /64).
//! The table forgets clients whose bucket is full again, so it stays small.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Settings of a rate limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Requests a client may make at once.
    pub burst: u32,
    /// Requests a client regains per hour.
    pub per_hour: u32,
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
}
