//! Ashyq: venue check-in, Social Wallet vouchers and support in one messenger-neutral bot.
//!
//! Layers (see docs/ARCHITECTURE.md): `domain` (parsing newtypes) and `clock`/`crypto`
//! underneath; `storage` over sqlx; `core` (conversations and rules, no messenger);
//! `i18n` (Fluent texts); `adapters` (Telegram, terminal) and `http` at the edge;
//! `app` wires them for the CLI in `main.rs`.

pub mod adapters;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod crypto;
pub mod delivery;
pub mod domain;
pub mod http;
pub mod i18n;
pub mod identity;
pub mod leader;
pub mod ops;
pub mod pace;
pub mod qr;
pub mod security;
pub mod status;
pub mod storage;
