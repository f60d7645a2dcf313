//! What keeps one client, or a crowd, from starving the service: the settings of connection
//! hygiene (read by `serve`), the bounded pool CPU-heavy work runs on (`AppState::compute`), the
//! concurrency caps of expensive public endpoints and the per-client rate limits (`guard`), and
//! the request deadlines (`deadlines`).
//!
//! Every refusal is a problem (RFC 9457) naming the setting that refused it (`limit`): 503 with
//! `Retry-After` when a cap or the pool is full, 429 with `Retry-After` over a rate limit, 408
//! when a body or an answer takes too long.

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use tokio::sync::Semaphore;

use crate::AppState;
use crate::error::ApiError;
use crate::ratelimit::{Net, RateLimit, RateLimiter};

/// The service's limits. `Default` gives the documented defaults (README, "Limits").
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// A request's head must have arrived this long after the service began waiting for it (a
    /// new connection, or the previous answer on a kept-alive one).
    pub header_read_timeout: Duration,
    /// A request's body must have arrived this long after its head.
    pub body_read_timeout: Duration,
    /// A connection on which no request is being answered and nothing has arrived for this long
    /// is closed.
    pub idle_timeout: Duration,
    /// The longest an answer may take once the request has arrived (408).
    pub request_timeout: Duration,
    /// Connections open at once; more wait in the listen queue until one closes.
    pub max_connections: usize,
    /// On shutdown, how long requests in progress are given to finish.
    pub shutdown_grace: Duration,
    /// Threads of the pool CPU-heavy work runs on.
    pub compute_threads: usize,
    /// The longest a request may wait for the pool and run on it (503 after).
    pub compute_budget: Duration,
    /// Concurrency caps of expensive public endpoints (requests without a token).
    pub caps: Caps,
    /// Per-client rate limits of the public; `None` turns them off (benchmarks only).
    pub rates: Option<Rates>,
    /// Requests with a token are limited by the public limits times this.
    pub token_factor: u32,
    /// Peers whose `Forwarded` / `X-Forwarded-For` headers name the client.
    pub trusted_proxies: Vec<Net>,
    /// The origins a browser may call the API from (`conventions::cors`): `*` for any (the
    /// default), none for same-origin only.
    pub cors_origins: Vec<String>,
}

/// Public requests of one kind in progress at once; more are answered 503.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Caps {
    pub route_checks: usize,
    pub transparency: usize,
    pub items: usize,
    pub reports: usize,
}

/// Per-client rate limits (IPv4 address or IPv6 /64).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rates {
    /// Place and route checks.
    pub checks: RateLimit,
    /// Vector tiles.
    pub tiles: RateLimit,
    /// OGC API items and single items.
    pub items: RateLimit,
}

impl Default for Rates {
    /// Generous, because a whole village may share one carrier-grade NAT address: a map user
    /// fetches a few hundred tiles a minute while panning, a person checks a place a few times.
    fn default() -> Rates {
        Rates {
            checks: RateLimit::per_minute(600, 1200),
            tiles: RateLimit::per_minute(3000, 6000),
            items: RateLimit::per_minute(300, 600),
        }
    }
}

/// The compute threads by default: all cores but one, which stays for the async workers that
/// answer cheap requests (`/health`, place checks, cached tiles), at least one.
pub fn default_compute_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1))
        .unwrap_or(1)
        .max(1)
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            // A head is under a kilobyte: half a minute is plenty on the slowest phone link.
            header_read_timeout: Duration::from_secs(30),
            // A report with a 2 MiB photo is 2.8 MB of base64; a redrawn phone photo (what the map
            // page sends) about 700 kB, under a minute on EDGE at 100 kbit/s.
            body_read_timeout: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(20),
            request_timeout: crate::REQUEST_TIMEOUT,
            max_connections: 4096,
            shutdown_grace: Duration::from_secs(30),
            compute_threads: default_compute_threads(),
            compute_budget: Duration::from_secs(10),
            caps: Caps {
                route_checks: 4,
                transparency: 2,
                items: 8,
                reports: 128,
            },
            rates: Some(Rates::default()),
            token_factor: 20,
            trusted_proxies: Vec::new(),
            cors_origins: vec!["*".to_string()],
        }
    }
}

/// The limits' live parts: the pool's permits, the caps' semaphores, the rate limiters.
#[derive(Debug)]
pub(crate) struct Guards {
    pub(crate) limits: Limits,
    compute: Arc<Semaphore>,
    light: Arc<Semaphore>,
    route_checks: Arc<Semaphore>,
    transparency: Arc<Semaphore>,
    items: Arc<Semaphore>,
    reports: Arc<Semaphore>,
    /// (public, with a token) per class.
    checks: Option<(RateLimiter, RateLimiter)>,
    tiles: Option<(RateLimiter, RateLimiter)>,
    items_rate: Option<(RateLimiter, RateLimiter)>,
}

impl Guards {
    pub(crate) fn new(limits: Limits) -> Guards {
        let sem = |n: usize| Arc::new(Semaphore::new(n.max(1)));
        let pair = |r: RateLimit| {
            (
                RateLimiter::new(r),
                RateLimiter::new(r.times(limits.token_factor.max(1))),
            )
        };
        Guards {
            compute: sem(limits.compute_threads),
            light: sem(limits.compute_threads),
            route_checks: sem(limits.caps.route_checks),
            transparency: sem(limits.caps.transparency),
            items: sem(limits.caps.items),
            reports: sem(limits.caps.reports),
            checks: limits.rates.map(|r| pair(r.checks)),
            tiles: limits.rates.map(|r| pair(r.tiles)),
            items_rate: limits.rates.map(|r| pair(r.items)),
            limits,
        }
    }
}

/// A problem naming the setting that refused the request, with `Retry-After` when given.
pub fn refusal(
    status: StatusCode,
    title: &str,
    limit: &str,
    detail: String,
    retry_after: Option<u64>,
) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
        "limit": limit,
    });
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Some(s) = retry_after {
        r.headers_mut().insert(header::RETRY_AFTER, s.max(1).into());
    }
    r
}

/// An `ApiError` for a cost limit: 422 naming the parameter and the limit.
pub fn over_cost(detail: impl Into<String>) -> ApiError {
    ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        title: "Over a cost limit",
        detail: detail.into(),
    }
}

/// What an expensive work item is, for the 503 of a full pool.
fn busy(what: &str, budget: Duration) -> ApiError {
    ApiError::unavailable(format!(
        "the service is busy: {what} could not be done within the per-request budget of {} s (limits.compute_budget); try again shortly",
        budget.as_secs_f64()
    ))
}

impl AppState {
    /// Runs CPU-heavy work (`what` names it in a refusal) on the bounded pool: at most
    /// `compute_threads` at once on tokio's blocking threads, so the async workers stay free for
    /// cheap requests. A request that cannot get a thread, or finish, within `compute_budget` is
    /// answered 503; work already started runs to its end holding its thread, so the pool stays
    /// bounded.
    pub async fn compute<T: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(&AppState) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let pool = self.inner.guards.compute.clone();
        self.run_on(pool, what, f).await
    }

    /// As `compute`, on a pool of its own of the same size, for work that is small but frequent
    /// (drawing a tile), so the map is never held behind route checks and reports.
    pub async fn compute_light<T: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(&AppState) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let pool = self.inner.guards.light.clone();
        self.run_on(pool, what, f).await
    }

    async fn run_on<T: Send + 'static>(
        &self,
        pool: Arc<Semaphore>,
        what: &str,
        f: impl FnOnce(&AppState) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let budget = self.inner.guards.limits.compute_budget;
        let started = Instant::now();
        let permit = tokio::time::timeout(budget, pool.acquire_owned())
            .await
            .map_err(|_| busy(what, budget))?
            .map_err(ApiError::internal)?;
        let state = self.clone();
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f(&state)
        });
        match tokio::time::timeout(budget.saturating_sub(started.elapsed()), task).await {
            Ok(r) => r.map_err(ApiError::internal),
            Err(_) => Err(busy(what, budget)),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.guards.limits
    }

    /// The client's address as the rate limits see it (through trusted proxies only).
    pub fn client_ip(&self, parts: &axum::http::request::Parts) -> IpAddr {
        crate::ratelimit::client_ip(
            crate::ratelimit::peer_ip(&parts.extensions),
            &parts.headers,
            &self.limits().trusted_proxies,
        )
    }
}

/// The kinds of request `guard` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    PointCheck,
    RouteCheck,
    Tiles,
    Items,
    /// One item: rated as items, not capped.
    Item,
    Transparency,
    Reports,
}

/// Rate limit, then concurrency cap, for one class of request; a layer on its routes.
pub async fn guard(
    State((state, class)): State<(AppState, Class)>,
    req: Request,
    next: Next,
) -> Response {
    let g = &state.inner.guards;
    let token = req.headers().contains_key(header::AUTHORIZATION);
    let (rates, rate_name, what) = match class {
        Class::PointCheck | Class::RouteCheck => (&g.checks, "rate_limits.checks", "checks"),
        Class::Tiles => (&g.tiles, "rate_limits.tiles", "tiles"),
        Class::Items | Class::Item => (&g.items_rate, "rate_limits.items", "item requests"),
        // Reports keep their own limit (reports.rate_*), taken in the handler; the transparency
        // report is bounded by its cap.
        Class::Transparency | Class::Reports => (&None, "", ""),
    };
    if let Some((public, tokened)) = rates {
        let (parts, body) = req.into_parts();
        let ip = state.client_ip(&parts);
        let limiter = if token { tokened } else { public };
        if let Err(wait) = limiter.take(ip, Instant::now()) {
            state.metrics().rate_limited.fetch_add(1, Ordering::Relaxed);
            return crate::ratelimit::too_many(rate_name, what, wait);
        }
        return capped(&state, class, token, Request::from_parts(parts, body), next).await;
    }
    capped(&state, class, token, req, next).await
}

async fn capped(state: &AppState, class: Class, token: bool, req: Request, next: Next) -> Response {
    let g = &state.inner.guards;
    let (sem, name, what) = match class {
        Class::RouteCheck => (&g.route_checks, "caps.route_checks", "route checks"),
        Class::Transparency => (&g.transparency, "caps.transparency", "transparency reports"),
        Class::Items => (&g.items, "caps.items", "item pages"),
        Class::Reports => (&g.reports, "caps.reports", "report submissions"),
        Class::PointCheck | Class::Tiles | Class::Item => return next.run(req).await,
    };
    // Token holders are not held to the public's caps; their work still queues for the pool.
    if token {
        return next.run(req).await;
    }
    // A body is read before a place is taken, so slow senders hold no place (their time is
    // bounded by `body_read_timeout`, and a body over the route's limit is refused by the
    // handler from its Content-Length without being read).
    let body_limit = match class {
        Class::RouteCheck => Some(crate::BODY_LIMIT),
        Class::Reports => Some(state.reports_config().body_limit()),
        _ => None,
    };
    let req = match body_limit {
        Some(max) if !declared_over(&req, max) => {
            let (parts, body) = req.into_parts();
            match axum::body::to_bytes(body, max).await {
                Ok(bytes) => Request::from_parts(parts, Body::from(bytes)),
                // Past the body's deadline `deadlines` answers 408; otherwise the body was
                // larger than declared or broke off.
                Err(e) => {
                    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
                    while let Some(s) = source {
                        if s.is::<http_body_util::LengthLimitError>() {
                            return ApiError::too_large(format!("body is larger than {max} bytes"))
                                .into_response();
                        }
                        source = s.source();
                    }
                    return ApiError::bad_request(format!("body: could not be read: {e}"))
                        .into_response();
                }
            }
        }
        _ => req,
    };
    let Ok(_permit) = sem.clone().try_acquire_owned() else {
        state.metrics().busy.fetch_add(1, Ordering::Relaxed);
        let n = match class {
            Class::RouteCheck => g.limits.caps.route_checks,
            Class::Transparency => g.limits.caps.transparency,
            Class::Items => g.limits.caps.items,
            _ => g.limits.caps.reports,
        };
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service busy",
            name,
            format!(
                "{n} public {what} are in progress, the most at once ({name}); try again in a few seconds"
            ),
            Some(2),
        );
    };
    next.run(req).await
}

/// Whether the request's Content-Length is above `max`.
fn declared_over(req: &Request, max: usize) -> bool {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > max as u64)
}

/// A request body that must have arrived by a deadline; past it, the read fails and `expired`
/// is set, so the answer becomes a 408.
struct DeadlineBody {
    inner: Body,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(f) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(f);
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new(
                "the request body did not arrive in time",
            ))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn timed_out(limit: &str, detail: String) -> Response {
    let mut r = refusal(
        StatusCode::REQUEST_TIMEOUT,
        "Request timeout",
        limit,
        detail,
        None,
    );
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// The body must arrive within `body_read_timeout` of the head, and the answer within
/// `request_timeout` of the body (408 otherwise, and the connection is closed).
pub async fn deadlines(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let l = state.limits();
    let (request_timeout, body_timeout) = (l.request_timeout, l.body_read_timeout);
    use http_body::Body as _;
    if req.body().is_end_stream() {
        return match tokio::time::timeout(request_timeout, next.run(req)).await {
            Ok(r) => r,
            Err(_) => timed_out(
                "limits.request_timeout",
                format!(
                    "the request took longer than {} s (limits.request_timeout)",
                    request_timeout.as_secs_f64()
                ),
            ),
        };
    }
    let expired = Arc::new(AtomicBool::new(false));
    let flag = expired.clone();
    let req = req.map(|inner| {
        Body::new(DeadlineBody {
            inner,
            sleep: Box::pin(tokio::time::sleep(body_timeout)),
            expired: flag,
        })
    });
    let r = tokio::time::timeout(body_timeout + request_timeout, next.run(req)).await;
    if expired.load(Ordering::Relaxed) {
        return timed_out(
            "limits.body_read_timeout",
            format!(
                "the request body did not arrive within {} s (limits.body_read_timeout)",
                body_timeout.as_secs_f64()
            ),
        );
    }
    r.unwrap_or_else(|_| {
        timed_out(
            "limits.request_timeout",
            format!(
                "the request took longer than {} s (limits.request_timeout)",
                request_timeout.as_secs_f64()
            ),
        )
    })
}
