//! Cairn's HTTP service: OGC API – Features, place and route checks, vector tiles, the public
//! map and its assets, and authentication. The only crate that speaks HTTP.

// The OpenAPI document is one large `json!` literal.
#![recursion_limit = "256"]

pub mod accidents;
pub mod audit;
pub mod auth;
pub mod basemap;
pub mod check;
pub mod conventions;
pub mod cql2;
pub mod docs;
pub mod edit;
pub mod error;
pub mod export;
mod export_layers;
pub mod limits;
pub mod model;
pub mod officer;
pub mod ogc;
pub mod openapi;
pub mod ops;
pub mod parcel;
pub mod pyramid;
pub mod ratelimit;
pub mod releases;
pub mod reports;
pub mod tiles;
pub mod transparency;
pub mod vt;
pub mod web;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use cairn_core::Catalogue;
use cairn_store::{Backend, StoreError};
use limits::Class;

pub use model::ReadModel;

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 1 << 20;
/// The longest a request may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The longest the read model waits before asking the store for changes made by other
/// processes: a store that announces its changes (PostgreSQL's `NOTIFY`) wakes the follower at
/// once, one that cannot (SQLite) is polled every `cairn_store::POLL_INTERVAL`.
pub const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);
/// How long the follower waits before trying again after the store failed (unreachable).
pub const FOLLOW_RETRY: Duration = Duration::from_millis(500);
/// Above this many changed records, the read model is rebuilt rather than patched.
pub const RELOAD_AT: usize = 50_000;

/// The change feed's reader.
struct Feed {
    store: Box<dyn Backend>,
    seq: i64,
    /// The newest catalogue version the service has taken.
    catalogue_version: i64,
    error: Option<String>,
    /// With a read replica (`store` is the replica): a connection to the primary, from which a
    /// writer's catch-up reads its own write.
    primary: Option<Box<dyn Backend>>,
}

/// The number of the store's newest device catalogue version.
fn newest_catalogue(store: &dyn Backend) -> Result<i64, StoreError> {
    Ok(store.catalogue_versions()?.last().map_or(0, |v| v.version))
}

/// A cached tile's key: (public, z, x, y).
pub type TileKey = (bool, u8, u32, u32);

struct Shared {
    store: Mutex<Box<dyn Backend>>,
    model: RwLock<ReadModel>,
    /// The change feed's reader: its own connection and the changeset number the model reached.
    feed: Mutex<Feed>,
    /// The connection the follower waits on for the store's announcements (`LISTEN`).
    waiter: Mutex<Box<dyn Backend>>,
    /// When the model was last confirmed to hold everything the store had (a catch-up that
    /// worked), in microseconds since 1970: the age of the data a server answers from while it
    /// cannot reach the store. Atomic, so that every response can state it without a lock.
    checked_at: std::sync::atomic::AtomicI64,
    /// Whether the model follows a read replica (fixed at start; read without a lock).
    replica: bool,
    /// The device catalogue in force: the store's newest version, followed like the records.
    catalogue: RwLock<Arc<Catalogue>>,
    metrics: ops::Metrics,
    tiles: Mutex<std::collections::HashMap<TileKey, vt::Drawn>>,
    reports: reports::ReportsConfig,
    report_limiter: Option<ratelimit::RateLimiter>,
    intake: reports::Intake,
    /// The audit policy of `cairn serve --policy`, for `GET /api/audit`.
    policy: RwLock<Option<Arc<cairn_audit::run::LoadedPolicy>>>,
    /// The base map of `cairn serve --basemap FILE` (`basemap.rs`).
    basemap: RwLock<Option<Arc<basemap::Basemap>>>,
    /// Timeouts, the compute pool, caps and rate limits (`limits.rs`).
    guards: limits::Guards,
    /// Notified each time a part of the model built after the start (`complete_in_background`)
    /// is installed.
    completed: (Mutex<()>, Condvar),
}

/// The state every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// Loads the read model from the store and keeps both, with the default report settings.
    pub fn new(
        store: impl Backend + 'static,
        catalogue: Catalogue,
    ) -> Result<AppState, StoreError> {
        AppState::with_config(store, catalogue, reports::ReportsConfig::default())
    }

    /// Loads the read model from the store and keeps both; reports are taken as `reports` says,
    /// through a second connection to the same store file.
    pub fn with_config(
        store: impl Backend + 'static,
        catalogue: Catalogue,
        reports: reports::ReportsConfig,
    ) -> Result<AppState, StoreError> {
        AppState::with_limits(
            Box::new(store),
            catalogue,
            reports,
            limits::Limits::default(),
        )
    }

    /// As `with_config`, on a store of whichever backend, with these limits (timeouts, pool,
    /// caps, rate limits).
    pub fn with_limits(
        store: Box<dyn Backend>,
        catalogue: Catalogue,
        reports: reports::ReportsConfig,
        limits: limits::Limits,
    ) -> Result<AppState, StoreError> {
        AppState::with_replica(store, None, catalogue, reports, limits)
    }

    /// As `with_limits`; with `replica` (a streaming replica of `store`'s database, `cairn serve
    /// --read-db`), the read model is loaded from the replica and follows the change feed there,
    /// while writes, reports and token lookups go to `store`, the primary, and a writer's own
    /// write is read back from the primary (read-your-writes). The follower is still woken by
    /// the primary's announcements, and polls the replica every `cairn_store::POLL_INTERVAL`
    /// meanwhile, since a replica applies a change a moment after the primary announced it.
    pub fn with_replica(
        store: Box<dyn Backend>,
        replica: Option<Box<dyn Backend>>,
        catalogue: Catalogue,
        reports: reports::ReportsConfig,
        mut limits: limits::Limits,
    ) -> Result<AppState, StoreError> {
        // The older `reports.trust_forwarded_for`: a reverse proxy on this host.
        if reports.trust_forwarded_for && limits.trusted_proxies.is_empty() {
            limits.trusted_proxies = ["127.0.0.0/8", "::1"]
                .iter()
                .filter_map(|n| ratelimit::Net::parse(n).ok())
                .collect();
        }
        let (feed_store, primary) = match &replica {
            Some(r) => (r.reopen(true)?, Some(store.reopen(true)?)),
            None => (store.reopen(true)?, None),
        };
        let waiter = store.reopen(true)?;
        let follows_replica = primary.is_some();
        // The feed's number is read before the records: whatever commits while they load is
        // applied again by the first catch-up (applying a revision twice is harmless).
        let seq = feed_store.last_change()?;
        // Answering starts once the records, the public features and both trees are in; the
        // covering cells and the public grid follow on a thread of their own.
        let mut model = ReadModel::load_core(replica.as_deref().unwrap_or(&*store), &catalogue)?;
        drop(replica);
        model.seq = seq;
        let catalogue_version = newest_catalogue(&*feed_store)?;
        let intake_store = store.reopen(false)?;
        let state = AppState {
            inner: Arc::new(Shared {
                store: Mutex::new(store),
                model: RwLock::new(model),
                feed: Mutex::new(Feed {
                    store: feed_store,
                    seq,
                    catalogue_version,
                    error: None,
                    primary,
                }),
                checked_at: std::sync::atomic::AtomicI64::new(
                    chrono::Utc::now().timestamp_micros(),
                ),
                waiter: Mutex::new(waiter),
                replica: follows_replica,
                catalogue: RwLock::new(Arc::new(catalogue)),
                metrics: ops::Metrics::default(),
                tiles: Mutex::new(std::collections::HashMap::new()),
                report_limiter: reports.rate_limit.map(ratelimit::RateLimiter::new),
                reports,
                intake: reports::Intake::start(intake_store),
                policy: RwLock::new(None),
                basemap: RwLock::new(None),
                guards: limits::Guards::new(limits),
                completed: (Mutex::new(()), Condvar::new()),
            }),
        };
        state.follow();
        state.complete_in_background();
        Ok(state)
    }

    /// Builds what the model left out at start (its covering cells, then the public grid) on a
    /// thread of its own, each from a plan taken under the model's lock and installed under it
    /// with every write made meanwhile (`ReadModel::plan`, `install_cells`, `install_grid`). Until
    /// then every answer is exact all the same: low-zoom tiles are drawn from the indexes, public
    /// place checks asked of the tree. A model replaced meanwhile (a rebuild, which is complete)
    /// takes nothing from it. Ends early when the last handle to the state is dropped.
    fn complete_in_background(&self) {
        let weak = Arc::downgrade(&self.inner);
        let run = move || {
            let started = Instant::now();
            let plan = {
                let Some(inner) = weak.upgrade() else { return };
                let mut m = inner.model.write().unwrap_or_else(|e| e.into_inner());
                m.plan()
            };
            let Some(plan) = plan else { return };
            let built = plan.cells.build();
            {
                let Some(inner) = weak.upgrade() else { return };
                let state = AppState { inner };
                let installed = state
                    .inner
                    .model
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .install_cells(built);
                if installed {
                    // Tiles drawn from the indexes meanwhile may differ from the cells' on a
                    // cell's very border (both cover every hazard): draw them again.
                    state.clear_tiles();
                }
                state.notify_completed();
                tracing::info!(
                    target: "cairn_server::model",
                    ms = started.elapsed().as_millis() as u64,
                    installed,
                    rss_mib = model::resident_mib(),
                    "covering cells built after the start"
                );
            }
            if let Some(grid) = plan.grid {
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                let built = grid.build(threads);
                let Some(inner) = weak.upgrade() else { return };
                let state = AppState { inner };
                let installed = state
                    .inner
                    .model
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .install_grid(built);
                state.notify_completed();
                tracing::info!(
                    target: "cairn_server::model",
                    ms = started.elapsed().as_millis() as u64,
                    installed,
                    rss_mib = model::resident_mib(),
                    "public point-location grid built after the start"
                );
            }
        };
        if let Err(e) = std::thread::Builder::new()
            .name("cairn-complete".into())
            .spawn(run)
        {
            tracing::warn!(error = %e, "no thread to complete the read model on; completing it now");
            self.inner
                .model
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .complete();
        }
    }

    fn notify_completed(&self) {
        let _held = self
            .inner
            .completed
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        self.inner.completed.1.notify_all();
    }

    /// Waits until the model is complete (its covering cells and public grid built after the
    /// start): for tests and benchmarks that look at those parts themselves. Every answer is
    /// exact before, so the service itself never waits.
    pub fn wait_until_complete(&self) {
        let mut held = self
            .inner
            .completed
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        while !self.model().building().is_empty() {
            held = match self
                .inner
                .completed
                .1
                .wait_timeout(held, Duration::from_millis(50))
            {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }

    fn clear_tiles(&self) {
        self.inner
            .tiles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Starts the thread that follows the store's change feed, so writes made by any process
    /// (the command line, another server) reach every check, tile and item: it waits for the
    /// store to announce a change (or `FOLLOW_INTERVAL`), then catches up by number. When the
    /// store cannot be reached it keeps trying every `FOLLOW_RETRY`, and the model goes on
    /// answering meanwhile; it ends when the last handle to the state is dropped.
    fn follow(&self) {
        let weak = Arc::downgrade(&self.inner);
        let spawned = std::thread::Builder::new()
            .name("cairn-follow".into())
            .spawn(move || {
                let mut failing = false;
                loop {
                    let Some(inner) = weak.upgrade() else { break };
                    let state = AppState { inner };
                    let waited = if failing {
                        std::thread::sleep(FOLLOW_RETRY);
                        Ok(false)
                    } else {
                        state.wait_for_change()
                    };
                    match waited.and_then(|_| state.catch_up()) {
                        Ok(seq) if failing => {
                            failing = false;
                            tracing::info!(change = seq, "following the store's change feed again");
                        }
                        Ok(_) => {}
                        Err(e) => {
                            if !failing {
                                tracing::warn!(error = %e, "following the store's change feed failed; retrying");
                            }
                            state.set_feed_error(&e);
                            failing = true;
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the change feed's follower");
        }
    }

    /// Brings the read model up to the store's newest changeset: each area written since the
    /// model's number is applied as it is now (`ReadModel::apply`), or, after a change larger
    /// than `RELOAD_AT` records (a big import), the model is rebuilt. Serialised: one catch-up
    /// at a time, so the model only moves forward. Returns the number reached.
    pub fn catch_up(&self) -> Result<i64, StoreError> {
        self.catch_up_from(false)
    }

    /// `catch_up`, reading the changes from the primary database when the model follows a read
    /// replica and `primary` is asked (a writer reading its own write: the replica may not have
    /// it yet), else from the feed's own connection.
    fn catch_up_from(&self, primary: bool) -> Result<i64, StoreError> {
        let mut guard = self.inner.feed.lock().unwrap_or_else(|e| e.into_inner());
        let feed = &mut *guard;
        let source: &dyn Backend = match (&feed.primary, primary) {
            (Some(p), true) => &**p,
            _ => &*feed.store,
        };
        let result = (|| {
            let upto = source.last_change()?;
            if upto <= feed.seq {
                self.confirm_current();
                return Ok(feed.seq);
            }
            let ids = source.changed_areas(feed.seq, upto)?;
            // A new catalogue version can change every record's categories: take it, and rebuild.
            let version = newest_catalogue(source)?;
            let new_catalogue = version != feed.catalogue_version;
            if new_catalogue {
                let c = source.catalogue(None)?.catalogue;
                *self
                    .inner
                    .catalogue
                    .write()
                    .unwrap_or_else(|e| e.into_inner()) = Arc::new(c);
                feed.catalogue_version = version;
            }
            let catalogue = self.catalogue();
            if new_catalogue || ids.len() > RELOAD_AT {
                let mut model = ReadModel::load(source, &catalogue)?;
                model.seq = upto;
                let mut slot = self.inner.model.write().unwrap_or_else(|e| e.into_inner());
                // What the public sees unchanged keeps its date (model.rs).
                model.keep_dates(&slot);
                *slot = model;
            } else {
                let mut fresh = Vec::with_capacity(ids.len());
                for id in &ids {
                    if let Some(s) = source.get_area(id, None)? {
                        fresh.push(s);
                    }
                }
                let mut model = self.inner.model.write().unwrap_or_else(|e| e.into_inner());
                for s in fresh {
                    model.apply(s, &catalogue);
                }
                model.seq = upto;
            }
            feed.seq = upto;
            self.confirm_current();
            self.inner
                .tiles
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
            Ok(upto)
        })();
        feed.error = result.as_ref().err().map(|e: &StoreError| e.to_string());
        result
    }

    /// Waits for the store to announce a change (at most `FOLLOW_INTERVAL`), on a connection of
    /// its own, so that a request catching up after its write never waits for the follower.
    fn wait_for_change(&self) -> Result<bool, StoreError> {
        let limit = if self.follows_replica() {
            cairn_store::POLL_INTERVAL
        } else {
            FOLLOW_INTERVAL
        };
        let waiter = self.inner.waiter.lock().unwrap_or_else(|e| e.into_inner());
        waiter.wait_for_change(limit)
    }

    /// True when the model follows a read replica (`cairn serve --read-db`).
    pub fn follows_replica(&self) -> bool {
        self.inner.replica
    }

    fn set_feed_error(&self, e: &StoreError) {
        let mut feed = self.inner.feed.lock().unwrap_or_else(|e| e.into_inner());
        feed.error = Some(e.to_string());
    }

    /// When the model was last confirmed to hold everything in the store.
    pub fn checked_at(&self) -> cairn_core::Timestamp {
        let micros = self.inner.checked_at.load(Ordering::Relaxed);
        chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default()
    }

    /// `checked_at` as a caller may see it: to the minute for the public, since the exact
    /// moments of a catch-up follow the store's writes, restricted ones included.
    pub fn data_checked_at(&self, full: bool) -> cairn_core::Timestamp {
        let t = self.checked_at();
        if full {
            return t;
        }
        let minute = t.timestamp() - t.timestamp().rem_euclid(60);
        chrono::DateTime::from_timestamp(minute, 0).unwrap_or_default()
    }

    fn confirm_current(&self) {
        self.inner
            .checked_at
            .store(chrono::Utc::now().timestamp_micros(), Ordering::Relaxed);
    }

    /// After a committed write, brings the model up to it, so that no write is answered before
    /// this server's checks, tiles and items show it. Should the store become unreachable between
    /// the commit and the catch-up, the failure is logged and the feed marked failing, not
    /// answered: the write is durable, a client told otherwise would repeat it, and the follower
    /// brings the model up as soon as the store is back.
    pub fn catch_up_after_write(&self) {
        if let Err(e) = self.catch_up_from(true) {
            // `catch_up` has marked the feed failing.
            tracing::warn!(error = %e, "a committed write is not yet in this server's model");
        }
    }

    /// The last error of the change feed's reader, if its latest catch-up failed.
    pub fn feed_error(&self) -> Option<String> {
        self.inner
            .feed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .error
            .clone()
    }

    /// The read model for this request.
    pub fn model(&self) -> RwLockReadGuard<'_, ReadModel> {
        self.inner.model.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the store on a blocking thread (tokio's pool), so that the store's work
    /// never holds an async worker: what every handler uses.
    pub async fn store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&AppState, &mut dyn Backend) -> T + Send + 'static,
    ) -> Result<T, error::ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || state.with_store(|s| f(&state, s)))
            .await
            .map_err(error::ApiError::internal)
    }

    /// Runs `f` with the store on the calling thread (for blocking contexts and tests).
    pub fn with_store<T>(&self, f: impl FnOnce(&mut dyn Backend) -> T) -> T {
        let mut s = self.inner.store.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut **s)
    }

    /// Rebuilds the read model from the store, then follows the feed from there.
    pub fn reload(&self) -> Result<(), StoreError> {
        let mut feed = self.inner.feed.lock().unwrap_or_else(|e| e.into_inner());
        let seq = feed.store.last_change()?;
        let mut model = ReadModel::load(&*feed.store, &self.catalogue())?;
        model.seq = seq;
        let mut slot = self.inner.model.write().unwrap_or_else(|e| e.into_inner());
        model.keep_dates(&slot);
        *slot = model;
        drop(slot);
        feed.seq = seq;
        self.confirm_current();
        self.inner
            .tiles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        Ok(())
    }

    /// A cached tile.
    pub fn tile_cache_get(&self, key: &TileKey) -> Option<vt::Drawn> {
        self.inner
            .tiles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    /// Caches a tile; the cache is emptied when full.
    pub fn tile_cache_put(&self, key: TileKey, tile: vt::Drawn) {
        let mut c = self.inner.tiles.lock().unwrap_or_else(|e| e.into_inner());
        if c.len() >= vt::CACHE_TILES {
            c.clear();
        }
        c.insert(key, tile);
    }

    /// The device catalogue in force (the store's newest version once the feed has seen it).
    pub fn catalogue(&self) -> Arc<Catalogue> {
        self.inner
            .catalogue
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The report intake settings.
    pub fn reports_config(&self) -> &reports::ReportsConfig {
        &self.inner.reports
    }

    /// The per-client limit of reports, unless turned off.
    pub fn report_limiter(&self) -> Option<&ratelimit::RateLimiter> {
        self.inner.report_limiter.as_ref()
    }

    /// The report intake.
    pub fn intake(&self) -> &reports::Intake {
        &self.inner.intake
    }

    /// Sets the audit policy `GET /api/audit` runs (`None`: no policy, answered 404).
    pub fn set_policy(&self, policy: Option<cairn_audit::run::LoadedPolicy>) {
        *self.inner.policy.write().unwrap_or_else(|e| e.into_inner()) = policy.map(Arc::new);
    }

    /// Serves this base map at `/basemap/{z}/{x}/{y}.mvt` and `/basemap.json` (`None`: none).
    pub fn set_basemap(&self, basemap: Option<basemap::Basemap>) {
        *self
            .inner
            .basemap
            .write()
            .unwrap_or_else(|e| e.into_inner()) = basemap.map(Arc::new);
    }

    /// The base map served, if any.
    pub fn basemap(&self) -> Option<Arc<basemap::Basemap>> {
        self.inner
            .basemap
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The audit policy in force, if any.
    pub fn policy(&self) -> Option<Arc<cairn_audit::run::LoadedPolicy>> {
        self.inner
            .policy
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The service's counters.
    pub fn metrics(&self) -> &ops::Metrics {
        &self.inner.metrics
    }
}

async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let r = next.run(req).await;
    let m = state.metrics();
    m.requests.fetch_add(1, Ordering::Relaxed);
    m.duration_us
        .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    let status = r.status();
    if status.is_client_error() {
        m.errors_4xx.fetch_add(1, Ordering::Relaxed);
    } else if status.is_server_error() {
        m.errors_5xx.fetch_add(1, Ordering::Relaxed);
    }
    tracing::info!(%method, %path, status = status.as_u16(), micros = started.elapsed().as_micros() as u64, "request");
    r
}

async fn not_found(req: Request) -> error::ApiError {
    error::ApiError::not_found(format!("nothing at {}", req.uri().path()))
}

async fn method_not_allowed(req: Request) -> error::ApiError {
    error::ApiError {
        status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
        title: "Method not allowed",
        detail: format!(
            "{} is not allowed on {}; the Allow header lists what is",
            req.method(),
            req.uri().path()
        ),
    }
}

/// The whole service as a router, for `serve` and for tests with `oneshot`.
pub fn router(state: AppState) -> Router {
    let report_body = state.reports_config().body_limit();
    let guard =
        |class: Class| middleware::from_fn_with_state((state.clone(), class), limits::guard);
    let router = Router::new()
        .route("/ogc", get(ogc::landing))
        .route("/ogc/", get(ogc::landing))
        .route("/ogc/conformance", get(ogc::conformance))
        .route("/ogc/api", get(openapi::api))
        .route("/ogc/api.html", get(openapi::api_html))
        .route("/ogc/collections", get(ogc::collections))
        .route("/ogc/collections/{id}", get(ogc::collection))
        .route("/ogc/collections/{id}/queryables", get(ogc::queryables_doc))
        .route("/ogc/collections/{id}/sortables", get(ogc::sortables_doc))
        .route("/ogc/collections/{id}/schema", get(ogc::schema_doc))
        .route("/api/export", get(export::download))
        .route(
            "/ogc/collections/{id}/items",
            get(ogc::items)
                .layer(guard(Class::Items))
                .post(edit::create)
                .options(edit::items_options),
        )
        .route(
            "/ogc/collections/{id}/items/{fid}",
            get(ogc::item)
                .layer(guard(Class::Item))
                .put(edit::replace)
                .patch(edit::update)
                .delete(edit::close)
                .options(edit::item_options),
        )
        .route(
            "/api/check/point",
            get(check::point).layer(guard(Class::PointCheck)),
        )
        .route(
            "/api/check/route",
            post(check::route).layer(guard(Class::RouteCheck)),
        )
        .route(
            "/api/parcel/extract",
            post(parcel::extract)
                .layer(axum::extract::DefaultBodyLimit::max(
                    parcel::MAX_PARCEL_BYTES,
                ))
                .layer(guard(Class::RouteCheck)),
        )
        .route(
            "/api/reports",
            post(reports::submit)
                .layer(axum::extract::DefaultBodyLimit::max(report_body))
                .layer(guard(Class::Reports))
                .get(reports::list),
        )
        .route("/api/reports/{reference}", get(reports::get_one))
        .route("/api/reports/{reference}/photo", get(reports::photo))
        .route("/api/reports/{reference}/triage", post(reports::triage))
        .route("/api/areas/{id}/history", get(officer::history))
        .route("/api/areas/{id}/corrections", post(edit::correct))
        .route(
            "/api/transparency",
            get(transparency::report).layer(guard(Class::Transparency)),
        )
        .merge(release_routes())
        .merge(accident_routes())
        .route(
            "/api/audit",
            get(audit::get_audit)
                .post(audit::post_audit)
                .layer(axum::extract::DefaultBodyLimit::max(audit::POLICY_LIMIT)),
        )
        .route(
            "/tiles/{z}/{x}/{file}",
            get(vt::tile).layer(guard(Class::Tiles)),
        )
        .route("/tiles.json", get(vt::tilejson))
        .route("/basemap/{z}/{x}/{file}", get(basemap::tile))
        .route("/basemap.json", get(basemap::tilejson))
        .route("/fonts/{fontstack}/{range}", get(basemap::glyphs))
        .route("/health", get(ops::health))
        .route("/metrics", get(ops::metrics))
        .merge(web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies are limited where they are read (the JSON extractor), so the refusal is a problem.
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::deadlines,
        ))
        .layer(conventions::compression())
        .layer(middleware::from_fn_with_state(state.clone(), count));
    let cors = match conventions::cors(&state.inner.guards.limits.cors_origins) {
        Ok(cors) => cors,
        Err(e) => {
            tracing::error!(error = %e, "network.cors_origins is not valid; no origin is allowed");
            None
        }
    };
    // Outermost, so that it sees every header the layers inside added (CORS's `Vary` too).
    conventions::with_cors(router.with_state(state), cors)
        .layer(middleware::from_fn(conventions::caller_cache))
}

/// Activities, land release, post-release finds and handover certificates (`releases.rs`).
fn release_routes() -> Router<AppState> {
    Router::new()
        .route("/api/activities", post(releases::add_activity))
        .route("/api/activities/{id}", get(releases::get_activity))
        .route("/api/releases", post(releases::release))
        .route("/api/releases/{id}", get(releases::get_release))
        .route("/api/releases/{id}/finds", post(releases::add_find))
        .route("/api/releases/{id}/certificate", get(releases::certificate))
        .route("/api/areas/{id}/releases", get(releases::area_releases))
        .route("/api/areas/{id}/status", post(releases::change_status))
}

/// Accidents and zones (`accidents.rs`).
fn accident_routes() -> Router<AppState> {
    Router::new()
        .route("/api/accidents", post(accidents::add).get(accidents::list))
        .route("/api/accidents/{id}", get(accidents::get_one))
        .route("/api/zones", get(accidents::zones))
        .route("/api/zones/{id}", get(accidents::zone))
}

/// Serves on `addr` until Ctrl-C or SIGTERM; `ready` is called with the bound address.
pub async fn serve(
    state: AppState,
    addr: &str,
    ready: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    serve_until(state, addr, ready, shutdown_signal()).await
}

/// Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Serves on `addr` until `shutdown` completes, with the connection hygiene of the state's
/// limits (`limits.rs`): at most `max_connections` open at once (more wait in the listen queue,
/// so file descriptors are never exhausted), heads read within `header_read_timeout`, idle
/// connections closed after `idle_timeout`; bodies and answers are bounded by the router's
/// `deadlines`. On shutdown the listener closes, idle connections close, and requests in
/// progress are finished (their answers sent, so every write acknowledged is complete) for up to
/// `shutdown_grace`.
pub async fn serve_until(
    state: AppState,
    addr: &str,
    ready: impl FnOnce(std::net::SocketAddr),
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    ready(listener.local_addr()?);
    let limits = state.limits().clone();
    let app = router(state);
    let max = limits.max_connections.max(1);
    let slots = Arc::new(tokio::sync::Semaphore::new(max));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(Some(limits.idle_timeout))
        .keep_alive_timeout(limits.header_read_timeout)
        .max_concurrent_streams(64);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => s.map_err(std::io::Error::other)?,
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors or a connection reset before it was taken: wait a
                    // little rather than spin, and go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection::run(
            stream,
            peer,
            app.clone(),
            builder.clone(),
            limits.clone(),
            stop_rx.clone(),
            slot,
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a slot until it ends: all slots back means all answers are sent.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(
        limits.shutdown_grace + Duration::from_secs(1),
        slots.acquire_many(all),
    )
    .await
    .is_err()
    {
        tracing::warn!("shutdown: requests still in progress after the grace period were cut");
    }
    Ok(())
}

/// One connection: hyper's, with the idle watchdog and the shutdown signal.
mod connection {
    use std::io;
    use std::net::SocketAddr;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::task::{Context, Poll};
    use std::time::{Duration, Instant};

    use axum::Router;
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio::net::TcpStream;
    use tower::ServiceExt;

    use crate::limits::Limits;

    /// The socket, noting when a byte last arrived (milliseconds since the connection opened).
    struct Watched {
        inner: TcpStream,
        opened: Instant,
        last_read: Arc<AtomicU64>,
    }

    impl AsyncRead for Watched {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let before = buf.filled().len();
            let r = Pin::new(&mut self.inner).poll_read(cx, buf);
            if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
                let ms = self.opened.elapsed().as_millis() as u64;
                self.last_read.store(ms, Ordering::Relaxed);
            }
            r
        }
    }

    impl AsyncWrite for Watched {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.inner).poll_write(cx, buf)
        }
        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }
        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
        }
        fn is_write_vectored(&self) -> bool {
            self.inner.is_write_vectored()
        }
    }

    /// Counts a request in progress, and notes when the last one ended.
    struct InFlight {
        count: Arc<AtomicUsize>,
        last_done: Arc<AtomicU64>,
        opened: Instant,
    }

    impl Drop for InFlight {
        fn drop(&mut self) {
            self.last_done
                .store(self.opened.elapsed().as_millis() as u64, Ordering::Relaxed);
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub(super) async fn run(
        stream: TcpStream,
        peer: SocketAddr,
        app: Router,
        builder: Arc<Builder<TokioExecutor>>,
        limits: Limits,
        mut stop: tokio::sync::watch::Receiver<bool>,
        _slot: tokio::sync::OwnedSemaphorePermit,
    ) {
        let opened = Instant::now();
        let last_read = Arc::new(AtomicU64::new(0));
        let last_done = Arc::new(AtomicU64::new(0));
        let count = Arc::new(AtomicUsize::new(0));
        let io = TokioIo::new(Watched {
            inner: stream,
            opened,
            last_read: last_read.clone(),
        });
        let service = {
            let (count, last_done) = (count.clone(), last_done.clone());
            tower::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                count.fetch_add(1, Ordering::Relaxed);
                let guard = InFlight {
                    count: count.clone(),
                    last_done: last_done.clone(),
                    opened,
                };
                let app = app.clone();
                async move {
                    let r = app.oneshot(req).await;
                    drop(guard);
                    r
                }
            })
        };
        let conn = builder.serve_connection_with_upgrades(
            io,
            hyper_util::service::TowerToHyperService::new(service),
        );
        tokio::pin!(conn);
        let idle = limits.idle_timeout;
        let tick = (idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let mut closing: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, %peer, "connection ended");
                    }
                    break;
                }
                _ = stop.changed(), if closing.is_none() => {
                    conn.as_mut().graceful_shutdown();
                    closing = Some(tokio::time::Instant::now() + limits.shutdown_grace);
                }
                _ = tokio::time::sleep(tick), if closing.is_none() => {
                    let now = opened.elapsed().as_millis() as u64;
                    let last = last_read.load(Ordering::Relaxed).max(last_done.load(Ordering::Relaxed));
                    if count.load(Ordering::Relaxed) == 0
                        && now.saturating_sub(last) >= idle.as_millis() as u64
                    {
                        conn.as_mut().graceful_shutdown();
                        // A connection that does not close by itself (a head half sent) is
                        // dropped after one more idle period.
                        closing = Some(tokio::time::Instant::now() + idle);
                    }
                }
                _ = tokio::time::sleep_until(closing.unwrap_or_else(tokio::time::Instant::now)), if closing.is_some() => {
                    break;
                }
            }
        }
    }
}
