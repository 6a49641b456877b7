//! Statistics of the desk.

use super::*;

// Statistics

/// What `ashyq support stats` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct SupportStats {
    pub open: i64,
    pub closed: i64,
    pub median_first_response_ms: Option<i64>,
    pub median_resolution_ms: Option<i64>,
    /// How many tickets got 1, 2, 3, 4, 5 stars.
    pub ratings: [i64; 5],
}

pub(super) fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    })
}

impl SupportStats {
    pub async fn load(store: &Store) -> Result<Self, StoreError> {
        let mut conn = store.pool().acquire().await?;
        let rows = tickets::all_for_stats(&mut conn).await?;
        let mut ratings = [0i64; 5];
        for r in rows.iter().filter_map(|r| r.rating) {
            if (1..=5).contains(&r) {
                ratings[(r - 1) as usize] += 1;
            }
        }
        Ok(Self {
            open: rows.iter().filter(|r| r.closed_at.is_none()).count() as i64,
            closed: rows.iter().filter(|r| r.closed_at.is_some()).count() as i64,
            median_first_response_ms: median(
                rows.iter()
                    .filter_map(|r| r.first_response_at.map(|f| f - r.opened_at))
                    .collect(),
            ),
            median_resolution_ms: median(
                rows.iter()
                    .filter_map(|r| r.closed_at.map(|c| c - r.opened_at))
                    .collect(),
            ),
            ratings,
        })
    }

    pub fn average_rating(&self) -> Option<f64> {
        let n: i64 = self.ratings.iter().sum();
        (n > 0).then(|| {
            self.ratings
                .iter()
                .enumerate()
                .map(|(i, c)| (i as i64 + 1) * c)
                .sum::<i64>() as f64
                / n as f64
        })
    }
}

pub(super) fn duration(ms: Option<i64>) -> String {
    match ms {
        None => "—".into(),
        Some(ms) => {
            let m = ms / 60_000;
            format!("{}h {:02}m", m / 60, m % 60)
        }
    }
}

impl std::fmt::Display for SupportStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "tickets open:              {}", self.open)?;
        writeln!(f, "tickets closed:            {}", self.closed)?;
        writeln!(
            f,
            "median first response:     {}",
            duration(self.median_first_response_ms)
        )?;
        writeln!(
            f,
            "median resolution:         {}",
            duration(self.median_resolution_ms)
        )?;
        let n: i64 = self.ratings.iter().sum();
        match self.average_rating() {
            Some(avg) => writeln!(f, "ratings:                   {n}, average {avg:.2}")?,
            None => writeln!(f, "ratings:                   0")?,
        }
        for (i, c) in self.ratings.iter().enumerate() {
            writeln!(f, "  {} star: {c}", i + 1)?;
        }
        Ok(())
    }
}
