//! `cairn user` and `cairn org`: the people and organisations tokens belong to.

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// Arguments of `cairn user`.
#[derive(clap::Args, Debug)]
pub struct UserArgs {
    #[command(subcommand)]
    pub what: UserCmd,
}

/// User commands.
#[derive(clap::Subcommand, Debug)]
pub enum UserCmd {
    /// Add a user; then `cairn token create --user NAME` gives them a token.
    Add {
        /// The user's name, as it will appear in history.
        name: String,
        /// field (writes for its organisation), officer (approves, corrects, publishes),
        /// auditor (reads everything, writes nothing) or admin.
        #[arg(long, value_parser = ["field", "officer", "auditor", "admin"])]
        role: String,
        /// The user's organisation (required for field); see `cairn org add`.
        #[arg(long)]
        org: Option<String>,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: every token of theirs is refused from now on; their history stays.
    Disable { name: String },
}

/// Arguments of `cairn org`.
#[derive(clap::Args, Debug)]
pub struct OrgArgs {
    #[command(subcommand)]
    pub what: OrgCmd,
}

/// Organisation commands.
#[derive(clap::Subcommand, Debug)]
pub enum OrgCmd {
    /// Add an organisation.
    Add { name: String },
    /// List organisations.
    List {
        #[arg(long)]
        json: bool,
    },
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Runs `cairn user`.
pub fn user(cli: &Cli, args: &UserArgs) -> CmdResult {
    let mut store = super::open_existing(cli)?;
    match &args.what {
        UserCmd::Add { name, role, org } => {
            let u = store.add_user(name, role, org.as_deref())?;
            outln!(
                "user {} added as {}{}",
                u.name,
                u.role,
                u.organisation
                    .as_deref()
                    .map(|o| format!(" of {o}"))
                    .unwrap_or_default()
            );
        }
        UserCmd::List { json: as_json } => {
            let users = store.list_users()?;
            if *as_json {
                outln!("{}", json(&users));
            } else {
                for u in users {
                    outln!(
                        "{}\t{}\t{}\t{}",
                        u.name,
                        u.role,
                        u.organisation.unwrap_or_default(),
                        if u.disabled_at.is_some() {
                            "disabled"
                        } else {
                            "enabled"
                        }
                    );
                }
            }
        }
        UserCmd::Disable { name } => {
            let u = store.disable_user(name)?;
            outln!(
                "user {} disabled; their tokens are refused from now on",
                u.name
            );
        }
    }
    Ok(0)
}

/// Runs `cairn org`.
pub fn org(cli: &Cli, args: &OrgArgs) -> CmdResult {
    let mut store = super::open_existing(cli)?;
    match &args.what {
        OrgCmd::Add { name } => {
            let o = store.add_organisation(name)?;
            outln!("organisation {} added", o.name);
        }
        OrgCmd::List { json: as_json } => {
            let orgs = store.list_organisations()?;
            if *as_json {
                outln!("{}", json(&orgs));
            } else {
                for o in orgs {
                    outln!("{}", o.name);
                }
            }
        }
    }
    Ok(0)
}

impl From<cairn_store::sqlite::users::UserError> for Failure {
    fn from(e: cairn_store::sqlite::users::UserError) -> Failure {
        match e {
            cairn_store::sqlite::users::UserError::Store(s) => s.into(),
            other => Failure::input(other.to_string()),
        }
    }
}
