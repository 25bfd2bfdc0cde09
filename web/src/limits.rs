//! Every size and count a browser or script controls, capped here as a named constant.

/// Bytes of a request body (a JSON request or a form) at most.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Bytes of a query string at most; longer requests are answered 414.
pub const MAX_QUERY_BYTES: usize = 2048;
/// Jobs per page of the jobs table and of `GET /api/v1/jobs` at most (and by default).
pub const MAX_PAGE_ROWS: usize = 200;
pub const DEFAULT_PAGE_ROWS: usize = 50;
/// Jobs one bulk action names at most.
pub const MAX_BULK_JOBS: usize = MAX_PAGE_ROWS;
/// Characters of the jobs table's search text at most.
pub const MAX_SEARCH_CHARS: usize = 200;
/// How long a session lasts after sign-in.
pub const SESSION_SECONDS: u64 = 12 * 3600;
/// Bytes of a session cookie's value at most (a longer one is not ours).
pub const MAX_COOKIE_BYTES: usize = 4096;
/// Log bytes the job page shows (its last lines); the whole log is a download.
pub const LOG_TAIL_BYTES: usize = 64 * 1024;
/// Threads serving HTTP (each handler only awaits the actors).
pub const HTTP_WORKERS: usize = 2;
/// Event streams open at once, all callers together; past it a new one is answered 503.
pub const MAX_EVENT_STREAMS: usize = 512;
/// Events a farm stream may fall behind by before it skips ahead (it then sends a `resync`).
pub const EVENT_BACKLOG: usize = 1024;
/// Entries per page of the audit page.
pub const AUDIT_PAGE_ROWS: usize = 50;
/// Pages of the audit page at most (its last page ends where the store's read stops looking).
pub const MAX_AUDIT_PAGES: usize = distencode_actors::store::audit::MAX_AUDIT_SCAN / AUDIT_PAGE_ROWS;
