//! What every request passes before its handler, and every answer gets on its way out:
//! - a query string over [`MAX_QUERY_BYTES`] is answered 414;
//! - a POST from another site (`Sec-Fetch-Site: cross-site` or `same-site`) or another origin (`Origin` not this
//!   server's) is refused 403, whatever it carries;
//! - a page's refusal to a signed-in caller keeps the header with their name, role and sign-out;
//! - answers carry a Content-Security-Policy allowing only the site's own scripts, styles and images, and headers
//!   that keep pages out of frames, caches and other sites' referrers (a sign-in link's token must not leak). The
//!   referrer policy is `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` with the
//!   pages' own form posts, which the origin check above would refuse.

use crate::auth::{self, is_safe};
use crate::error::PageError;
use crate::limits::MAX_QUERY_BYTES;
use crate::pages::Viewer;
use crate::WebError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpResponse;

/// Only the site's own files; no inline script, no frames, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The referrer only within the site: another site never sees an address of ours, and the site's own posts carry
/// their real `Origin`.
pub const REFERRER_POLICY: &str = "same-origin";

pub async fn guard(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Err(refusal) = refuse(&request) {
        let response = auth::answer(request.request(), refusal).error_response();
        let mut response = request.into_response(response).map_into_right_body();
        secure_headers(response.headers_mut());
        return Ok(response);
    }
    let response = next.call(request).await?;
    let mut response = match signed_in_refusal(&response) {
        Some(page) => response.into_response(page).map_into_right_body(),
        None => response.map_into_left_body(),
    };
    secure_headers(response.headers_mut());
    Ok(response)
}

/// A page's refusal ([`PageError`]) made again with the header of the signed-in caller it refused (their name, role
/// and sign-out), which the error's own answer cannot see; `None` for any other answer.
fn signed_in_refusal<B>(response: &ServiceResponse<B>) -> Option<HttpResponse> {
    let error = response.response().error()?.as_error::<PageError>()?;
    if matches!(error.0, WebError::Unauthorized) {
        return None;
    }
    let principal = auth::authenticate(response.request()).ok()?;
    Some(crate::pages::error_page_for(error.0.status(), &error.0.to_string(), &Viewer::of(&principal)))
}

fn refuse(request: &ServiceRequest) -> Result<(), WebError> {
    if request.query_string().len() > MAX_QUERY_BYTES {
        return Err(WebError::TooLong(format!("the query string is longer than {MAX_QUERY_BYTES} bytes")));
    }
    if is_safe(request.method()) {
        return Ok(());
    }
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return Err(WebError::Forbidden(format!("a request from another site ({site}) is refused")));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let own = own_host(request).map(|host| format!("https://{host}"));
        if own.as_deref() != Some(origin) {
            return Err(WebError::Forbidden(format!("a request from another origin ({origin}) is refused")));
        }
    }
    Ok(())
}

/// The host the browser addressed: HTTP/2's authority, else the Host header (never a forwarding header, which
/// anyone may set).
fn own_host(request: &ServiceRequest) -> Option<String> {
    if let Some(authority) = request.uri().authority() {
        return Some(authority.as_str().to_string());
    }
    request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string)
}

fn secure_headers(headers: &mut actix_web::http::header::HeaderMap) {
    let pairs: [(HeaderName, &'static str); 6] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, REFERRER_POLICY),
        (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
    ];
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}
