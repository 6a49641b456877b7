//! Subcommands of the Social Wallet: schools, suppliers, offers, vouchers, the ledger, acts.
//! (`ashyq import pupils FILE` lives with the other imports in `health.rs`.)

use crate::app;
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::core::Core;
use crate::core::wallet::{self, campaign, eligibility, ledger};
use clap::Subcommand;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum WalletCommand {
    /// Social Wallet vouchers: the offer campaign, revocation.
    Vouchers {
        #[command(subcommand)]
        action: VouchersAction,
    },
    /// Schools: name and supplier, canteen operators' invitations.
    School {
        #[command(subcommand)]
        action: SchoolAction,
    },
    /// Meal suppliers and their unit price.
    Supplier {
        #[command(subcommand)]
        action: SupplierAction,
    },
    /// The Social Wallet's append-only ledger.
    Ledger {
        #[command(subcommand)]
        action: LedgerAction,
    },
    /// Clubs (club vouchers): set up, operators' invitations, the monthly act.
    Club {
        #[command(subcommand)]
        action: ClubAction,
    },
    /// The Social Wallet's audit: every action of every actor, personal data masked.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// The monthly act of completed work of a supplier (CSV and HTML) from the ledger, or
    /// of a pharmacy (`--pharmacy BIN`: its dispensings, CSV).
    Act {
        /// The supplier's BIN.
        #[arg(
            long,
            required_unless_present = "pharmacy",
            conflicts_with = "pharmacy"
        )]
        supplier: Option<String>,
        /// A pharmacy's BIN: the month's dispensings with quantities.
        #[arg(long)]
        pharmacy: Option<String>,
        /// The month, `YYYY-MM`.
        #[arg(long)]
        month: String,
        /// Where to write `act-<BIN>-<MONTH>.csv` and `.html`.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum VouchersAction {
    /// Offer vouchers to the eligible pupils without an offer (of one school or all);
    /// resumable, never sends twice. Prints a JSON summary.
    Offer {
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        school: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Revoke a voucher for good (its codes answer "revoked").
    Revoke { voucher_id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum SchoolAction {
    /// Set a school's name and supplier (created when new).
    Set {
        #[arg(long)]
        bin: String,
        #[arg(long)]
        name: String,
        /// The BIN of the supplier that serves its meals.
        #[arg(long)]
        supplier: Option<String>,
    },
    /// A one-time invitation link (7 days) that makes a chat a canteen operator of the school.
    Invite {
        bin: String,
        /// The messenger the operator uses (telegram, aitu): its deep link, or the message
        /// to send the bot where it has none. Default: the links channel.
        #[arg(long)]
        channel: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SupplierAction {
    /// Set a supplier's name and price per meal in tenge (e.g. 850.00).
    Set {
        #[arg(long)]
        bin: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        price: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClubAction {
    /// Set a club's name (created when new).
    Set {
        #[arg(long)]
        bin: String,
        #[arg(long)]
        name: String,
    },
    /// A one-time invitation link (7 days) that makes a chat an operator of the club.
    Invite { bin: String },
    /// The club's act for a month (`YYYY-MM`): sessions per child from the ledger, as CSV on
    /// standard output and a JSON summary on stderr.
    Act {
        #[arg(long)]
        bin: String,
        #[arg(long)]
        month: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// CSV of every Social Wallet action (ledger entries of every kind and refused
    /// attempts) from one local day to another, both included; chats and IINs masked.
    /// Prints a JSON summary on stderr.
    Export {
        /// The first day, `YYYY-MM-DD` (Astana time).
        #[arg(long)]
        from: String,
        /// The last day, `YYYY-MM-DD`.
        #[arg(long)]
        to: String,
        /// Write the CSV here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LedgerAction {
    /// Check the hash chain of every voucher kind (version-1 meal lines and version-2
    /// lines); prints JSON with the entries per kind and fails naming the first edited,
    /// inserted or deleted row.
    Verify,
}

pub async fn run(settings: &Settings, command: WalletCommand) -> anyhow::Result<()> {
    let core = app::build_core(settings, Arc::new(SystemClock)).await?;
    let result = run_with(&core, settings, command).await;
    core.store.close().await;
    result
}

async fn run_with(core: &Core, settings: &Settings, command: WalletCommand) -> anyhow::Result<()> {
    match command {
        WalletCommand::Vouchers {
            action: VouchersAction::Offer { school, all: _ },
        } => {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} offers ({eta})",
            ) {
                bar.set_style(style);
            }
            let report = campaign::offer(core, school.as_deref(), &|done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })
            .await?;
            bar.finish_and_clear();
            println!("{}", serde_json::to_string(&report)?);
        }
        WalletCommand::Vouchers {
            action: VouchersAction::Revoke { voucher_id },
        } => {
            if wallet::revoke_voucher(core, voucher_id).await? {
                println!("revoked");
            } else {
                println!("already revoked");
            }
        }
        WalletCommand::School {
            action:
                SchoolAction::Set {
                    bin,
                    name,
                    supplier,
                },
        } => {
            let id = wallet::set_school(core, &bin, &name, supplier.as_deref()).await?;
            println!("{}", serde_json::json!({"school_id": id, "bin": bin}));
        }
        WalletCommand::School {
            action: SchoolAction::Invite { bin, channel },
        } => {
            let bot = settings.bot_username.clone().ok_or_else(|| {
                anyhow::anyhow!("ASHYQ_BOT_USERNAME is needed for invitation links")
            })?;
            let channel = super::invite_channel(core, channel)?;
            let shown = wallet::canteen_invite_in(core, &bin, &bot, &channel).await?;
            super::print_start_link(core, &channel, &shown);
        }
        WalletCommand::Supplier {
            action: SupplierAction::Set { bin, name, price },
        } => {
            let tiyn = wallet::set_supplier(core, &bin, &name, &price).await?;
            println!(
                "{}",
                serde_json::json!({"bin": bin, "unit_price_tiyn": tiyn})
            );
        }
        WalletCommand::Ledger {
            action: LedgerAction::Verify,
        } => {
            let mut conn = core.store.pool().acquire().await?;
            let v = ledger::verify(&mut conn).await?;
            println!("{}", serde_json::to_string(&v)?);
            if let Some(p) = v.first_problem {
                anyhow::bail!("the ledger does not verify: {p}");
            }
        }
        WalletCommand::Club { action } => {
            use crate::core::vouchers::{ProviderKind, providers};
            match action {
                ClubAction::Set { bin, name } => {
                    let id = providers::set(core, ProviderKind::Club, &bin, &name).await?;
                    println!("{}", serde_json::json!({"bin": bin, "provider_id": id}));
                }
                ClubAction::Invite { bin } => {
                    let bot = settings.bot_username.clone().ok_or_else(|| {
                        anyhow::anyhow!("set ASHYQ_BOT_USERNAME to make invitation links")
                    })?;
                    println!(
                        "{}",
                        providers::invite(core, ProviderKind::Club, &bin, &bot).await?
                    );
                }
                ClubAction::Act { bin, month } => {
                    let act = wallet::club_act(core, &bin, &month).await?;
                    print!("{}", act.csv);
                    eprintln!("{}", serde_json::to_string(&act)?);
                }
            }
        }
        WalletCommand::Audit {
            action: AuditAction::Export { from, to, out },
        } => {
            use crate::core::vouchers::audit;
            let (from, to) = (audit::parse_day(&from)?, audit::parse_day(&to)?);
            let summary = match out {
                Some(path) => {
                    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
                    audit::export(core, from, to, &mut file).await?
                }
                None => {
                    let mut stdout = std::io::stdout();
                    audit::export(core, from, to, &mut stdout).await?
                }
            };
            eprintln!("{}", serde_json::to_string(&summary)?);
        }
        WalletCommand::Act {
            supplier: _,
            pharmacy: Some(pharmacy),
            month,
            out,
        } => {
            let csv = crate::core::prescriptions::act(core, &pharmacy, &month).await?;
            std::fs::create_dir_all(&out)?;
            let path = out.join(format!("act-pharmacy-{}-{month}.csv", pharmacy.trim()));
            std::fs::write(&path, &csv)?;
            let lines = csv.lines().count().saturating_sub(1);
            println!(
                "{}",
                serde_json::json!({"pharmacy_bin": pharmacy.trim(), "month": month, "lines": lines, "csv": path.display().to_string()})
            );
        }
        WalletCommand::Act {
            supplier,
            pharmacy: None,
            month,
            out,
        } => {
            let supplier = supplier.unwrap_or_default();
            let act = ledger::act(core, supplier.trim(), &month).await?;
            std::fs::create_dir_all(&out)?;
            let base = format!("act-{}-{}", act.supplier_bin, act.month);
            let csv = out.join(format!("{base}.csv"));
            let html = out.join(format!("{base}.html"));
            std::fs::write(&csv, &act.csv)?;
            std::fs::write(&html, &act.html)?;
            let mut line = serde_json::to_value(&act)?;
            line["csv"] = csv.display().to_string().into();
            line["html"] = html.display().to_string().into();
            println!("{line}");
        }
    }
    Ok(())
}

/// `ashyq import pupils FILE`: prints rejected lines on stderr and a JSON summary.
pub async fn import_pupils(core: &Core, file: &std::path::Path) -> anyhow::Result<()> {
    let handle = std::fs::File::open(file)?;
    let bar = indicatif::ProgressBar::new_spinner();
    let report = eligibility::import_csv(core, std::io::BufReader::new(handle), &|n| {
        bar.set_message(format!("{n} rows written"));
    })
    .await?;
    bar.finish_and_clear();
    for r in &report.rejected {
        eprintln!("line {}: {}", r.index, r.reason);
    }
    println!(
        "{}",
        serde_json::json!({
            "accepted": report.accepted,
            "eligible": report.eligible,
            "duplicates": report.duplicates,
            "rejected": report.rejected.len(),
        })
    );
    Ok(())
}
