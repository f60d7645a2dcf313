//! What the documents people hold share over HTTP (the handover certificate, the transparency
//! report, the parcel extract): the `lang` parameter (`uk` or `en`; without it the
//! `Accept-Language` header's preference; else English, as before), the `format` parameter, and
//! the answer's headers.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use cairn_core::lang::Lang;

use crate::error::ApiError;

/// Refuses a parameter not in `allowed`, naming it.
pub fn only_params(q: &HashMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    match q.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::bad_request(format!(
            "{k}: is not a parameter here; the parameters are {}",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

/// The language asked for: `lang`, else `Accept-Language`, else English.
pub fn lang(q: &HashMap<String, String>, headers: &HeaderMap) -> Result<Lang, ApiError> {
    if let Some(v) = q.get("lang") {
        return Lang::parse(v).map_err(|m| ApiError::bad_request(format!("lang: {m}")));
    }
    Ok(headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or_default())
}

/// The `format` parameter, one of `choices` (the first the default); `pdf` gives true.
pub fn pdf_format(q: &HashMap<String, String>, choices: &[&str]) -> Result<bool, ApiError> {
    Ok(format(q, choices)? == "pdf")
}

/// The `format` parameter, one of `choices` (the first the default).
pub fn format<'c>(q: &HashMap<String, String>, choices: &[&'c str]) -> Result<&'c str, ApiError> {
    match q.get("format") {
        None => Ok(choices[0]),
        Some(f) => choices
            .iter()
            .find(|c| **c == f.trim())
            .copied()
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "format: {f:?} is not one of {}",
                    choices.join(", ")
                ))
            }),
    }
}

/// A document as an answer: HTML to read and print, or a PDF to keep (offered as `name.pdf`).
pub fn document(body: Vec<u8>, pdf: bool, lang: Lang, cache: &str, name: &str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    let ct = if pdf {
        "application/pdf"
    } else {
        "text/html; charset=utf-8"
    };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    if let Ok(v) = HeaderValue::from_str(cache) {
        h.insert(header::CACHE_CONTROL, v);
    }
    h.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.as_str()),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    if pdf {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{safe}.pdf\"")) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    r
}
