//! `ashyq exposure export --case EXTERNAL_ID`: the co-visitors of one positive case with
//! their IINs unsealed, as CSV, for the official contact list that epidemiologists then
//! send back through the contacts feed (which alone makes anyone yellow). Every attempt is
//! audited in `exposure_exports` (who, when, which case, how many rows), refused ones too.

use crate::core::{Core, CoreError};
use crate::crypto::Field;
use crate::storage::exposure as store;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no PCR result with external id {0:?}")]
    UnknownCase(String),
    #[error("the result {0:?} is negative: it has no co-visitors")]
    NotPositive(String),
    #[error("the result {0:?} was withdrawn by the laboratory: its warnings were corrected")]
    Withdrawn(String),
    #[error("the co-visitors of {0:?} are not computed yet (the exposure job is queued)")]
    Pending(String),
    #[error("give the name of the person exporting (--by)")]
    NoActor,
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl From<crate::storage::StoreError> for ExportError {
    fn from(e: crate::storage::StoreError) -> Self {
        ExportError::Core(e.into())
    }
}

/// The CSV and its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// `iin,venue_id,venue,date,visit_from,visit_to,overlap_from,overlap_to` (Astana time).
    pub csv: String,
    pub rows: usize,
    /// Co-visitors known only by the IIN's keyed hash (guard-mode visitors without an
    /// account): listed with an empty IIN, since no sealed value exists for them.
    pub not_recoverable: usize,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Builds the export of a case and audits it (the audit line commits with the read).
pub async fn export(core: &Core, case_id: &str, actor: &str) -> Result<Export, ExportError> {
    let actor = actor.trim();
    if actor.is_empty() {
        return Err(ExportError::NoActor);
    }
    let now = core.now_ms();
    let mut tx = core.store.begin().await.map_err(CoreError::from)?;
    let case = store::case_by_external_id(&mut tx, case_id).await?;
    let refusal = match &case {
        None => Some(ExportError::UnknownCase(case_id.into())),
        Some(c) if c.positive != 1 => Some(ExportError::NotPositive(case_id.into())),
        Some(c) if c.withdrawn_at.is_some() => Some(ExportError::Withdrawn(case_id.into())),
        Some(_) => None,
    };
    let pending = match &case {
        Some(c) if refusal.is_none() => {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM exposure_jobs WHERE pcr_id = $1 AND done_at IS NULL",
            )
            .bind(c.id)
            .fetch_one(&mut *tx)
            .await
            .map_err(CoreError::from)?;
            n > 0
        }
        _ => false,
    };
    let pcr_id = case.as_ref().map(|c| c.id);
    if let Some(err) = refusal.or(pending.then(|| ExportError::Pending(case_id.into()))) {
        let outcome = match err {
            ExportError::UnknownCase(_) => "unknown",
            ExportError::NotPositive(_) => "negative",
            ExportError::Withdrawn(_) => "withdrawn",
            _ => "pending",
        };
        store::audit_export(&mut tx, actor, case_id, pcr_id, outcome, 0, 0, now).await?;
        tx.commit().await.map_err(CoreError::from)?;
        return Err(err);
    }
    let rows = store::export_rows(&mut tx, pcr_id.unwrap_or_default()).await?;
    let mut csv =
        String::from("iin,venue_id,venue,date,visit_from,visit_to,overlap_from,overlap_to\n");
    let mut not_recoverable = 0;
    for r in &rows {
        let iin = match &r.iin_enc {
            Some(sealed) => core
                .vault
                .open(Field::Iin, sealed)
                .map_err(CoreError::from)?
                .as_str()
                .to_string(),
            None => {
                not_recoverable += 1;
                String::new()
            }
        };
        let t = |ms: i64| crate::clock::local_text(ms, "%Y-%m-%d %H:%M");
        csv.push_str(&format!(
            "{iin},{},{},{},{},{},{},{}\n",
            r.venue_id,
            csv_field(&r.venue_name),
            r.day,
            t(r.visit_from),
            t(r.visit_to),
            t(r.overlap_from),
            t(r.overlap_to)
        ));
    }
    store::audit_export(
        &mut tx,
        actor,
        case_id,
        pcr_id,
        "listed",
        rows.len() as i64,
        not_recoverable as i64,
        now,
    )
    .await?;
    tx.commit().await.map_err(CoreError::from)?;
    Ok(Export {
        csv,
        rows: rows.len(),
        not_recoverable,
    })
}
