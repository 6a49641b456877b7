//! One leader per job when several replicas share one PostgreSQL, and one process per
//! SQLite file.
//!
//! [`run_as_leader`] runs a loop (a background job, an outbox worker, Telegram's long
//! polling) only while this process holds a PostgreSQL session advisory lock named after the
//! loop, on a connection of its own. When the leader dies its connection closes and the
//! server releases the lock; a follower tries every [`RETRY`] and takes over. A leader that
//! loses its connection stops its loop (it can no longer prove it leads). On SQLite, which
//! runs one process ([`ProcessLock`]), the loop simply runs.

use crate::storage::{Backend, Store};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often a follower asks for the lock, and a leader checks its lock connection.
pub const RETRY: Duration = Duration::from_secs(1);

/// The advisory lock key of a job name: the first 8 bytes of SHA-256 of `ashyq-leader:name`.
pub fn lock_key(name: &str) -> i64 {
    let digest = Sha256::digest(format!("ashyq-leader:{name}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// Whether this process currently leads a job (for logs, metrics and tests).
#[derive(Debug, Clone, Default)]
pub struct Leadership(Arc<AtomicBool>);

impl Leadership {
    pub fn is_leader(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Records the change here and in the `ashyq_leader{job}` gauge of `/metrics`.
    fn set(&self, job: &str, leading: bool) {
        self.0.store(leading, Ordering::SeqCst);
        crate::ops::metrics::set_leader(job, leading);
    }
}

/// Runs `job` while this process leads `name` (always on SQLite), until `stop`. `job` gets a
/// token cancelled when `stop` fires or leadership is lost, and is started again each time
/// leadership is regained.
pub async fn run_as_leader<F, Fut>(
    name: &str,
    store: &Store,
    stop: CancellationToken,
    leadership: Leadership,
    mut job: F,
) where
    F: FnMut(CancellationToken) -> Fut,
    Fut: Future<Output = ()>,
{
    if store.backend() == Backend::Sqlite {
        leadership.set(name, true);
        job(stop.clone()).await;
        leadership.set(name, false);
        return;
    }
    let key = lock_key(name);
    // A follower keeps its connection between tries (no new session every second).
    let mut spare: Option<sqlx::AnyConnection> = None;
    while !stop.is_cancelled() {
        let Some(mut conn) = try_lock(store, key, &mut spare).await else {
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(RETRY) => continue,
            }
        };
        tracing::info!(job = name, "leader: this replica runs the job");
        leadership.set(name, true);
        let child = stop.child_token();
        let running = job(child.clone());
        tokio::pin!(running);
        let mut lost = false;
        loop {
            tokio::select! {
                () = &mut running => break,
                () = tokio::time::sleep(RETRY) => {
                    if !lost && sqlx::query("SELECT 1").execute(&mut conn).await.is_err() {
                        tracing::warn!(job = name, "leader: lock connection lost, stopping the job");
                        lost = true;
                        child.cancel();
                    }
                }
            }
        }
        leadership.set(name, false);
        if !lost {
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(key)
                .execute(&mut conn)
                .await;
        }
        let _ = sqlx::Connection::close(conn).await;
        if !stop.is_cancelled() {
            // The job ended by itself or leadership was lost: try again after a pause.
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(RETRY) => {}
            }
        }
    }
    if let Some(conn) = spare {
        let _ = sqlx::Connection::close(conn).await;
    }
}

/// A connection holding the lock, or `None` when another session holds it (the connection
/// is kept in `spare` for the next try) or the database cannot be reached.
async fn try_lock(
    store: &Store,
    key: i64,
    spare: &mut Option<sqlx::AnyConnection>,
) -> Option<sqlx::AnyConnection> {
    let mut conn = match spare.take() {
        Some(conn) => conn,
        None => match store.pool().acquire().await {
            Ok(c) => c.detach(),
            Err(e) => {
                tracing::warn!(error = %e, "leader: no connection for the lock");
                return None;
            }
        },
    };
    let got: Result<(bool,), _> = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(&mut conn)
        .await;
    match got {
        Ok((true,)) => Some(conn),
        Ok((false,)) => {
            *spare = Some(conn);
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "leader: cannot ask for the lock");
            None
        }
    }
}

/// `serve`'s claim on a SQLite file: an exclusive OS lock on `<file>.lock`, released when the
/// process exits (however it exits). A second `serve` on the same file is refused.
#[derive(Debug)]
pub struct ProcessLock {
    _file: std::fs::File,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessLockError {
    #[error(
        "another `ashyq serve` is running on this SQLite database (lock file {0}); SQLite serves one process: stop it first, or use PostgreSQL for several replicas"
    )]
    Busy(PathBuf),
    #[error("lock file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ProcessLock {
    /// Locks the SQLite file of `database_url`; `Ok(None)` for PostgreSQL and in-memory
    /// databases.
    pub fn acquire(database_url: &str) -> Result<Option<Self>, ProcessLockError> {
        let Some(db) = sqlite_path(database_url) else {
            return Ok(None);
        };
        let mut path = db.into_os_string();
        path.push(".lock");
        let path = PathBuf::from(path);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| ProcessLockError::Io {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file, path })),
            Err(std::fs::TryLockError::WouldBlock) => Err(ProcessLockError::Busy(path)),
            Err(std::fs::TryLockError::Error(source)) => Err(ProcessLockError::Io { path, source }),
        }
    }
}

/// The file of a `sqlite:` URL (`None` for other databases and `:memory:`).
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let file = rest.split('?').next().unwrap_or(rest);
    if file.is_empty() || file == ":memory:" {
        return None;
    }
    Some(PathBuf::from(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_come_from_the_url() {
        assert_eq!(
            sqlite_path("sqlite://data/a.db?mode=rwc"),
            Some(PathBuf::from("data/a.db"))
        );
        assert_eq!(sqlite_path("sqlite:a.db"), Some(PathBuf::from("a.db")));
        assert_eq!(
            sqlite_path("sqlite:///tmp/x.db"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://localhost/x"), None);
    }

    #[test]
    fn a_second_lock_on_one_file_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("a.db").display());
        let first = ProcessLock::acquire(&url).unwrap().expect("a lock");
        let second = ProcessLock::acquire(&url).unwrap_err();
        assert!(matches!(second, ProcessLockError::Busy(_)), "{second}");
        assert!(second.to_string().contains("another `ashyq serve`"));
        drop(first);
        assert!(ProcessLock::acquire(&url).unwrap().is_some());
    }

    #[test]
    fn lock_keys_differ_per_name_and_are_stable() {
        assert_eq!(lock_key("outbox:telegram"), lock_key("outbox:telegram"));
        assert_ne!(lock_key("outbox:telegram"), lock_key("outbox:sms"));
    }
}
