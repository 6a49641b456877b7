//! The `http` registry: a live look-up at the mobile citizens database's gateway.
//!
//! Protocol (also in the OpenAPI document, `IdentityCheck`): `POST {IDENTITY_URL}` with
//! `Authorization: Bearer {IDENTITY_KEY}` and the body `{"iin": "…", "phone": "+7…"}` — the
//! two numbers the question is about and nothing else (no name, no chat, no language);
//! the answer is `200 {"result": "match" | "mismatch" | "unknown"}`.
//!
//! Each request has a timeout; a network error, a timeout, 429 or 5xx is retried with
//! exponential back-off (`retries` times); another 4xx or an unreadable answer is not
//! retried. After `breaker_threshold` failed look-ups in a row the circuit opens: for
//! `breaker_cooldown` every look-up fails at once (registration then waits and the
//! background job retries), then one trial look-up decides whether it closes again.

use super::{IdentityRegistry, RegistryError, Verdict};
use crate::domain::{Iin, Phone};
use futures::future::BoxFuture;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct HttpOptions {
    /// Per request.
    pub timeout: Duration,
    /// Further tries after the first on a retryable failure.
    pub retries: u32,
    /// Wait before the first retry; doubled each time.
    pub backoff: Duration,
    /// Failed look-ups in a row that open the circuit.
    pub breaker_threshold: u32,
    /// How long an open circuit refuses look-ups.
    pub breaker_cooldown: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(3),
            retries: 2,
            backoff: Duration::from_millis(200),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

pub struct HttpRegistry {
    url: String,
    key: String,
    client: reqwest::Client,
    options: HttpOptions,
    breaker: Mutex<Breaker>,
}

impl std::fmt::Debug for HttpRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HttpRegistry({})", self.url)
    }
}

enum Failure {
    Retry(String),
    Final(String),
}

#[derive(serde::Deserialize)]
struct Answer {
    result: Verdict,
}

impl HttpRegistry {
    pub fn new(url: &str, key: &str, options: HttpOptions) -> Self {
        Self {
            url: url.to_string(),
            key: key.to_string(),
            client: reqwest::Client::builder()
                .timeout(options.timeout)
                .build()
                .unwrap_or_default(),
            options,
            breaker: Mutex::new(Breaker::default()),
        }
    }

    /// `false` while the circuit is open (a look-up after the cool-down is the trial).
    fn allowed(&self) -> bool {
        let b = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
        b.open_until.is_none_or(|until| Instant::now() >= until)
    }

    fn record(&self, ok: bool) {
        let mut b = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
        if ok {
            *b = Breaker::default();
            return;
        }
        b.failures += 1;
        // A failed trial after the cool-down reopens at once.
        if b.failures >= self.options.breaker_threshold || b.open_until.is_some() {
            b.open_until = Some(Instant::now() + self.options.breaker_cooldown);
            tracing::warn!(
                failures = b.failures,
                cooldown_s = self.options.breaker_cooldown.as_secs(),
                "identity registry circuit open"
            );
        }
    }

    /// Whether the circuit is open now (for tests and health reports).
    pub fn circuit_open(&self) -> bool {
        !self.allowed()
    }

    async fn once(&self, iin: &Iin, phone: &Phone) -> Result<Verdict, Failure> {
        let body = serde_json::json!({"iin": iin.expose(), "phone": phone.expose()});
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| {
                Failure::Retry(if e.is_timeout() {
                    "timeout".into()
                } else {
                    "network error".into()
                })
            })?;
        let status = response.status();
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(Failure::Retry(format!("HTTP {status}")));
        }
        if !status.is_success() {
            return Err(Failure::Final(format!("HTTP {status}")));
        }
        let text = response
            .text()
            .await
            .map_err(|_| Failure::Retry("body not read".into()))?;
        serde_json::from_str::<Answer>(&text)
            .map(|a| a.result)
            .map_err(|_| Failure::Final("unreadable answer".into()))
    }
}

impl IdentityRegistry for HttpRegistry {
    fn check<'a>(
        &'a self,
        iin: &'a Iin,
        phone: &'a Phone,
    ) -> BoxFuture<'a, Result<Verdict, RegistryError>> {
        Box::pin(async move {
            if !self.allowed() {
                return Err(RegistryError::CircuitOpen);
            }
            let mut wait = self.options.backoff;
            let mut attempt = 0;
            loop {
                match self.once(iin, phone).await {
                    Ok(v) => {
                        self.record(true);
                        return Ok(v);
                    }
                    Err(Failure::Retry(why)) if attempt < self.options.retries => {
                        tracing::debug!(attempt, reason = %why, "identity look-up retried");
                        tokio::time::sleep(wait).await;
                        wait *= 2;
                        attempt += 1;
                    }
                    Err(Failure::Retry(why) | Failure::Final(why)) => {
                        self.record(false);
                        return Err(RegistryError::Unavailable(why));
                    }
                }
            }
        })
    }

    fn kind(&self) -> &'static str {
        "http"
    }
}
