//! HTTP hardening (issue 15 item 6, docs/SECURITY.md):
//!
//! - handlers authenticate from the headers first and only then read the body, with a limit
//!   per route ([`read_body`]): a caller without a key cannot make the server read 16 MiB;
//! - every request has a deadline (408 after [`Limits::timeout`]) and the server handles at
//!   most [`Limits::concurrency`] requests at once; beyond that it sheds load with 503 at once
//!   rather than queueing (tower's `GlobalConcurrencyLimit` + `LoadShed`, tower-http's `Timeout`);
//! - failed authentications (401) are counted per source address ([`AuthThrottle`]); a source
//!   over its limit gets 429 before its credentials are looked at. The source is the TCP peer,
//!   or, behind a proxy, the header named by `ASHYQ_CLIENT_IP_HEADER` (e.g. `X-Real-IP`, set
//!   by the proxy; never trust it without one, a client can send any value).

use crate::security::throttle::AuthThrottle;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Limits of the HTTP server, from the environment.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Deadline of one request (`ASHYQ_HTTP_TIMEOUT_SECS`, default 30).
    pub timeout: Duration,
    /// Requests handled at once (`ASHYQ_HTTP_CONCURRENCY`, default 256).
    pub concurrency: usize,
    /// Header carrying the client's address behind a proxy (`ASHYQ_CLIENT_IP_HEADER`).
    pub client_ip_header: Option<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            concurrency: 256,
            client_ip_header: None,
        }
    }
}

impl Limits {
    pub fn from_env() -> Self {
        let num = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|n| *n > 0)
        };
        let d = Self::default();
        Self {
            timeout: num("ASHYQ_HTTP_TIMEOUT_SECS").map_or(d.timeout, Duration::from_secs),
            concurrency: num("ASHYQ_HTTP_CONCURRENCY").map_or(d.concurrency, |n| n as usize),
            client_ip_header: std::env::var("ASHYQ_CLIENT_IP_HEADER")
                .ok()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty()),
        }
    }
}

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    Unreadable,
}

/// Reads a request body of at most `limit` bytes. Call it after authenticating.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large =
            std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| {
                e.source()
            })
            .any(|e| e.to_string().contains("length limit exceeded"));
        if too_large {
            BodyError::TooLarge
        } else {
            BodyError::Unreadable
        }
    })
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message, "items": []}))).into_response()
}

/// The source of a request: the header a trusted proxy sets, else the TCP peer.
fn source(req: &Request, header: Option<&str>) -> IpAddr {
    if let Some(h) = header
        && let Some(ip) = req
            .headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next_back())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// The state of [`throttle_failed_auth`].
#[derive(Clone)]
pub struct AuthGuard {
    pub throttle: Arc<AuthThrottle>,
    pub client_ip_header: Option<String>,
}

/// Middleware: refuses a source with too many failed authentications (429) and counts every
/// 401 the handlers answer.
pub async fn throttle_failed_auth(
    State(guard): State<AuthGuard>,
    req: Request,
    next: Next,
) -> Response {
    let from = source(&req, guard.client_ip_header.as_deref());
    if !guard.throttle.allowed(from, Instant::now()) {
        tracing::warn!(target: "ashyq::audit", source = %from, path = %req.uri().path(), "HTTP: too many failed authentications");
        let mut r = json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed authentications; try again later",
        );
        r.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("600"),
        );
        return r;
    }
    let response = next.run(req).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        tracing::info!(target: "ashyq::audit", source = %from, "HTTP: failed authentication");
        guard.throttle.failed(from, Instant::now());
    }
    response
}

async fn overloaded(e: tower::BoxError) -> Response {
    if e.is::<tower::load_shed::error::Overloaded>() {
        json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is busy; try again",
        )
    } else {
        tracing::error!(error = %e, "HTTP middleware error");
        json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}

/// Applies the deadline, the concurrency limit and the failed-authentication throttle.
pub fn harden(router: axum::Router, limits: &Limits, throttle: Arc<AuthThrottle>) -> axum::Router {
    let guard = AuthGuard {
        throttle,
        client_ip_header: limits.client_ip_header.clone(),
    };
    router
        .layer(axum::middleware::from_fn_with_state(
            guard,
            throttle_failed_auth,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.timeout,
        ))
        .layer(
            tower::ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                // Global: `Router::layer` builds the layer once per route, and a plain
                // `ConcurrencyLimitLayer` would give each route its own limit.
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                    limits.concurrency,
                )),
        )
}
