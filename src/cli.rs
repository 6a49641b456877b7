//! The command line. Each subcommand is a few lines over the library.

mod health;

use crate::adapters::terminal::{self, TerminalOptions};
use crate::app;
use crate::clock::SystemClock;
use crate::config::Settings;
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
    /// Apply the database migrations and exit.
    Migrate,
    /// Print a new random secret for ASHYQ_SECRET_KEY.
    Keygen,
    #[command(flatten)]
    Health(health::HealthCommand),
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
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
                .unwrap_or(Lang::En);
            let demo_iin = Iin::synthetic(
                chrono::NaiveDate::from_ymd_opt(1990, 5, 17).expect("valid date"),
                Sex::Female,
                1234,
            );
            println!(
                "{}\n",
                core.texts.render(
                    banner_lang,
                    &Msg::new("terminal-banner")
                        .arg("phone", phone.clone())
                        .arg("iin", demo_iin.expose()),
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
            init_logging("info,ashyq=debug");
            let telegram_on = std::env::var("TELOXIDE_TOKEN").is_ok_and(|t| !t.trim().is_empty());
            let core = app::build_core(&settings, Arc::new(SystemClock)).await?;
            app::serve(core, http, telegram_on).await
        }
        Command::Migrate => {
            init_logging("info");
            let store = crate::storage::Store::open(&settings.database_url).await?;
            store.close().await;
            println!("migrations applied");
            Ok(())
        }
        Command::Keygen => {
            println!("{}", crate::crypto::Vault::generate_secret());
            Ok(())
        }
        Command::Health(command) => {
            init_logging("warn");
            health::run(&settings, command).await
        }
    }
}
