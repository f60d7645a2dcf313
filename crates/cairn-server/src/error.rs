//! The one error type of the HTTP layer: RFC 9457 problem details that name the bad parameter
//! and never carry internal detail, which is logged instead.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered as `application/problem+json`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub title: &'static str,
    pub detail: String,
}

impl ApiError {
    /// 400: a parameter or body is wrong; `detail` names it.
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            title: "Bad request",
            detail: detail.into(),
        }
    }

    /// 404: no such resource.
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            title: "Not found",
            detail: detail.into(),
        }
    }

    /// 401: the credentials given are not valid.
    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            title: "Unauthorized",
            detail: detail.into(),
        }
    }

    /// 403: the caller is known but their role may not do this.
    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            title: "Forbidden",
            detail: detail.into(),
        }
    }

    /// 409: the request conflicts with the resource's state.
    pub fn conflict(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::CONFLICT,
            title: "Conflict",
            detail: detail.into(),
        }
    }

    /// 413: the body, or a part of it that `detail` names, is too large.
    pub fn too_large(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            title: "Content too large",
            detail: detail.into(),
        }
    }

    /// 503: the service cannot take the request now.
    pub fn unavailable(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            title: "Service unavailable",
            detail: detail.into(),
        }
    }

    /// 500: logged in full, answered without detail.
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "internal error");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Internal server error",
            detail: "the server failed to answer; the failure has been logged".into(),
        }
    }
}

/// How long a client is asked to wait before trying a write again while the store is
/// unreachable.
pub const UNAVAILABLE_RETRY_S: u32 = 5;

/// A store's failure: 503 with `Retry-After` when the database cannot be reached now (nothing was
/// written; checks, tiles and items go on from the read model), 500 otherwise.
impl From<cairn_store::StoreError> for ApiError {
    fn from(e: cairn_store::StoreError) -> ApiError {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "the store is unreachable");
            ApiError::unavailable(
                "the database is unreachable for now, so nothing was written; this server still \
                 answers checks, tiles and items from its copy of the data (see /health for its age); \
                 try again shortly",
            )
        } else {
            ApiError::internal(e)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let mut r = (self.status, body.to_string()).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, UNAVAILABLE_RETRY_S.into());
        }
        if self.status == StatusCode::UNAUTHORIZED {
            // Only Bearer is challenged: a Basic challenge would make a browser that fetched
            // with a stale token open its own login box; QGIS and GDAL send Basic credentials
            // (the token as the password) without being asked.
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"Cairn\""),
            );
        }
        r
    }
}

/// Answers axum's own rejections (bad query strings, bad JSON bodies) as problems too.
impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> ApiError {
        ApiError::bad_request(e.body_text())
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> ApiError {
        ApiError {
            status: e.status(),
            title: "Bad request body",
            detail: e.body_text(),
        }
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(e: axum::extract::rejection::PathRejection) -> ApiError {
        ApiError::bad_request(e.body_text())
    }
}

/// A write the domain's rules refused (`cairn_core::command`), the same way at every door:
/// 403 for a role that may not make it, 409 for a transition the record's state forbids, 422 for
/// a change its evidence does not support; the problem names the `rule` and the `field`.
pub fn refused(r: &cairn_core::command::Refusal) -> Response {
    use cairn_core::command::RefusalKind;
    let (status, title) = match r.kind {
        RefusalKind::Forbidden => (StatusCode::FORBIDDEN, "Forbidden"),
        RefusalKind::Conflict => (StatusCode::CONFLICT, "Refused by the record's rules"),
        RefusalKind::Invalid => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not supported by the evidence",
        ),
    };
    let body = json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": format!("{}: {}", r.field, r.message),
        "rule": r.rule,
        "field": r.field,
    });
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}
