//! The integration tests: one binary, one module per area, sharing `support` (a fresh
//! database per test on SQLite and, with `TEST_POSTGRES_URL`, on PostgreSQL; fake Bot API).

#[macro_use]
mod support;

mod aitu;
mod business;
mod business_cli;
mod checkin;
mod checkin_cli;
mod clubs;
mod conversation;
mod exposure;
mod family;
mod health;
mod http;
mod identity;
mod keys;
mod locales;
mod migrations;
mod poster_page;
mod prescriptions;
mod prescriptions_cli;
mod privacy;
mod privacy_wallet;
mod qr_dev_set;
mod replicas;
mod replicas_proof;
mod security;
mod security_http;
mod sms;
mod status_cache;
mod storage;
mod support_desk;
mod support_telegram;
mod telegram;
mod telegram_business;
mod telegram_checkin;
mod vouchers;
mod wallet;
mod wallet_cli;
mod wallet_engine;
mod wallet_telegram;
mod webhook;
