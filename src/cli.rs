//! The command line. Each subcommand is a few lines over the library.

mod exposure;
mod health;
mod identity;
mod keys;
mod pharmacy;
mod wallet;

use crate::adapters::terminal::{self, TerminalOptions};
use crate::app;
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::core::Core;
use crate::core::shared::channel::StartLink;
use crate::domain::{Iin, Lang, Sex};
use crate::i18n::Msg;
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "ashyq",
    version,
    about = "Ashyq: venue check-in, Social Wallet and support bot"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Chat with the bot in this terminal as one user (no token needed).
    Chat {
        /// Chat id of the user, to try several people on one database.
        #[arg(long, default_value = "local")]
        user: String,
        /// The phone number `/contact` shares.
        #[arg(long, default_value = "+77011234567")]
        phone: String,
        /// The language a messenger would report (kk, ru; anything else makes the bot ask).
        #[arg(long)]
        lang: Option<String>,
    },
    /// Serve Telegram (when TELOXIDE_TOKEN is set) and HTTP.
    Serve {
        /// Address of the HTTP server (health, feeds).
        #[arg(long, env = "ASHYQ_HTTP", default_value = "127.0.0.1:8080")]
        http: SocketAddr,
    },
    /// Venues: add, list, posters, invites, revocation.
    Venue {
        #[command(subcommand)]
        command: VenueCommand,
    },
    /// Business applications: list, approve, reject, pre-approve for an association.
    Applications {
        #[command(subcommand)]
        command: ApplicationsCommand,
    },
    /// Business roles: monitoring groups and authorities.
    Role {
        #[command(subcommand)]
        command: RoleCommand,
    },
    /// Regions: the sanitary-control chat alerted about red and yellow attempts.
    Region {
        #[command(subcommand)]
        command: RegionCommand,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Print a new random secret for ASHYQ_SECRET_KEY.
    Keygen,
    /// Key versions: `keys rotate` re-hashes and re-seals every stored value under a new one.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// The support desk.
    Support {
        #[command(subcommand)]
        action: SupportCommand,
    },
    /// QR code tools.
    Qr {
        #[command(subcommand)]
        command: QrCommand,
    },
    /// Health-data feeds: API keys, CSV imports, a person's status.
    #[command(flatten)]
    Health(health::HealthCommand),
    /// Social Wallet: vouchers, schools, suppliers, the ledger, acts.
    #[command(flatten)]
    Wallet(wallet::WalletCommand),
    /// Pharmacies: name, pharmacists' invitations.
    Pharmacy {
        #[command(subcommand)]
        command: pharmacy::PharmacyCommand,
    },
    /// Patients' disputes of dispensings: the health authority's decisions.
    Dispute {
        #[command(subcommand)]
        command: pharmacy::DisputeCommand,
    },
    /// The identity table (phone ↔ IIN pairs of the mobile citizens database).
    Identity {
        #[command(subcommand)]
        command: identity::IdentityCommand,
    },
    /// Exposure warnings: the epidemiologists' export, jobs and retention by hand.
    Exposure {
        #[command(subcommand)]
        command: exposure::ExposureCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SupportCommand {
    /// Open and closed tickets, median first response and resolution times, ratings.
    Stats,
}

#[derive(Debug, Subcommand)]
pub enum QrCommand {
    /// Decode image files: one JSON line per file, `{"file":…,"texts":[…],"ms":…}`.
    Decode {
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum VenueCommand {
    /// Register a venue; prints its codes as one JSON object.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        bin: String,
        #[arg(long)]
        address: String,
        #[arg(long)]
        region: String,
        /// ordinary, pcr_required or essential.
        #[arg(long)]
        category: String,
        #[arg(long, default_value_t = 1)]
        entrances: u32,
        /// Maximum stay before automatic check-out (`3h`, `90m`, `2h30m`).
        #[arg(long, default_value = "3h")]
        max_stay: String,
    },
    /// Write printable posters (PNG, SVG, PDF) of every code of a venue.
    Poster {
        venue_id: i64,
        #[arg(long)]
        out: std::path::PathBuf,
        /// A TrueType font with Cyrillic for the PNG/PDF (else ASHYQ_POSTER_FONT or a system font).
        #[arg(long)]
        font: Option<std::path::PathBuf>,
    },
    /// List venues as JSON lines.
    List,
    /// Revoke a venue or one of its entrances: its codes stop working.
    Revoke {
        venue_id: i64,
        #[arg(long)]
        entrance: Option<String>,
    },
    /// Suspend a venue for some days (0 lifts the suspension).
    Suspend {
        venue_id: i64,
        #[arg(long, default_value_t = 14)]
        days: i64,
    },
    /// Print a one-time invitation link for a staff member or an owner.
    Invite {
        venue_id: i64,
        #[arg(long, default_value = "staff")]
        role: String,
        /// The messenger the invited person uses (telegram, aitu): its deep link, or the
        /// message to send the bot where it has none. Default: the links channel.
        #[arg(long)]
        channel: Option<String>,
    },
    /// A venue's applications, violations and suspensions as one JSON object.
    History { venue_id: i64 },
    /// Add a new QR signing key id; new posters use it, old codes keep working.
    RotateKey,
    /// Revoke a QR signing key id: every code signed with it stops working.
    RevokeKey { kid: i64 },
    /// Change a venue's settings.
    Set {
        venue_id: i64,
        /// Exposure warnings for visits here: `on` (default) or `off` (a pharmacy counter,
        /// transit).
        #[arg(long, value_parser = ["on", "off"])]
        exposure: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApplicationsCommand {
    /// Applications as JSON lines (oldest first).
    List {
        /// Only this status: association, pending, approved, rejected.
        #[arg(long)]
        status: Option<String>,
    },
    /// Approve: creates the venue (test mode for 7 days) and sends the owner the posters.
    Approve { id: i64 },
    /// Reject with a reason the applicant sees.
    Reject {
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Record the sector association's pre-approval (catering, cinemas).
    Preapprove { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Give a chat a role: `monitor` (records violations) or `authority` (occupancy).
    Grant {
        role: String,
        #[arg(allow_hyphen_values = true)]
        chat_id: String,
        /// Limit the role to one region (all regions without it).
        #[arg(long)]
        region: Option<String>,
        #[arg(long, default_value = "telegram")]
        channel: String,
    },
    /// Take a role away from a chat.
    Revoke {
        role: String,
        #[arg(allow_hyphen_values = true)]
        chat_id: String,
        #[arg(long, default_value = "telegram")]
        channel: String,
    },
    /// Active roles as JSON lines.
    List,
}

#[derive(Debug, Subcommand)]
pub enum RegionCommand {
    /// Set the sanitary-control chat of a region.
    SetAlertChat {
        region: String,
        /// The chat's id (Telegram group ids are negative, e.g. -1001234567890).
        #[arg(allow_hyphen_values = true)]
        chat_id: String,
        #[arg(long, default_value = "telegram")]
        channel: String,
    },
}

/// The channel an invitation printed here is for: `--channel`, else the links channel;
/// a channel this build does not register is refused.
pub(crate) fn invite_channel(core: &Core, channel: Option<String>) -> anyhow::Result<String> {
    let channel = channel.unwrap_or_else(|| core.channels.links_channel.clone());
    if !core.channels.names().any(|n| n == channel) {
        let known: Vec<_> = core.channels.names().collect();
        anyhow::bail!(
            "--channel {channel}: unknown channel (known: {})",
            known.join(", ")
        );
    }
    Ok(channel)
}

/// Prints an invitation: the deep link, or (a channel without deep links) the message the
/// invited person sends the bot, with how to use it on stderr.
pub(crate) fn print_start_link(core: &Core, channel: &str, shown: &StartLink) {
    println!("{shown}");
    if let StartLink::Command(_) = shown {
        let name = &core.channels.profile(channel).display_name;
        let name = if name.is_empty() { channel } else { name };
        eprintln!(
            "{name} has no deep link here: the invited person sends the bot this message in {name}"
        );
    }
}

fn bot_username(settings: &Settings) -> anyhow::Result<String> {
    settings
        .bot_username
        .clone()
        .ok_or_else(|| anyhow::anyhow!(crate::core::checkin::admin::AdminError::NoBotUsername))
}

async fn venue_command(settings: &Settings, command: VenueCommand) -> anyhow::Result<()> {
    use crate::core::checkin::{admin, poster};
    let core = app::build_core(settings, Arc::new(SystemClock)).await?;
    match command {
        VenueCommand::Add {
            name,
            bin,
            address,
            region,
            category,
            entrances,
            max_stay,
        } => {
            let bot = bot_username(settings)?;
            let max_stay_ms = admin::parse_duration_ms(&max_stay)
                .ok_or_else(|| anyhow::anyhow!("--max-stay: use a duration like 3h or 90m"))?;
            let added = admin::add_venue(
                &core,
                &admin::AddVenue {
                    name,
                    bin,
                    address,
                    region,
                    category,
                    entrances,
                    max_stay_ms: Some(max_stay_ms),
                },
                &bot,
            )
            .await?;
            println!("{}", serde_json::to_string(&added)?);
        }
        VenueCommand::Poster {
            venue_id,
            out,
            font,
        } => {
            let bot = bot_username(settings)?;
            let (venue, codes) = admin::codes(&core, venue_id, &bot).await?;
            match poster::write_all(&core.texts, &venue, &codes, &out, font.as_deref()) {
                Ok(files) => {
                    for f in files {
                        println!("{}", f.display());
                    }
                }
                Err(poster::PosterError::NoFont) => {
                    eprintln!(
                        "warning: {}; only the SVG posters were written",
                        poster::PosterError::NoFont
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        VenueCommand::List => {
            for v in admin::list(&core).await? {
                println!("{}", serde_json::to_string(&v)?);
            }
        }
        VenueCommand::Revoke { venue_id, entrance } => {
            admin::revoke(&core, venue_id, entrance.as_deref()).await?;
            println!("revoked");
        }
        VenueCommand::Suspend { venue_id, days } => {
            match admin::suspend(&core, venue_id, days).await? {
                Some(until) => println!("suspended until {until} (ms since epoch)"),
                None => println!("suspension lifted"),
            }
        }
        VenueCommand::Invite {
            venue_id,
            role,
            channel,
        } => {
            let bot = bot_username(settings)?;
            let channel = invite_channel(&core, channel)?;
            let shown = admin::invite_in(&core, venue_id, &role, &bot, &channel).await?;
            print_start_link(&core, &channel, &shown);
        }
        VenueCommand::History { venue_id } => {
            let history = crate::core::business::monitor::history(&core, venue_id)
                .await?
                .ok_or(admin::AdminError::NoVenue(venue_id))?;
            println!("{}", serde_json::to_string(&history)?);
        }
        VenueCommand::RotateKey => println!("{}", admin::rotate_key(&core).await?),
        VenueCommand::Set {
            venue_id,
            exposure: setting,
        } => {
            if let Some(on) = setting {
                exposure::set_venue(&core, venue_id, on == "on").await?;
                println!("venue {venue_id}: exposure warnings {on}");
            } else {
                anyhow::bail!("nothing to set (give --exposure on|off)");
            }
        }
        VenueCommand::RevokeKey { kid } => {
            admin::revoke_key(&core, kid).await?;
            println!("revoked");
        }
    }
    core.store.close().await;
    Ok(())
}

async fn applications_command(
    settings: &Settings,
    command: ApplicationsCommand,
) -> anyhow::Result<()> {
    use crate::core::business::review;
    let core = app::build_core(settings, Arc::new(SystemClock)).await?;
    let result = async {
        match command {
            ApplicationsCommand::List { status } => {
                for a in review::list(&core, status.as_deref()).await? {
                    println!("{}", serde_json::to_string(&a)?);
                }
            }
            ApplicationsCommand::Approve { id } => {
                let done = review::approve(&core, id).await?;
                println!("{}", serde_json::to_string(&done)?);
            }
            ApplicationsCommand::Reject { id, reason } => {
                review::reject(&core, id, &reason).await?;
                println!("rejected");
            }
            ApplicationsCommand::Preapprove { id } => {
                review::preapprove(&core, id).await?;
                println!("pre-approved: waiting for the administrators");
            }
        }
        anyhow::Ok(())
    }
    .await;
    core.store.close().await;
    result
}

async fn role_command(settings: &Settings, command: RoleCommand) -> anyhow::Result<()> {
    use crate::core::business::monitor;
    use crate::storage::{ChatRef, business::ROLES};
    let core = app::build_core(settings, Arc::new(SystemClock)).await?;
    let check = |role: &str| {
        if ROLES.contains(&role) {
            Ok(())
        } else {
            Err(anyhow::anyhow!(
                "unknown role {role:?} (use monitor or authority)"
            ))
        }
    };
    let result = async {
        match command {
            RoleCommand::Grant {
                role,
                chat_id,
                region,
                channel,
            } => {
                check(&role)?;
                let chat = ChatRef::new(&channel, chat_id);
                monitor::grant(&core, &role, &chat, region.as_deref()).await?;
                println!("granted");
            }
            RoleCommand::Revoke {
                role,
                chat_id,
                channel,
            } => {
                check(&role)?;
                let chat = ChatRef::new(&channel, chat_id);
                if !monitor::revoke(&core, &role, &chat).await? {
                    anyhow::bail!("that chat has no active {role} role");
                }
                println!("revoked");
            }
            RoleCommand::List => {
                let mut conn = core.store.pool().acquire().await?;
                for (role, channel, chat_id, region) in
                    crate::storage::business::roles(&mut conn).await?
                {
                    println!(
                        "{}",
                        serde_json::json!({"role": role, "channel": channel, "chat_id": chat_id, "region": region})
                    );
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    core.store.close().await;
    result
}

/// `ashyq qr decode FILE`: one JSON line `{"file":…,"texts":[…],"ms":…}`
/// (plus `"error"` when the file could not be read or decoded).
fn decode_file_json(path: &std::path::Path, limits: &crate::qr::Limits) -> String {
    let t = std::time::Instant::now();
    let result = std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| {
            crate::qr::decode_with(&b, limits, crate::qr::Strategy::Full).map_err(|e| e.to_string())
        });
    let ms = (t.elapsed().as_secs_f64() * 1e5).round() / 1e2;
    let file = path.to_string_lossy();
    match result {
        Ok(texts) => serde_json::json!({"file": file, "texts": texts, "ms": ms}).to_string(),
        Err(e) => serde_json::json!({"file": file, "texts": [], "ms": ms, "error": e}).to_string(),
    }
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    if crate::ops::json_logs() {
        // ASHYQ_LOG_FORMAT=json: one JSON object per line, for log collectors.
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::from_env();
    match cli.command {
        Command::Chat { user, phone, lang } => {
            init_logging("warn");
            let core = app::build_core(&settings, Arc::new(SystemClock)).await?;
            let stdin = std::io::stdin();
            let echo = !stdin.is_terminal();
            let banner_lang = lang
                .as_deref()
                .and_then(Lang::from_messenger_hint)
                .unwrap_or(Lang::FALLBACK);
            let demo_iin = Iin::synthetic(
                chrono::NaiveDate::from_ymd_opt(1990, 5, 17).expect("valid date"),
                Sex::Female,
                1234,
            );
            println!(
                "{}",
                core.texts.render(
                    banner_lang,
                    &Msg::new("terminal-banner")
                        .arg("phone", phone.clone())
                        .arg("iin", demo_iin.expose()),
                )
            );
            // The demo pair, so registration passes the identity table with no set-up.
            if core.identity.kind() == "table"
                && let Ok(demo_phone) = crate::domain::Phone::parse(&phone)
            {
                crate::identity::table::add(&core, &demo_iin, &demo_phone).await?;
            }
            let (venue, entry, exit) =
                crate::core::checkin::admin::ensure_demo_venue(&core).await?;
            println!(
                "{}\n",
                core.texts.render(
                    banner_lang,
                    &Msg::new("checkin-demo-venue")
                        .arg("venue", venue)
                        .arg("entry", entry)
                        .arg("exit", exit),
                )
            );
            let options = TerminalOptions {
                user,
                phone,
                lang_hint: lang,
                echo,
            };
            terminal::run(&core, stdin.lock(), std::io::stdout().lock(), &options).await?;
            core.store.close().await;
            Ok(())
        }
        Command::Serve { http } => {
            init_logging("info");
            app::serve(&settings, http).await
        }
        Command::Venue { command } => {
            init_logging("warn");
            venue_command(&settings, command).await
        }
        Command::Applications { command } => {
            init_logging("warn");
            applications_command(&settings, command).await
        }
        Command::Role { command } => {
            init_logging("warn");
            role_command(&settings, command).await
        }
        Command::Region {
            command:
                RegionCommand::SetAlertChat {
                    region,
                    chat_id,
                    channel,
                },
        } => {
            init_logging("warn");
            let core = app::build_core(&settings, Arc::new(SystemClock)).await?;
            let chat = crate::storage::ChatRef::new(&channel, chat_id);
            crate::core::checkin::admin::set_alert_chat(&core, &region, &chat).await?;
            core.store.close().await;
            println!("alert chat set");
            Ok(())
        }
        Command::Migrate => {
            init_logging("info");
            let store = crate::storage::Store::open(&settings.database_url).await?;
            store.close().await;
            println!("migrations applied");
            Ok(())
        }
        Command::Support {
            action: SupportCommand::Stats,
        } => {
            init_logging("warn");
            let store = crate::storage::Store::open(&settings.database_url).await?;
            let stats = crate::core::support::SupportStats::load(&store).await?;
            store.close().await;
            print!("{stats}");
            Ok(())
        }
        Command::Keygen => {
            println!("{}", crate::crypto::Vault::generate_secret());
            Ok(())
        }
        Command::Qr {
            command: QrCommand::Decode { files },
        } => {
            let limits = crate::qr::Limits::default();
            for file in files {
                println!("{}", decode_file_json(&file, &limits));
            }
            Ok(())
        }
        Command::Health(command) => {
            init_logging("warn");
            health::run(&settings, command).await
        }
        Command::Wallet(command) => {
            init_logging("warn");
            wallet::run(&settings, command).await
        }
        Command::Pharmacy { command } => {
            init_logging("warn");
            pharmacy::run(&settings, pharmacy::Any::Pharmacy(command)).await
        }
        Command::Dispute { command } => {
            init_logging("warn");
            pharmacy::run(&settings, pharmacy::Any::Dispute(command)).await
        }
        Command::Identity { command } => {
            init_logging("warn");
            identity::run(&settings, command).await
        }
        Command::Keys { command } => {
            init_logging("info");
            keys::run(&settings, command).await
        }
        Command::Exposure { command } => {
            init_logging("warn");
            exposure::run(&settings, command).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode_file_json;
    use crate::qr::Limits;
    use std::path::Path;

    #[test]
    fn decode_file_json_lines() {
        let path = std::env::temp_dir().join(format!("ashyq-qr-json-{}.txt", std::process::id()));
        std::fs::write(&path, b"not an image").expect("temp file");
        let line = decode_file_json(&path, &Limits::default());
        let _ = std::fs::remove_file(&path);
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["texts"], serde_json::json!([]));
        assert_eq!(v["error"], "not an image");
        assert!(v["ms"].is_number() && v["file"].is_string());
        let missing = decode_file_json(Path::new("/nonexistent/ashyq.png"), &Limits::default());
        assert!(missing.contains("\"error\""));
    }
}
