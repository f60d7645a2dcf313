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
    /// A TOML configuration file: `addr`, `log`, and a `[reports]` table (`photo_max_bytes`,
    /// `rate_limit`, `rate_burst`, `rate_per_hour`, `trust_forwarded_for`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The audit policy (TOML) that `GET /api/audit` and the auditors' page run (also
    /// $CAIRN_POLICY or `policy` in the config file, relative to that file).
    #[arg(long, env = "CAIRN_POLICY")]
    pub policy: Option<PathBuf>,
}

/// The settings file, as written.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    addr: Option<String>,
    log: Option<String>,
    policy: Option<PathBuf>,
    reports: Option<RawReports>,
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
        Ok(Config {
            addr,
            log: raw.log.unwrap_or_else(|| "info".into()),
            reports: reports_config(raw.reports.unwrap_or_default(), &file)?,
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
) -> CmdResult {
    init_logs(log);
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
    let state = AppState::on_backend(store, catalogue, reports)?;
    state.set_policy(policy);
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
    let store = super::open_existing(cli)?;
    // The catalogue in force in the store at start; a new version takes effect on restart.
    let catalogue = store.catalogue(None)?.catalogue;
    serve_store(
        store,
        catalogue,
        &config.addr,
        &config.log,
        config.reports,
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
