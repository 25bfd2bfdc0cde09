//! `GET /metrics`: the coordinator's metrics in the Prometheus text format, for a Prometheus server to scrape.
//!
//! It needs no session (a scraper has none); with `--metrics-token TOKEN` it needs `Authorization: Bearer TOKEN` and
//! answers 401 without it. [`count`] is the middleware that counts every HTTP request by its route's pattern
//! (`/api/v1/jobs/{id}`, never the path asked for, which would make a label per job) and status.

use crate::secret;
use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use distencode_actors::coordinator as coord;
use distencode_actors::metrics::Metrics;

/// The content type of prometheus-client's text encoding (OpenMetrics 1.0).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request that matched no route (any path a client makes up counts under this one label).
pub const UNMATCHED: &str = "(unmatched)";

/// What a scrape without the right token is told.
pub const TOKEN_NEEDED: &str = "the metrics need Authorization: Bearer METRICS_TOKEN (metrics_token in the \
    coordinator's settings)";

pub fn routes(config: &mut web::ServiceConfig) {
    config.route("/metrics", web::get().to(metrics));
}

async fn metrics(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(token) = &state.metrics_token {
        let given = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let given = given.and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        if !given.is_some_and(|given| secret::same(given.as_bytes(), token)) {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .content_type("text/plain; charset=utf-8")
                .body(format!("{TOKEN_NEEDED}\n"));
        }
    }
    let metrics = &state.actors.metrics;
    // Workers by state are read when scraped, from the list `worker list` shows (a few hundred entries at most).
    // If the coordinator does not answer, the last values stay.
    if let Ok(Ok(workers)) = state.actors.coordinator.send(coord::Workers).await {
        metrics.set_workers(workers.iter().map(|w| w.state.as_str()));
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let certificates = state.actors.certificates.all(now);
    metrics.set_certificate_expiry(certificates.iter().map(|c| (c.role.as_str(), c.name.as_str(), c.days_left)));
    HttpResponse::Ok().content_type(CONTENT_TYPE).body(metrics.encode())
}

/// Counts each request in `distencode_http_requests_total{route, status}` once it is answered (refusals of the
/// guard and handlers' errors too). The metrics come from the app's `web::Data<Metrics>`.
pub async fn count(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let metrics = request.app_data::<web::Data<Metrics>>().cloned();
    let route = request.match_pattern();
    let result = next.call(request).await;
    if let Some(metrics) = metrics {
        let status = match &result {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        metrics.http_request(route.as_deref().unwrap_or(UNMATCHED), status.as_u16());
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::{call_service, init_service, TestRequest};
    use actix_web::App;

    fn sample(text: &str, name: &str) -> Option<f64> {
        text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    }

    #[actix_web::test]
    async fn requests_are_counted_by_route_pattern_and_status() {
        let metrics = Metrics::new();
        let app = init_service(
            App::new().app_data(web::Data::new(metrics.clone())).wrap(actix_web::middleware::from_fn(count)).service(
                web::scope("/api/v1")
                    .route("/jobs/{id}", web::get().to(|| async { HttpResponse::Ok().finish() }))
                    .route("/jobs/{id}/cancel", web::post().to(|| async { HttpResponse::Conflict().finish() })),
            ),
        )
        .await;
        for path in ["/api/v1/jobs/1", "/api/v1/jobs/2", "/api/v1/jobs/3"] {
            assert_eq!(call_service(&app, TestRequest::get().uri(path).to_request()).await.status(), 200);
        }
        let cancel = TestRequest::post().uri("/api/v1/jobs/9/cancel").to_request();
        assert_eq!(call_service(&app, cancel).await.status(), 409);
        for path in ["/made-up/1", "/made-up/2"] {
            assert_eq!(call_service(&app, TestRequest::get().uri(path).to_request()).await.status(), 404);
        }
        let text = metrics.encode();
        let count = |labels: &str| sample(&text, &format!("distencode_http_requests_total{{{labels}}}"));
        assert_eq!(count("route=\"/api/v1/jobs/{id}\",status=\"200\""), Some(3.0), "{text}");
        assert_eq!(count("route=\"/api/v1/jobs/{id}/cancel\",status=\"409\""), Some(1.0), "{text}");
        assert_eq!(count("route=\"(unmatched)\",status=\"404\""), Some(2.0), "{text}");
        assert!(!text.contains("/api/v1/jobs/1\""), "no label holds a path asked for: {text}");
    }
}
