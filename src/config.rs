//! Configuration from the environment and an optional `.env` file. Secrets come from here,
//! never from the code.

use crate::crypto::Vault;
use crate::storage::Backend;
use std::path::{Path, PathBuf};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://ashyq.db";
pub const DEFAULT_KEY_FILE: &str = "ashyq.key";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("DATABASE_URL must start with sqlite: or postgres://")]
    UnsupportedDatabase,
    #[error("ASHYQ_SECRET_KEY is required with PostgreSQL (generate one with `ashyq keygen`)")]
    SecretRequired,
    #[error("ASHYQ_SECRET_KEY is invalid: {0}")]
    BadSecret(#[from] crate::crypto::CryptoError),
    #[error("key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The settings every command shares.
/// Statuses kept in memory by default (see [`Settings::status_cache_entries`]).
pub const DEFAULT_STATUS_CACHE_ENTRIES: usize = 2_000_000;

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub secret_key: Option<String>,
    pub key_file: PathBuf,
    /// The support desk: `SUPPORT_CHAT_ID` (the operators' Telegram group), `SUPPORT_HOURS`
    /// (`09:00-18:00`, Almaty time, Monday to Friday), `SUPPORT_FLOOD` (messages a minute).
    pub support: crate::core::support::SupportSettings,
    /// The bot's @username, for the deep links printed on posters and in invites.
    pub bot_username: Option<String>,
    /// `ASHYQ_PUBLIC_URL`: the service's public address; venue posters then encode
    /// `<public>/v/<token>`, a page served by `ashyq serve` that opens the check-in in
    /// Telegram or Aitu. `None`: posters carry the Telegram deep link.
    pub public_url: Option<crate::core::shared::channel::PublicUrl>,
    /// `AITU_DEEP_LINK`: Aitu's deep link template (`{payload}`; `{bot}` is
    /// `ASHYQ_BOT_USERNAME`), the Aitu button of the venue page. Unset: no Aitu button.
    pub aitu_deep_link: Option<String>,
    /// `ASHYQ_STATUS_CACHE`: how many evaluated statuses the long-running services keep in
    /// memory (default 2 000 000, about 150 MB; 0 turns the cache off).
    pub status_cache_entries: usize,
    /// `ASHYQ_CHECKIN_LANES`: how many batches of check-ins are written at once (default 4;
    /// 0 writes each check-in alone). See `core::checkin::lane`.
    pub checkin_lanes: usize,
    /// Businesses: `BUSINESS_CHAT_ID`, `ASSOCIATION_CHATS`, `ASHYQ_ELIGIBLE_OKED`.
    pub business: crate::core::business::BusinessSettings,
    /// Social Wallet: `WALLET_HOLIDAYS`, `WALLET_OFFER_DAYS`, `SMS_WEBHOOK_URL`,
    /// `SMS_WEBHOOK_SECRET`.
    pub wallet: crate::core::wallet::WalletSettings,
    /// Prescriptions: `HEALTH_AUTHORITY_CHAT_ID` (the Telegram chat where the health
    /// authority decides patients' disputes).
    pub prescriptions: crate::core::prescriptions::PrescriptionSettings,
    /// The identity registry: `IDENTITY_REGISTRY` (`table` | `http`), `IDENTITY_URL`,
    /// `IDENTITY_KEY`, `IDENTITY_TIMEOUT_MS`, `IDENTITY_RETRIES` (see `crate::identity`).
    pub identity: crate::identity::IdentitySettings,
    /// Exposure warnings: `EXPOSURE_DAYS_BEFORE`, `EXPOSURE_MIN_OVERLAP_MINUTES`,
    /// `VISIT_RETENTION_DAYS`, `AUDIT_RETENTION_DAYS`.
    pub exposure: crate::core::exposure::ExposureSettings,
    /// Telegram's send pace shared by the replicas: `TELEGRAM_RATE_PER_SECOND` (29),
    /// `TELEGRAM_PAID_RATE_PER_SECOND` (1 000, paid broadcasts). See `crate::pace`.
    pub telegram_pace: crate::pace::PaceSettings,
}

impl Settings {
    /// Reads `.env` (when present) and the environment.
    pub fn from_env() -> Self {
        let _ = dotenvy::dotenv();
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Self {
            database_url: var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            secret_key: var("ASHYQ_SECRET_KEY"),
            key_file: var("ASHYQ_KEY_FILE")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_KEY_FILE)),
            support: support_settings(&var),
            bot_username: var("ASHYQ_BOT_USERNAME")
                .map(|u| u.trim().trim_start_matches('@').to_string()),
            public_url: var("ASHYQ_PUBLIC_URL").and_then(|u| {
                crate::core::shared::channel::PublicUrl::parse(&u)
                    .map_err(|e| tracing::error!(error = %e, "ASHYQ_PUBLIC_URL ignored: posters carry the Telegram link"))
                    .ok()
            }),
            aitu_deep_link: var("AITU_DEEP_LINK")
                .map(|t| t.trim().to_string())
                .filter(|t| {
                    let ok = t.starts_with("https://") && t.contains("{payload}");
                    if !ok {
                        tracing::error!("AITU_DEEP_LINK ignored: it must start with https:// and hold {{payload}}");
                    }
                    ok
                }),
            status_cache_entries: var("ASHYQ_STATUS_CACHE")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(DEFAULT_STATUS_CACHE_ENTRIES),
            checkin_lanes: var("ASHYQ_CHECKIN_LANES")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(crate::core::checkin::lane::DEFAULT_LANES),
            business: business_settings(&var),
            wallet: wallet_settings(&var),
            prescriptions: crate::core::prescriptions::PrescriptionSettings {
                authority_chat: var("HEALTH_AUTHORITY_CHAT_ID")
                    .filter(|v| v.trim().parse::<i64>().is_ok())
                    .map(|v| crate::storage::ChatRef::new("telegram", v.trim())),
                ..Default::default()
            },
            identity: crate::identity::IdentitySettings::from_vars(&var)
                .unwrap_or_else(crate::identity::IdentitySettings::invalid),
            exposure: crate::core::exposure::ExposureSettings::from_vars(&var),
            telegram_pace: crate::pace::PaceSettings::from_vars(&var),
        }
    }

    pub fn backend(&self) -> Result<Backend, ConfigError> {
        Backend::of_url(&self.database_url).ok_or(ConfigError::UnsupportedDatabase)
    }

    /// The service keys. Without `ASHYQ_SECRET_KEY`, SQLite (a single-machine setup) reads or
    /// creates a key file readable only by its owner; PostgreSQL refuses to start.
    pub fn vault(&self) -> Result<Vault, ConfigError> {
        if let Some(secret) = &self.secret_key {
            return Ok(Vault::from_secret(secret)?);
        }
        match self.backend()? {
            Backend::Postgres => Err(ConfigError::SecretRequired),
            Backend::Sqlite => Ok(Vault::from_secret(&read_or_create_key(&self.key_file)?)?),
        }
    }
}

fn support_settings(var: &dyn Fn(&str) -> Option<String>) -> crate::core::support::SupportSettings {
    use crate::core::support::{SupportSettings, WorkingHours};
    let mut s = SupportSettings {
        chat: var("SUPPORT_CHAT_ID")
            .filter(|v| v.trim().parse::<i64>().is_ok())
            .map(|v| crate::storage::ChatRef::new(crate::adapters::telegram::CHANNEL, v.trim())),
        ..SupportSettings::default()
    };
    if let Some(h) = var("SUPPORT_HOURS") {
        s.hours = WorkingHours::parse(&h);
        if s.hours.is_none() {
            tracing::warn!(
                "SUPPORT_HOURS is not like 09:00-18:00: support is treated as always open"
            );
        }
    }
    if let Some(n) = var("SUPPORT_FLOOD").and_then(|v| v.trim().parse::<i64>().ok()) {
        s.flood_per_minute = n.max(1);
    }
    s
}

fn business_settings(
    var: &dyn Fn(&str) -> Option<String>,
) -> crate::core::business::BusinessSettings {
    use crate::core::business::{BusinessSettings, oked::Eligible};
    let mut s = BusinessSettings {
        admin_chat: var("BUSINESS_CHAT_ID")
            .filter(|v| v.trim().parse::<i64>().is_ok())
            .map(|v| crate::storage::ChatRef::new(crate::adapters::telegram::CHANNEL, v.trim())),
        associations: var("ASSOCIATION_CHATS")
            .map(|v| BusinessSettings::parse_associations(crate::adapters::telegram::CHANNEL, &v))
            .unwrap_or_default(),
        poster_font: var("ASHYQ_POSTER_FONT").map(PathBuf::from),
        ..BusinessSettings::default()
    };
    if let Some(u) = var("ASHYQ_BOT_USERNAME") {
        s.bot_username = u.trim().trim_start_matches('@').to_string();
    }
    if let Some(path) = var("ASHYQ_ELIGIBLE_OKED") {
        match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| Eligible::parse(&t).map_err(|e| e.to_string()))
        {
            Ok(list) => s.eligible = std::sync::Arc::new(list),
            Err(e) => {
                tracing::error!(path, error = %e, "ASHYQ_ELIGIBLE_OKED unusable: the built-in list is used")
            }
        }
    }
    s
}

fn wallet_settings(var: &dyn Fn(&str) -> Option<String>) -> crate::core::wallet::WalletSettings {
    use crate::core::wallet::{WalletSettings, token};
    let mut w = WalletSettings {
        sms_webhook_url: var("SMS_WEBHOOK_URL"),
        sms_webhook_secret: var("SMS_WEBHOOK_SECRET"),
        ..WalletSettings::default()
    };
    if let Some(h) = var("WALLET_HOLIDAYS") {
        match token::parse_holidays(&h) {
            Ok(days) => w.holidays = days,
            Err(e) => tracing::warn!(error = %e, "WALLET_HOLIDAYS ignored"),
        }
    }
    if let Some(n) = var("WALLET_OFFER_DAYS").and_then(|v| v.trim().parse::<i64>().ok()) {
        w.offer_days = n.clamp(1, 365);
    }
    w
}

impl Settings {
    /// Whether the keys come from the key file (SQLite without `ASHYQ_SECRET_KEY`).
    pub fn keys_from_file(&self) -> bool {
        self.secret_key.is_none() && matches!(self.backend(), Ok(Backend::Sqlite))
    }
}

/// Appends a new key version (`N:secret`, N one more than the newest) to the key file, whose
/// permissions are checked as at start. Returns the new version.
pub fn add_key_version(path: &Path) -> Result<u8, ConfigError> {
    let err = |source| ConfigError::KeyFile {
        path: path.to_path_buf(),
        source,
    };
    let material = crate::security::keyfile::read_private(path).map_err(err)?;
    let vault = Vault::from_secret(&material)?;
    let next = vault
        .versions()
        .last()
        .copied()
        .unwrap_or(1)
        .checked_add(1)
        .ok_or(ConfigError::BadSecret(
            crate::crypto::CryptoError::BadVersions,
        ))?;
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(err)?;
    let line = format!(
        "{}{next}:{}\n",
        if material.ends_with('\n') { "" } else { "\n" },
        Vault::generate_secret()
    );
    file.write_all(line.as_bytes()).map_err(err)?;
    file.sync_all().map_err(err)?;
    Ok(next)
}

fn read_or_create_key(path: &Path) -> Result<String, ConfigError> {
    let err = |source| ConfigError::KeyFile {
        path: path.to_path_buf(),
        source,
    };
    match crate::security::keyfile::read_private(path) {
        Ok(s) => return Ok(s.trim().to_string()),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
        Err(_) => {}
    }
    let secret = Vault::generate_secret();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut file = options.open(path).map_err(err)?;
    file.write_all(secret.as_bytes()).map_err(err)?;
    file.write_all(b"\n").map_err(err)?;
    tracing::warn!(
        path = %path.display(),
        "ASHYQ_SECRET_KEY is not set: generated a new key file. Back it up: without it the stored IINs and phones cannot be read or found."
    );
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, secret: Option<&str>, key_file: PathBuf) -> Settings {
        Settings {
            database_url: url.into(),
            secret_key: secret.map(Into::into),
            key_file,
            support: Default::default(),
            bot_username: None,
            public_url: None,
            aitu_deep_link: None,
            status_cache_entries: 0,
            checkin_lanes: 0,
            business: Default::default(),
            wallet: Default::default(),
            prescriptions: Default::default(),
            identity: Default::default(),
            exposure: Default::default(),
            telegram_pace: Default::default(),
        }
    }

    #[test]
    fn sqlite_generates_a_private_key_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let s = settings("sqlite://x.db", None, path.clone());
        let a = s.vault().unwrap();
        let b = s.vault().unwrap();
        assert_eq!(
            a.lookup_hash(crate::crypto::Field::Iin, "1"),
            b.lookup_hash(crate::crypto::Field::Iin, "1")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn postgres_requires_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings("postgres://localhost/x", None, dir.path().join("k"));
        assert!(matches!(s.vault(), Err(ConfigError::SecretRequired)));
        assert!(!dir.path().join("k").exists());
        let ok = settings(
            "postgres://localhost/x",
            Some(&"ab".repeat(32)),
            dir.path().join("k"),
        );
        assert!(ok.vault().is_ok());
        let bad = settings("mysql://x", None, dir.path().join("k"));
        assert!(matches!(bad.vault(), Err(ConfigError::UnsupportedDatabase)));
    }
}
