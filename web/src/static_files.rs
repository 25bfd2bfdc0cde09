//! The site's own files, built into the binary (no build step, nothing to install beside it): the style sheet and
//! the vendored htmx with its SSE extension (0BSD, `static/LICENSE-htmx.txt`). These are the only scripts the
//! Content-Security-Policy allows.

use actix_web::{web, HttpResponse};

const APP_CSS: &[u8] = include_bytes!("../static/app.css");
const HTMX: &[u8] = include_bytes!("../static/htmx.min.js");
const HTMX_SSE: &[u8] = include_bytes!("../static/htmx-ext-sse.min.js");

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/static/app.css", web::get().to(|| async { file("text/css; charset=utf-8", APP_CSS) }))
        .route("/static/htmx.min.js", web::get().to(|| async { file("text/javascript; charset=utf-8", HTMX) }))
        .route(
            "/static/htmx-ext-sse.min.js",
            web::get().to(|| async { file("text/javascript; charset=utf-8", HTMX_SSE) }),
        );
}

fn file(content_type: &'static str, bytes: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok().content_type(content_type).insert_header(("Cache-Control", "public, max-age=3600")).body(bytes)
}
