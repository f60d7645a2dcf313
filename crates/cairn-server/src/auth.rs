//! Who is asking: without a token a client is the public; `Authorization: Bearer TOKEN` gives
//! the token's user's role and organisation. A token that is unknown, expired or revoked, or whose
//! user is disabled, is refused (401), never downgraded to the public, and always with the same
//! answer ([`REFUSED_TOKEN`]): a guesser learns nothing about which tokens exist. The reason goes
//! to the server's log (with the token's id, never its secret). Tokens are found by the SHA-256 of
//! the secret sent, the match confirmed in constant time (`cairn_store::sqlite::tokens`).

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};

use crate::AppState;
use crate::error::ApiError;

/// The roles of domain.md. Every role but `Public` may see restricted detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Public,
    Field,
    Officer,
    Auditor,
    Admin,
}

impl Role {
    /// Parses a stored role name.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "field" => Role::Field,
            "officer" => Role::Officer,
            "auditor" => Role::Auditor,
            "admin" => Role::Admin,
            _ => return None,
        })
    }

    /// The role's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Public => "public",
            Role::Field => "field",
            Role::Officer => "officer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// True when the role may see restricted records and fields.
    pub fn sees_restricted(self) -> bool {
        !matches!(self, Role::Public)
    }
}

/// The caller's identity, from the request's credentials.
#[derive(Clone, Debug, PartialEq)]
pub struct Caller {
    pub role: Role,
    /// The token's user, to whom writes are attributed.
    pub name: Option<String>,
    /// The user's organisation (a field user writes only records of it).
    pub organisation: Option<String>,
    /// The token used, recorded as the source of writes.
    pub token_id: Option<i64>,
}

impl Caller {
    /// An anonymous member of the public.
    pub fn public() -> Caller {
        Caller {
            role: Role::Public,
            name: None,
            organisation: None,
            token_id: None,
        }
    }
}

/// The one answer to a token that may not be used, whatever the reason.
pub const REFUSED_TOKEN: &str =
    "the token is not valid: it may be mistyped, expired or revoked, or its user disabled";

/// Refuses a token with [`REFUSED_TOKEN`], logging why.
fn refused(token_id: Option<i64>, reason: &str) -> ApiError {
    tracing::info!(token_id, reason, "token refused");
    ApiError::unauthorized(REFUSED_TOKEN)
}

/// The token an `Authorization` header carries: `Bearer TOKEN`, or HTTP Basic with the token as
/// the password (what QGIS's and GDAL's Basic authentication send; the user name is not used).
/// The scheme is case-insensitive (RFC 9110).
pub fn credentials(header: &str) -> Result<String, ApiError> {
    use base64::Engine as _;
    let malformed = || {
        ApiError::unauthorized(
            "the Authorization header must be \"Bearer TOKEN\" or HTTP Basic with the token as the password",
        )
    };
    let (scheme, rest) = header.trim().split_once(' ').ok_or_else(malformed)?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(rest.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .map_err(|_| ApiError::unauthorized("the Basic credentials are not base64"))?;
        let text = String::from_utf8(decoded)
            .map_err(|_| ApiError::unauthorized("the Basic credentials are not UTF-8 text"))?;
        let (_user, password) = text.split_once(':').ok_or_else(malformed)?;
        return Ok(password.to_string());
    }
    Err(malformed())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Caller::public());
        };
        let text = value
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
        let secret = credentials(text)?;
        let info = state
            .store(move |_, s| s.find_token(&secret))
            .await?
            .map_err(ApiError::from)?
            .ok_or_else(|| refused(None, "unknown"))?;
        let validity = info.state_at(chrono::Utc::now());
        if validity != "valid" {
            return Err(refused(Some(info.id), validity));
        }
        let role =
            Role::parse(&info.role).ok_or_else(|| refused(Some(info.id), "role not known"))?;
        Ok(Caller {
            role,
            name: Some(info.name),
            organisation: info.organisation,
            token_id: Some(info.id),
        })
    }
}
