//! What every benchmark shares: the machine's description, percentiles, numbers from the
//! environment and scratch PostgreSQL databases. (A folder, so cargo does not take it for a
//! benchmark of its own.)
#![allow(dead_code)]

/// `N cores (CPU model)`, as /proc/cpuinfo names it.
pub fn machine() -> String {
    format!("{} cores ({})", cores(), cpu_model())
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

/// A whole number from the environment, or `default`.
pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `p` quantile (0..=1) of sorted values; NaN when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Creates a database named `prefix_<random>` on the server of `admin`: `(name, url)`.
pub async fn scratch_db(admin: &str, prefix: &str) -> (String, String) {
    sqlx::any::install_default_drivers();
    let name = format!("{prefix}_{}", hex::encode(rand::random::<[u8; 4]>()));
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(admin)
        .await
        .expect("connect to the benchmark server");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create scratch database");
    let mut url = url::Url::parse(admin).expect("a URL");
    url.set_path(&name);
    (name, url.to_string())
}

/// Drops a database made by [`scratch_db`].
pub async fn drop_db(admin: &str, name: &str) {
    if let Ok(mut conn) = <sqlx::AnyConnection as sqlx::Connection>::connect(admin).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}
