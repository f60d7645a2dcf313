//! `cairn serve`: the HTTP service and public map on the store; and `cairn token`.

use std::path::PathBuf;

use cairn_server::AppState;

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// Arguments of `cairn serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on (also $CAIRN_ADDR or `addr` in the config file).
    #[arg(long, env = "CAIRN_ADDR")]
    pub addr: Option<String>,
    /// A TOML configuration file: `addr`, `log`, `policy`, and the tables `[reports]`
    /// (`photo_max_bytes`, `rate_limit`, `rate_burst`, `rate_per_hour`, `trust_forwarded_for`),
    /// `[limits]` (the timeouts and pool below, `shutdown_grace`, `compute_budget`), `[caps]`
    /// (`route_checks`, `transparency`, `items`, `reports`), `[rate_limits]` (`enabled`,
    /// `token_factor`, and `[rate_limits.checks|tiles|items]` with `burst`, `per_minute`) and
    /// `[network]` (`trusted_proxies`, `cors_origins`). README, "Limits", gives every default.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Seconds a request's head may take to arrive, counted from the connection's opening or the
    /// previous answer (default 30).
    #[arg(long, value_name = "SECS")]
    pub header_read_timeout: Option<f64>,
    /// Seconds a request's body may take to arrive after its head (default 120).
    #[arg(long, value_name = "SECS")]
    pub body_read_timeout: Option<f64>,
    /// Seconds after which a connection with no request in progress and nothing arriving is
    /// closed (default 20).
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<f64>,
    /// Seconds an answer may take once the request has arrived (default 15).
    #[arg(long, value_name = "SECS")]
    pub request_timeout: Option<f64>,
    /// Connections open at once; more wait to be accepted (default 4096, and never more than the
    /// open-file limit allows).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Threads of the pool CPU-heavy requests run on (default: the cores less one, at least 1).
    #[arg(long, value_name = "N")]
    pub compute_threads: Option<usize>,
    /// A proxy (address or network such as 10.0.0.0/8) whose Forwarded / X-Forwarded-For
    /// headers name the client; repeat for several (also `[network] trusted_proxies`).
    #[arg(long = "trusted-proxy", value_name = "NET")]
    pub trusted_proxies: Vec<String>,
    /// The audit policy (TOML) that `GET /api/audit` and the auditors' page run (also
    /// $CAIRN_POLICY or `policy` in the config file, relative to that file).
    #[arg(long, env = "CAIRN_POLICY")]
    pub policy: Option<PathBuf>,
    /// A streaming replica of the `--db` database (a PostgreSQL URL; also $CAIRN_READ_DB): the
    /// read model starts from it and follows the change feed there, so the primary serves only
    /// writes; a write through this server is read back from the primary before it is answered.
    #[arg(long, env = "CAIRN_READ_DB", value_name = "URL")]
    pub read_db: Option<String>,
    /// A base map to serve under the hazards: a PMTiles v3 or MBTiles file of vector tiles in
    /// the Protomaps schema (README, "A base map", says how to make one with `pmtiles extract`).
    #[arg(long, value_name = "FILE")]
    pub basemap: Option<PathBuf>,
}

/// Opens the base map of `--basemap`, before anything else is touched: a file that cannot be
/// served stops the command (exit 2) with a sentence naming it.
pub fn open_basemap(
    path: Option<&std::path::Path>,
) -> Result<Option<cairn_server::basemap::Basemap>, Failure> {
    let Some(path) = path else { return Ok(None) };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::internal(format!("cannot start the runtime: {e}")))?;
    rt.block_on(cairn_server::basemap::Basemap::open(path))
        .map(Some)
        .map_err(|e| Failure::input(e.to_string()))
}

/// The settings file, as written.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    addr: Option<String>,
    log: Option<String>,
    policy: Option<PathBuf>,
    reports: Option<RawReports>,
    limits: Option<RawLimits>,
    caps: Option<RawCaps>,
    rate_limits: Option<RawRates>,
    network: Option<RawNetwork>,
}

/// The `[limits]` table: seconds, counts.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    header_read_timeout: Option<f64>,
    body_read_timeout: Option<f64>,
    idle_timeout: Option<f64>,
    request_timeout: Option<f64>,
    max_connections: Option<usize>,
    shutdown_grace: Option<f64>,
    compute_threads: Option<usize>,
    compute_budget: Option<f64>,
}

/// The `[caps]` table: public requests of a kind in progress at once.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawCaps {
    route_checks: Option<usize>,
    transparency: Option<usize>,
    items: Option<usize>,
    reports: Option<usize>,
}

/// The `[rate_limits]` table.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawRates {
    /// Whether checks, tiles and items are limited per client (default true).
    enabled: Option<bool>,
    /// Requests with a token get the public limits times this (default 20).
    token_factor: Option<u32>,
    checks: Option<RawRate>,
    tiles: Option<RawRate>,
    items: Option<RawRate>,
}

/// One rate limit: `burst` at once, `per_minute` regained.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawRate {
    burst: Option<u32>,
    per_minute: Option<u32>,
}

/// The `[network]` table.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    trusted_proxies: Option<Vec<String>>,
    /// Origins a browser may call the API from: ["*"] (the default) for any, [] for none.
    cors_origins: Option<Vec<String>>,
}

/// The `[reports]` table of the settings file.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawReports {
    /// The largest photo, in bytes (default 2 MiB).
    photo_max_bytes: Option<u64>,
    /// Whether reports are limited per client (default true; turn off only for benchmarks).
    rate_limit: Option<bool>,
    /// Reports a client may send at once (default 20).
    rate_burst: Option<u32>,
    /// Reports a client regains per hour (default 60).
    rate_per_hour: Option<u32>,
    /// Take the client from X-Forwarded-For (behind a reverse proxy; default false).
    trust_forwarded_for: Option<bool>,
}

/// The service's settings after flags, environment and file.
#[derive(Debug)]
pub struct Config {
    pub addr: String,
    pub log: String,
    pub reports: cairn_server::reports::ReportsConfig,
    /// Timeouts, connections, the compute pool, caps and rate limits.
    pub limits: cairn_server::limits::Limits,
    /// The audit policy, read and parsed.
    pub policy: Option<cairn_audit::run::LoadedPolicy>,
}

impl Config {
    fn resolve(args: &Args) -> Result<Config, Failure> {
        let raw = match &args.config {
            None => RawConfig::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| Failure::input(format!("{}: cannot read: {e}", p.display())))?;
                toml::from_str(&text)
                    .map_err(|e| Failure::input(format!("{}: {e}", p.display())))?
            }
        };
        let addr = args
            .addr
            .clone()
            .or(raw.addr)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        if addr.parse::<std::net::SocketAddr>().is_err() {
            return Err(Failure::input(format!(
                "--addr: {addr:?} is not an address such as 127.0.0.1:8080"
            )));
        }
        let file = args
            .config
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let policy_path = args.policy.clone().or_else(|| {
            let p = raw.policy?;
            let dir = args.config.as_ref()?.parent()?;
            Some(dir.join(p))
        });
        let policy = match policy_path {
            None => None,
            Some(p) => Some(
                cairn_audit::run::LoadedPolicy::read(&p)
                    .map_err(|e| Failure::input(format!("--policy: {e}")))?,
            ),
        };
        let limits = limits_config(
            args,
            raw.limits.unwrap_or_default(),
            raw.caps.unwrap_or_default(),
            raw.rate_limits.unwrap_or_default(),
            raw.network.unwrap_or_default(),
            &file,
        )?;
        Ok(Config {
            addr,
            log: raw.log.unwrap_or_else(|| "info".into()),
            reports: reports_config(raw.reports.unwrap_or_default(), &file)?,
            limits,
            policy,
        })
    }
}

/// Turns the `[reports]` table into settings, refusing values that make no sense.
fn reports_config(
    raw: RawReports,
    file: &str,
) -> Result<cairn_server::reports::ReportsConfig, Failure> {
    let mut c = cairn_server::reports::ReportsConfig::default();
    if let Some(n) = raw.photo_max_bytes {
        if !(1024..=64 << 20).contains(&n) {
            return Err(Failure::input(format!(
                "{file}: reports.photo_max_bytes must be from 1024 to 67108864, not {n}"
            )));
        }
        c.photo_max_bytes = n as usize;
    }
    if let Some(mut limit) = c.rate_limit {
        for (name, v, slot) in [
            ("rate_burst", raw.rate_burst, &mut limit.burst),
            ("rate_per_hour", raw.rate_per_hour, &mut limit.per_hour),
        ] {
            if let Some(v) = v {
                if v == 0 {
                    return Err(Failure::input(format!(
                        "{file}: reports.{name} must be at least 1 (to turn the limit off, set reports.rate_limit = false)"
                    )));
                }
                *slot = v;
            }
        }
        c.rate_limit = Some(limit);
    }
    if raw.rate_limit == Some(false) {
        c.rate_limit = None;
    }
    c.trust_forwarded_for = raw.trust_forwarded_for.unwrap_or(false);
    Ok(c)
}

/// Turns flags and the `[limits]`, `[caps]`, `[rate_limits]` and `[network]` tables into
/// limits (a flag wins over the file), refusing values that make no sense.
fn limits_config(
    args: &Args,
    raw: RawLimits,
    caps: RawCaps,
    rates: RawRates,
    network: RawNetwork,
    file: &str,
) -> Result<cairn_server::limits::Limits, Failure> {
    use std::time::Duration;
    let mut l = cairn_server::limits::Limits::default();
    let where_ = |flag: bool, name: &str| {
        if flag {
            format!("--{}", name.replace('_', "-"))
        } else {
            format!("{file}: limits.{name}")
        }
    };
    for (name, flag, value, slot, max) in [
        (
            "header_read_timeout",
            args.header_read_timeout,
            raw.header_read_timeout,
            &mut l.header_read_timeout,
            3600.0,
        ),
        (
            "body_read_timeout",
            args.body_read_timeout,
            raw.body_read_timeout,
            &mut l.body_read_timeout,
            3600.0,
        ),
        (
            "idle_timeout",
            args.idle_timeout,
            raw.idle_timeout,
            &mut l.idle_timeout,
            3600.0,
        ),
        (
            "request_timeout",
            args.request_timeout,
            raw.request_timeout,
            &mut l.request_timeout,
            3600.0,
        ),
        (
            "shutdown_grace",
            None,
            raw.shutdown_grace,
            &mut l.shutdown_grace,
            3600.0,
        ),
        (
            "compute_budget",
            None,
            raw.compute_budget,
            &mut l.compute_budget,
            3600.0,
        ),
    ] {
        if let Some(v) = flag.or(value) {
            if !(0.05..=max).contains(&v) {
                return Err(Failure::input(format!(
                    "{}: must be from 0.05 to {max} seconds, not {v}",
                    where_(flag.is_some(), name)
                )));
            }
            *slot = Duration::from_secs_f64(v);
        }
    }
    for (name, flag, value, slot) in [
        (
            "max_connections",
            args.max_connections,
            raw.max_connections,
            &mut l.max_connections,
        ),
        (
            "compute_threads",
            args.compute_threads,
            raw.compute_threads,
            &mut l.compute_threads,
        ),
    ] {
        if let Some(v) = flag.or(value) {
            if !(1..=1_000_000).contains(&v) {
                return Err(Failure::input(format!(
                    "{}: must be from 1 to 1000000, not {v}",
                    where_(flag.is_some(), name)
                )));
            }
            *slot = v;
        }
    }
    for (name, v, slot) in [
        ("route_checks", caps.route_checks, &mut l.caps.route_checks),
        ("transparency", caps.transparency, &mut l.caps.transparency),
        ("items", caps.items, &mut l.caps.items),
        ("reports", caps.reports, &mut l.caps.reports),
    ] {
        if let Some(v) = v {
            if !(1..=100_000).contains(&v) {
                return Err(Failure::input(format!(
                    "{file}: caps.{name} must be from 1 to 100000, not {v}"
                )));
            }
            *slot = v;
        }
    }
    if let Some(f) = rates.token_factor {
        if f == 0 {
            return Err(Failure::input(format!(
                "{file}: rate_limits.token_factor must be at least 1"
            )));
        }
        l.token_factor = f;
    }
    let mut r = cairn_server::limits::Rates::default();
    for (name, raw, slot) in [
        ("checks", rates.checks, &mut r.checks),
        ("tiles", rates.tiles, &mut r.tiles),
        ("items", rates.items, &mut r.items),
    ] {
        let Some(raw) = raw else { continue };
        if let Some(b) = raw.burst {
            if b == 0 {
                return Err(Failure::input(format!(
                    "{file}: rate_limits.{name}.burst must be at least 1 (to turn the limits off, set rate_limits.enabled = false)"
                )));
            }
            slot.burst = b;
        }
        if let Some(p) = raw.per_minute {
            if p == 0 {
                return Err(Failure::input(format!(
                    "{file}: rate_limits.{name}.per_minute must be at least 1 (to turn the limits off, set rate_limits.enabled = false)"
                )));
            }
            *slot = cairn_server::ratelimit::RateLimit::per_minute(slot.burst, p);
        }
    }
    l.rates = (rates.enabled != Some(false)).then_some(r);
    if let Some(origins) = network.cors_origins {
        cairn_server::conventions::cors(&origins)
            .map_err(|e| Failure::input(format!("{file}: network.cors_origins: {e}")))?;
        l.cors_origins = origins;
    }
    let from_file = network.trusted_proxies.unwrap_or_default();
    for (n, flag) in args
        .trusted_proxies
        .iter()
        .map(|n| (n, true))
        .chain(from_file.iter().map(|n| (n, false)))
    {
        let net = cairn_server::ratelimit::Net::parse(n).map_err(|e| {
            Failure::input(if flag {
                format!("--trusted-proxy: {e}")
            } else {
                format!("{file}: network.trusted_proxies: {e}")
            })
        })?;
        l.trusted_proxies.push(net);
    }
    Ok(l)
}

/// Raises the soft limit of open files to the hard limit (cheap, and what a busy service needs),
/// and keeps the connection cap under what is left after the store's files and threads.
fn fit_connections(limits: &mut cairn_server::limits::Limits) {
    /// Files kept for the store, its journals, logs and the runtime.
    const RESERVE: u64 = 64;
    let nofile = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("cairn: warning: cannot read the open-file limit: {e}");
            return;
        }
    };
    let room = usize::try_from(nofile.saturating_sub(RESERVE).max(16)).unwrap_or(usize::MAX);
    if limits.max_connections > room {
        eprintln!(
            "cairn: warning: the open-file limit is {nofile}: at most {room} connections at once (not {})",
            limits.max_connections
        );
        limits.max_connections = room;
    }
}

fn init_logs(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAIRN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .json()
        .try_init();
}

/// Runs the service on an open store until interrupted.
pub fn serve_store(
    store: Box<dyn cairn_store::Backend>,
    catalogue: cairn_core::Catalogue,
    addr: &str,
    log: &str,
    reports: cairn_server::reports::ReportsConfig,
    policy: Option<cairn_audit::run::LoadedPolicy>,
    basemap: Option<cairn_server::basemap::Basemap>,
) -> CmdResult {
    serve_store_with(
        Stores {
            store,
            replica: None,
            basemap,
        },
        catalogue,
        addr,
        log,
        reports,
        cairn_server::limits::Limits::default(),
        policy,
    )
}

/// The stores a service runs on: the store, and optionally a read replica of its database; and
/// the base map it serves beside them (`--basemap`), if any.
pub struct Stores {
    pub store: Box<dyn cairn_store::Backend>,
    pub replica: Option<Box<dyn cairn_store::Backend>>,
    pub basemap: Option<cairn_server::basemap::Basemap>,
}

/// Transparent huge pages off for the service's process, unless `MIMALLOC_ALLOW_THP` says
/// otherwise. The read model is gigabytes of fresh memory on a large store, and a huge page is
/// cleared whole at its first touch: on 1,000,000 areas that was 6.6–8.9 s of system time to
/// start against 2.8–2.9 s without (BENCHMARKS.md, issue 14), with public place checks per
/// second unchanged within the noise of the measurement.
fn no_huge_pages() {
    // A kernel that refuses (too old) leaves them on: slower to start, nothing else.
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        let _ = rustix::thread::disable_transparent_huge_pages(true);
    }
}

/// Runs the service on an open store with these limits until interrupted.
pub fn serve_store_with(
    Stores {
        store,
        replica,
        basemap,
    }: Stores,
    catalogue: cairn_core::Catalogue,
    addr: &str,
    log: &str,
    reports: cairn_server::reports::ReportsConfig,
    mut limits: cairn_server::limits::Limits,
    policy: Option<cairn_audit::run::LoadedPolicy>,
) -> CmdResult {
    init_logs(log);
    fit_connections(&mut limits);
    if limits.rates.is_none() {
        eprintln!(
            "cairn: warning: checks, tiles and items are not rate limited (rate_limits.enabled = false)"
        );
    }
    if reports.rate_limit.is_none() {
        eprintln!("cairn: warning: reports are not rate limited (reports.rate_limit = false)");
    }
    if let Some(p) = &policy {
        // Zones may be imported while the service runs, so a policy that does not fit the store
        // yet is a warning here; the audit itself answers with the same sentence.
        if let Err(e) = p.policy.permitted(&store.zones()?, &p.name) {
            eprintln!("cairn: warning: the audit policy does not fit the store yet: {e}");
        }
    }
    no_huge_pages();
    let state = AppState::with_replica(store, replica, catalogue, reports, limits)?;
    state.set_policy(policy);
    state.set_basemap(basemap);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::internal(format!("cannot start the runtime: {e}")))?;
    rt.block_on(cairn_server::serve(state, addr, |a| {
        outln!("Cairn is serving on http://{a}/ (the map), http://{a}/ogc (OGC API – Features). Ctrl-C stops it.");
    }))
    .map_err(|e| Failure::input(format!("cannot serve on {addr}: {e}")))?;
    Ok(0)
}

/// Runs `cairn serve`.
pub fn run(cli: &Cli, args: &Args) -> CmdResult {
    let config = Config::resolve(args)?;
    let basemap = open_basemap(args.basemap.as_deref())?;
    let store = super::open_existing(cli)?;
    let replica = match &args.read_db {
        None => None,
        Some(url) => {
            if !(super::is_database_url(url) && super::is_database_url(&cli.db())) {
                return Err(Failure::input(format!(
                    "--read-db {}: a read replica needs PostgreSQL for both --db and --read-db \
                     (postgres://…); a SQLite store is read by every server from its file",
                    super::redact(url)
                )));
            }
            Some(
                cairn_store::open(url, cairn_store::sqlite::OpenMode::ReadOnly).map_err(|e| {
                    Failure::input(format!("--read-db {}: {e}", super::redact(url)))
                })?,
            )
        }
    };
    // The catalogue in force in the store at start; a new version takes effect on restart.
    let catalogue = store.catalogue(None)?.catalogue;
    serve_store_with(
        Stores {
            store,
            replica,
            basemap,
        },
        catalogue,
        &config.addr,
        &config.log,
        config.reports,
        config.limits,
        config.policy,
    )
}

/// Arguments of `cairn token`.
#[derive(clap::Args, Debug)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub what: TokenCmd,
}

/// Token commands.
#[derive(clap::Subcommand, Debug)]
pub enum TokenCmd {
    /// Create a token; its secret is printed once and never stored.
    Create {
        /// The user the token is for (see `cairn user add`); the token carries their role and
        /// organisation.
        #[arg(long, conflicts_with_all = ["name", "role", "organisation"], required_unless_present = "name")]
        user: Option<String>,
        /// The older form, kept for scripts: the holder's name, with --role (and
        /// --organisation); the user is created when missing.
        #[arg(long, requires = "role")]
        name: Option<String>,
        /// field, officer, auditor or admin (with --name).
        #[arg(long, requires = "name", value_parser = ["field", "officer", "auditor", "admin"])]
        role: Option<String>,
        /// The holder's organisation (with --name).
        #[arg(long, alias = "org", requires = "name")]
        organisation: Option<String>,
        /// Days until it expires (default: never).
        #[arg(long)]
        expires_days: Option<u32>,
    },
    /// List tokens (without secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id.
    Revoke { id: i64 },
}

/// Runs `cairn token`.
pub fn token(cli: &Cli, args: &TokenArgs) -> CmdResult {
    let mut store = super::open_existing(cli)?;
    match &args.what {
        TokenCmd::Create {
            user,
            name,
            role,
            organisation,
            expires_days,
        } => {
            let expires =
                expires_days.map(|d| chrono::Utc::now() + chrono::Duration::days(d as i64));
            let (secret, info) = match (user, name, role) {
                (Some(u), _, _) => store.create_user_token(u, expires)?,
                (None, Some(n), Some(r)) => {
                    if n.trim().is_empty() {
                        return Err(Failure::input("--name must not be empty"));
                    }
                    store.create_token(n, r, organisation.as_deref(), expires)?
                }
                _ => return Err(Failure::input("give --user NAME (or --name with --role)")),
            };
            outln!("{secret}");
            eprintln!(
                "token {} for {} ({}) created; keep the secret above: it is not stored and cannot be shown again",
                info.id, info.name, info.role
            );
        }
        TokenCmd::List { json } => {
            let tokens = store.list_tokens()?;
            if *json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&tokens).unwrap_or_default()
                );
            } else {
                let now = chrono::Utc::now();
                for t in tokens {
                    outln!(
                        "{}\t{}\t{}\t{}\t{}",
                        t.id,
                        t.name,
                        t.role,
                        t.organisation.as_deref().unwrap_or_default(),
                        t.state_at(now)
                    );
                }
            }
        }
        TokenCmd::Revoke { id } => {
            if !store.revoke_token(*id)? {
                return Err(Failure::input(format!("no valid token with id {id}")));
            }
            outln!("token {id} revoked");
        }
    }
    Ok(0)
}
