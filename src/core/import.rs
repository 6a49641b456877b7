//! Bulk import of PCR results and contacts from CSV (`ashyq import pcr|contacts FILE`).
//!
//! Rows are validated one by one (a bad row is reported with its line number and reason,
//! the good ones are imported) and written in transactions of [`BATCH_ROWS`] rows with
//! multi-row `INSERT … ON CONFLICT DO NOTHING`: a crash loses at most the open batch, never
//! half a row, and a re-run skips every external id already stored.

use super::feeds::{
    ContactItem, PcrItem, Rejection, Report, validate_contact, validate_pcr, write_contacts,
    write_pcr,
};
use super::{Core, CoreError};
use crate::crypto::Vault;
use crate::storage::health::{NewContact, NewPcr};
use chrono::{DateTime, Utc};
use std::io::Read;

/// Rows per transaction.
pub const BATCH_ROWS: usize = 5000;

pub const PCR_COLUMNS: [&str; 6] = [
    "iin",
    "taken_at",
    "result_at",
    "result",
    "lab",
    "external_id",
];
pub const CONTACT_COLUMNS: [&str; 4] = ["iin", "contact_date", "case_id", "external_id"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pcr,
    Contacts,
}

impl Kind {
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Pcr => &PCR_COLUMNS,
            Kind::Contacts => &CONTACT_COLUMNS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("the header must be `{expected}` (found `{found}`)")]
    Header { expected: String, found: String },
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// Progress callbacks: `(bytes read, rows done)`.
pub trait Progress {
    fn update(&self, bytes: u64, rows: u64);
}

impl Progress for () {
    fn update(&self, _: u64, _: u64) {}
}

impl Progress for indicatif::ProgressBar {
    fn update(&self, bytes: u64, rows: u64) {
        self.set_position(bytes);
        self.set_message(format!("{rows} rows"));
    }
}

/// A CSV reader over `input` (a header row, trimmed cells, rows of any length) and where
/// each of `columns` stands in its header: every column present, no other, in any order.
/// Every CSV import reads its file through this.
pub fn csv_with_columns<R: Read>(
    input: R,
    columns: &[&str],
) -> Result<(csv::Reader<R>, Vec<usize>), ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let header = reader.headers()?.clone();
    let names: Vec<&str> = header.iter().collect();
    let positions: Option<Vec<usize>> = columns
        .iter()
        .map(|c| names.iter().position(|n| n == c))
        .collect();
    match positions {
        Some(p) if names.len() == columns.len() => Ok((reader, p)),
        _ => Err(ImportError::Header {
            expected: columns.join(","),
            found: names.join(","),
        }),
    }
}

/// A progress bar over the file's bytes on stderr (hidden when stderr is not a terminal).
pub fn progress_bar(total_bytes: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total_bytes);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} ({eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

fn cell(record: &csv::StringRecord, at: &[usize], i: usize) -> String {
    record.get(at[i]).unwrap_or_default().to_string()
}

/// What the reading thread hands to the writer.
enum Chunk {
    Rows {
        pcr: Vec<(usize, NewPcr)>,
        contacts: Vec<(usize, NewContact)>,
        rejected: Vec<Rejection>,
        /// The IINs of the rows, as written (settled before the write while a key rotation
        /// runs: `feeds::settle_iins`).
        iins: Vec<String>,
        bytes: u64,
        rows: u64,
    },
    Failed(ImportError),
}

/// Imports one CSV file. Rejections carry the line number in `index`.
///
/// A reading thread parses and validates the next rows while this task writes the
/// previous batch, so on two cores the CPU work overlaps the database's.
pub async fn import_csv<R: Read + Send + 'static>(
    core: &Core,
    kind: Kind,
    input: R,
    progress: &dyn Progress,
) -> Result<Report, ImportError> {
    let (reader, positions) = csv_with_columns(input, kind.columns())?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(2);
    let vault = core.vault.clone();
    let now = core.clock.now();
    let reading = std::thread::spawn(move || read_rows(reader, kind, positions, vault, now, tx));
    let mut report = Report::default();
    let mut result = Ok(());
    while let Some(chunk) = rx.recv().await {
        match chunk {
            Chunk::Failed(e) => {
                result = Err(e);
                break;
            }
            Chunk::Rows {
                pcr,
                contacts,
                rejected,
                iins,
                bytes,
                rows,
            } => {
                super::feeds::settle_iins(core, &iins).await?;
                report.rejected.extend(rejected);
                if !pcr.is_empty() {
                    report.merge(write_pcr(core, pcr, None).await?);
                }
                if !contacts.is_empty() {
                    report.merge(write_contacts(core, contacts, None).await?);
                }
                progress.update(bytes, rows);
            }
        }
    }
    drop(rx);
    let _ = reading.join();
    result?;
    report.rejected.sort_by_key(|r| r.index);
    Ok(report)
}

/// The reading thread: parses and validates rows, sends them in batches of
/// [`BATCH_ROWS`]. Stops when the writer hangs up.
fn read_rows<R: Read>(
    mut reader: csv::Reader<R>,
    kind: Kind,
    positions: Vec<usize>,
    vault: Vault,
    now: DateTime<Utc>,
    tx: tokio::sync::mpsc::Sender<Chunk>,
) {
    let expected = kind.columns().len();
    let mut iins = Vec::new();
    let mut pcr = Vec::new();
    let mut contacts = Vec::new();
    let mut rejected = Vec::new();
    let mut rows = 0u64;
    let mut record = csv::StringRecord::new();
    loop {
        let more = match reader.read_record(&mut record) {
            Ok(more) => more,
            Err(e) => {
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    let _ = tx.blocking_send(Chunk::Failed(e.into()));
                    return;
                }
                // A broken record (e.g. invalid UTF-8): report its line and go on.
                let line = e.position().map_or(0, |p| p.line() as usize);
                rejected.push(Rejection {
                    index: line,
                    external_id: None,
                    reason: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        if more {
            rows += 1;
            let line = record.position().map_or(0, |p| p.line() as usize);
            if record.len() != expected {
                rejected.push(Rejection {
                    index: line,
                    external_id: None,
                    reason: format!("{} columns instead of {expected}", record.len()),
                });
            } else {
                let c = |i| cell(&record, &positions, i);
                iins.push(c(0));
                match kind {
                    Kind::Pcr => {
                        let item = PcrItem {
                            iin: c(0),
                            taken_at: c(1),
                            result_at: c(2),
                            result: c(3),
                            lab: c(4),
                            external_id: c(5),
                            withdrawn: false,
                        };
                        match validate_pcr(&vault, &item, now) {
                            Ok(row) => pcr.push((line, row)),
                            Err(reason) => rejected.push(Rejection {
                                index: line,
                                external_id: Some(item.external_id),
                                reason,
                            }),
                        }
                    }
                    Kind::Contacts => {
                        let item = ContactItem {
                            iin: c(0),
                            contact_date: c(1),
                            case_id: c(2),
                            external_id: c(3),
                        };
                        match validate_contact(&vault, &item, now) {
                            Ok(row) => contacts.push((line, row)),
                            Err(reason) => rejected.push(Rejection {
                                index: line,
                                external_id: Some(item.external_id),
                                reason,
                            }),
                        }
                    }
                }
            }
        }
        if !more || pcr.len() + contacts.len() >= BATCH_ROWS {
            let chunk = Chunk::Rows {
                pcr: std::mem::take(&mut pcr),
                contacts: std::mem::take(&mut contacts),
                rejected: std::mem::take(&mut rejected),
                iins: std::mem::take(&mut iins),
                bytes: reader.position().byte(),
                rows,
            };
            if tx.blocking_send(chunk).is_err() || !more {
                return;
            }
        }
    }
}
