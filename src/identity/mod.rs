//! The identity registry: "does phone P belong to IIN X?" — `match`, `mismatch` or
//! `unknown` (issue 15 item 1).
//!
//! In Kazakhstan the authoritative link between a number and an IIN is the mobile citizens
//! database (the one eGov sends one-time codes through). The messenger proves the number
//! is the sender's own; the registry says whether it is the IIN's. Three implementations,
//! chosen by `IDENTITY_REGISTRY`:
//!
//! - `table` (default, [`table::TableRegistry`]): our own table of pairs, stored as keyed
//!   hashes, fed by `ashyq identity import FILE.csv` and `POST /api/v1/identity`;
//! - `http` ([`http::HttpRegistry`]): a live look-up at `IDENTITY_URL` with `IDENTITY_KEY`,
//!   with a timeout, retries with back-off and a circuit breaker;
//! - the terminal chat feeds its demo pair into the table, so `ashyq chat` works as it is.
//!
//! How registration uses the answer is in `core::identity`.

pub mod http;
pub mod table;

use crate::crypto::Vault;
use crate::domain::{Iin, Phone};
use crate::storage::{Store, StoreError};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// The registry's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The number is registered to this IIN.
    Match,
    /// The number or the IIN is registered, but not to each other.
    Mismatch,
    /// The registry does not know (yet).
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Mismatch => "mismatch",
            Verdict::Unknown => "unknown",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("identity registry unreachable or failing: {0}")]
    Unavailable(String),
    #[error("identity registry circuit open after repeated failures")]
    CircuitOpen,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The port. Implementations never log the IIN or the phone.
pub trait IdentityRegistry: Send + Sync + std::fmt::Debug {
    fn check<'a>(
        &'a self,
        iin: &'a Iin,
        phone: &'a Phone,
    ) -> BoxFuture<'a, Result<Verdict, RegistryError>>;

    /// `table` or `http`.
    fn kind(&self) -> &'static str;
}

/// Which registry, from `IDENTITY_REGISTRY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegistryKind {
    #[default]
    Table,
    Http,
}

/// `IDENTITY_REGISTRY` (`table` | `http`), `IDENTITY_URL`, `IDENTITY_KEY`,
/// `IDENTITY_TIMEOUT_MS` (per request, default 3000), `IDENTITY_RETRIES` (default 2).
#[derive(Clone, Default)]
pub struct IdentitySettings {
    pub kind: RegistryKind,
    pub url: Option<String>,
    pub key: Option<String>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    /// Why the environment could not be read (the service then refuses to start).
    pub invalid: Option<String>,
}

impl std::fmt::Debug for IdentitySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentitySettings")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("key", &self.key.as_ref().map(|_| "…"))
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("IDENTITY_REGISTRY must be `table` or `http` (found {0:?})")]
    UnknownKind(String),
    #[error("IDENTITY_REGISTRY=http needs IDENTITY_URL and IDENTITY_KEY")]
    HttpIncomplete,
    #[error("{0}")]
    Invalid(String),
}

impl IdentitySettings {
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let kind = match var("IDENTITY_REGISTRY").as_deref().map(str::trim) {
            None | Some("table") => RegistryKind::Table,
            Some("http") => RegistryKind::Http,
            Some(other) => return Err(SettingsError::UnknownKind(other.to_string())),
        };
        Ok(Self {
            kind,
            url: var("IDENTITY_URL"),
            key: var("IDENTITY_KEY"),
            timeout: var("IDENTITY_TIMEOUT_MS")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|ms| Duration::from_millis(ms.clamp(100, 60_000))),
            retries: var("IDENTITY_RETRIES")
                .and_then(|v| v.trim().parse::<u32>().ok().map(|n| n.min(5))),
            invalid: None,
        })
    }

    /// Settings that refuse to build, with the reason.
    pub fn invalid(e: SettingsError) -> Self {
        Self {
            invalid: Some(e.to_string()),
            ..Self::default()
        }
    }

    /// The registry these settings name.
    pub fn build(
        &self,
        store: &Store,
        vault: &Vault,
    ) -> Result<Arc<dyn IdentityRegistry>, SettingsError> {
        if let Some(e) = &self.invalid {
            return Err(SettingsError::Invalid(e.clone()));
        }
        Ok(match self.kind {
            RegistryKind::Table => {
                Arc::new(table::TableRegistry::new(store.clone(), vault.clone()))
            }
            RegistryKind::Http => {
                let (Some(url), Some(key)) = (&self.url, &self.key) else {
                    return Err(SettingsError::HttpIncomplete);
                };
                let mut options = http::HttpOptions::default();
                if let Some(t) = self.timeout {
                    options.timeout = t;
                }
                if let Some(r) = self.retries {
                    options.retries = r;
                }
                Arc::new(http::HttpRegistry::new(url, key, options))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn settings_default_to_the_table_and_check_http() {
        let s = IdentitySettings::from_vars(&vars(&[])).unwrap();
        assert_eq!(s.kind, RegistryKind::Table);
        let s = IdentitySettings::from_vars(&vars(&[("IDENTITY_REGISTRY", "http")])).unwrap();
        assert_eq!(s.kind, RegistryKind::Http);
        assert!(matches!(
            IdentitySettings::from_vars(&vars(&[("IDENTITY_REGISTRY", "ldap")])),
            Err(SettingsError::UnknownKind(_))
        ));
        let s = IdentitySettings::from_vars(&vars(&[
            ("IDENTITY_REGISTRY", "http"),
            ("IDENTITY_URL", "http://127.0.0.1:9/check"),
            ("IDENTITY_KEY", "k"),
            ("IDENTITY_TIMEOUT_MS", "5"),
        ]))
        .unwrap();
        assert_eq!(s.timeout, Some(Duration::from_millis(100)));
        assert!(!format!("{s:?}").contains("\"k\""));
    }

    #[test]
    fn verdicts_use_the_protocol_words() {
        for v in [Verdict::Match, Verdict::Mismatch, Verdict::Unknown] {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
            assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), v);
        }
    }
}
