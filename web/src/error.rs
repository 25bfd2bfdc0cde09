//! Why a web request was not served, and how each reason is answered: JSON `{"error": "..."}` on the API
//! ([`ApiError`]), a page on the site ([`PageError`]; no session there is a redirect to the sign-in page). The text
//! is the one line `job submit` and the other commands print for the same refusal.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use distencode_actors::error::RequestError;
use distencode_actors::store::StoreError;
use distencode_wire::error::{LimitError, SpecRefusal};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The web interface could not start (a certificate, a secret, the port).
    #[error("{0}")]
    Start(String),
    /// No valid session and no valid bearer token.
    #[error("sign in first: open the sign-in link the coordinator printed, or send Authorization: Bearer TOKEN")]
    Unauthorized,
    /// A POST of a session without its CSRF token, or from another site.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    /// A job spec the coordinator would refuse: a field past its cap, a property or an ffmpeg argument not allowed.
    #[error(transparent)]
    Spec(#[from] SpecRefusal),
    /// A reservation's worker or person name past its cap.
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error("{0}")]
    NotFound(String),
    /// The request is fine but the state does not allow it (a transition refused, a worker not held).
    #[error("{0}")]
    Conflict(String),
    /// No worker of the pool could render the job.
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Unavailable(String),
    /// A query string past its cap.
    #[error("{0}")]
    TooLong(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::Start(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Unauthorized => StatusCode::UNAUTHORIZED,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::BadRequest(_) | WebError::Spec(_) | WebError::Limit(_) => StatusCode::BAD_REQUEST,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::TooLong(_) => StatusCode::URI_TOO_LONG,
        }
    }
}

/// A request's refusal keeps the CLI's line, answered with the status that says what kind it is.
impl From<RequestError> for WebError {
    fn from(error: RequestError) -> Self {
        let text = error.to_string();
        match error {
            RequestError::Store(StoreError::NoSuchJob(_))
            | RequestError::NoSuchWorker(_)
            | RequestError::NothingToForget(_) => WebError::NotFound(text),
            RequestError::Store(StoreError::Refused { .. })
            | RequestError::NotHeld(_)
            | RequestError::TaskOfSplitJob { .. }
            | RequestError::OutputInUse { .. }
            | RequestError::OutputBeingSubmitted(_)
            | RequestError::StillConnected(_) => WebError::Conflict(text),
            RequestError::Refused(_) => WebError::Forbidden(text),
            RequestError::Store(_) => WebError::Unavailable(text),
            RequestError::NoWorkerCanRender(_) | RequestError::NoSuchLike(_) => WebError::Unprocessable(text),
            RequestError::BadWorkerName(_)
            | RequestError::BackupPathNotAbsolute(_)
            | RequestError::ReservationInThePast
            | RequestError::ReservationWithoutPerson => WebError::BadRequest(text),
            RequestError::Mailbox(_) | RequestError::CoordinatorUnavailable(_) => WebError::Unavailable(text),
        }
    }
}

impl From<actix::MailboxError> for WebError {
    fn from(error: actix::MailboxError) -> Self {
        WebError::Unavailable(format!("coordinator unavailable: {error}"))
    }
}

/// A refusal on the JSON API.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(#[from] pub WebError);

impl From<RequestError> for ApiError {
    fn from(error: RequestError) -> Self {
        ApiError(error.into())
    }
}

impl From<actix::MailboxError> for ApiError {
    fn from(error: actix::MailboxError) -> Self {
        ApiError(error.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self.0, WebError::Unauthorized) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(serde_json::json!({ "error": self.0.to_string() }))
    }
}

/// A refusal on a page: a small page saying why, or the sign-in page when there is no session.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct PageError(#[from] pub WebError);

impl From<RequestError> for PageError {
    fn from(error: RequestError) -> Self {
        PageError(error.into())
    }
}

impl From<actix::MailboxError> for PageError {
    fn from(error: actix::MailboxError) -> Self {
        PageError(error.into())
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self.0 {
            WebError::Unauthorized => StatusCode::SEE_OTHER,
            _ => self.0.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if matches!(self.0, WebError::Unauthorized) {
            return HttpResponse::SeeOther().insert_header((header::LOCATION, "/signin")).finish();
        }
        crate::pages::error_page(self.0.status(), &self.0.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_or_reservation_over_its_cap_is_a_bad_request_with_the_cli_s_line() {
        let spec: WebError = SpecRefusal::SplitFfmpegJob.into();
        assert_eq!(spec.status(), StatusCode::BAD_REQUEST);
        assert_eq!(spec.to_string(), "refused: an ffmpeg job is not split");
        let person: WebError = LimitError::TooLong { what: "the person's name", len: 257, limit: 256 }.into();
        assert_eq!(person.status(), StatusCode::BAD_REQUEST);
        assert_eq!(person.to_string(), "refused: the person's name is 257 bytes; the limit is 256");
    }
}
