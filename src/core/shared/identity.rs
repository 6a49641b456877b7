//! Registration through the identity registry (issue 15 item 2), and the verified binding
//! every disclosure of health data needs.
//!
//! After the own-contact step and the IIN, [`submit`] asks the registry
//! (`crate::identity`) whether the phone belongs to the IIN:
//! - `match`: registered (`people.verified_at` set). When another person held the IIN, the
//!   binding moves: records stay with the IIN, the old person loses it and their chats are
//!   told why.
//! - `mismatch`: refused, with how to fix it; nothing stored but the attempt count.
//! - `unknown` or the registry unreachable: an `identity_pending` row; [`run_due`] retries
//!   with back-off for a day and tells the chat when it is settled. No status meanwhile.
//!
//! At most 5 IINs per chat per hour and 20 per day (`security::throttle::Scope::Iin`, the
//! same per-chat attempt counter as typed codes).
//! People registered before the registry existed have an IIN but no `verified_at`: [`gate`]
//! re-checks them on their next disclosure (status reply, check-in with a colour); change
//! notices go only to verified people (`status::notify`).

use crate::core::context::{Ctx, Prompt};
use crate::core::job::JobFuture;
use crate::core::shared::events::Happened;
use crate::core::shared::menu::menu_keyboard;
use crate::core::{Conversation, Core, CoreError, Keyboard, Outbound, State, chat_lang};
use crate::crypto::Field;
use crate::domain::{Iin, Lang, Phone};
use crate::i18n::Msg;
use crate::identity::Verdict;
use crate::security::throttle::{self, Scope};
use crate::storage::identity::{self as store, PendingRow};
use crate::storage::{ChatRef, Conn, Tx, conversations, people};

/// The least age to register.
pub const MIN_AGE: u32 = 18;

/// What runs when the background check binds an IIN (the composition root passes the
/// status watch's start, `status::on_registered`).
pub type OnBound =
    for<'a> fn(&'a Core, &'a mut Conn, i64, &'a [u8]) -> JobFuture<'a, Result<(), CoreError>>;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// How long an unanswered check is retried.
pub const RETRY_FOR_MS: i64 = DAY_MS;
const FIRST_RETRY_MS: i64 = 60_000;
const MAX_RETRY_GAP_MS: i64 = HOUR_MS;

/// The wait before try `tries + 1`: 1 minute, doubling, at most an hour.
pub fn backoff_ms(tries: i64) -> i64 {
    (FIRST_RETRY_MS << tries.clamp(0, 10)).min(MAX_RETRY_GAP_MS)
}

/// The registry's answer; a failure counts as `unknown` (logged without the numbers). An
/// answer fetched before the event's transaction ([`prefetch`]) is used once.
async fn ask(core: &Core, conn: &mut Conn, iin: &Iin, phone: &Phone) -> Result<Verdict, CoreError> {
    let key = (
        core.vault.lookup_hash(Field::Iin, &iin.expose()),
        core.vault.lookup_hash(Field::Phone, phone.expose()),
    );
    if let Some(v) = core.identity_prefetched.take(&key) {
        return Ok(v);
    }
    if core.identity.kind() == "table" {
        // The table is in this database: read in the event's transaction. A second
        // connection from the pool per registration, taken while the transaction holds
        // one, starved the pool under load (timeouts answered "unknown": people waited).
        // Current and (while a key rotation runs) previous key versions.
        let facts = store::pair_facts(
            conn,
            &core.vault.lookup_hashes(Field::Iin, &iin.expose()),
            &core.vault.lookup_hashes(Field::Phone, phone.expose()),
        )
        .await?;
        let v = crate::identity::table::verdict(facts);
        crate::ops::metrics::registry_lookup("table", v.as_str());
        return Ok(v);
    }
    Ok(fetch(core, iin, phone).await)
}

/// The registry's answer for `(iin, phone)` (a prefetched one first; a failure counts as
/// `unknown`): for features that ask without binding (an SMS status request).
pub async fn verdict(
    core: &Core,
    conn: &mut Conn,
    iin: &Iin,
    phone: &Phone,
) -> Result<Verdict, CoreError> {
    ask(core, conn, iin, phone).await
}

async fn fetch(core: &Core, iin: &Iin, phone: &Phone) -> Verdict {
    let registry = core.identity.kind();
    match core.identity.check(iin, phone).await {
        Ok(v) => {
            crate::ops::metrics::registry_lookup(registry, v.as_str());
            v
        }
        Err(e) => {
            crate::ops::metrics::registry_lookup(registry, "error");
            tracing::warn!(registry, error = %e, "identity registry did not answer");
            Verdict::Unknown
        }
    }
}

/// How long a prefetched answer may wait for its transaction.
const PREFETCH_TTL: std::time::Duration = std::time::Duration::from_secs(60);
/// At most this many prefetched answers are kept (older ones are dropped first).
const PREFETCH_MAX: usize = 10_000;

/// `(IIN hash, phone hash)`.
type PairKey = (Vec<u8>, Vec<u8>);

/// Answers of a remote registry fetched before the event's transaction, keyed by the keyed
/// hashes of IIN and phone, so no database lock is held while the network is asked.
#[derive(Debug, Default)]
pub struct Prefetched(
    std::sync::Mutex<std::collections::HashMap<PairKey, (Verdict, std::time::Instant)>>,
);

impl Prefetched {
    fn put(&self, key: PairKey, v: Verdict) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= PREFETCH_MAX {
            map.retain(|_, (_, at)| at.elapsed() < PREFETCH_TTL);
            if map.len() >= PREFETCH_MAX {
                map.clear();
            }
        }
        map.insert(key, (v, std::time::Instant::now()));
    }

    fn take(&self, key: &PairKey) -> Option<Verdict> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key)
            .filter(|(_, at)| at.elapsed() < PREFETCH_TTL)
            .map(|(v, _)| v)
    }
}

/// Before `Core::handle` opens its transaction: when the registry is remote and the event is
/// an IIN typed at the IIN step (within the limits), asks the registry now, so the
/// transaction (a write lock on SQLite) never waits for the network. The table registry is
/// a database read and is asked inside the transaction.
pub(crate) async fn prefetch(core: &Core, inbound: &crate::core::Inbound) {
    if core.identity.kind() == "table" {
        return;
    }
    let crate::core::Event::Text(text) = &inbound.event else {
        return;
    };
    if core.channels.keywords(&inbound.chat.channel) {
        // `STATUS <IIN>` by SMS: the registry is asked about the sender's number.
        if let super::keyword::Keyword::Status(Some(iin)) = super::keyword::Keyword::parse(text) {
            prefetch_for_number(core, &inbound.chat, &iin).await;
        }
        return;
    }
    let Ok(iin) = Iin::parse(text) else {
        return;
    };
    let today = core
        .clock
        .now()
        .with_timezone(&crate::clock::almaty())
        .date_naive();
    if iin.birth_date() > today || iin.age_on(today) < MIN_AGE {
        return;
    }
    let Ok(mut conn) = core.store.pool().acquire().await else {
        return;
    };
    let Ok(Some(row)) = conversations::load(&mut conn, &inbound.chat).await else {
        return;
    };
    let waiting = matches!(
        serde_json::from_str::<State>(&row.state),
        Ok(State::Iin | State::IdentityPending)
    );
    let Some(person) = row.person_id.filter(|_| waiting) else {
        return;
    };
    let now = core.now_ms();
    if !matches!(
        throttle::exceeded(&mut conn, Scope::Iin, &inbound.chat, now).await,
        Ok(None)
    ) {
        return;
    }
    let Ok(Some(phone)) = phone_of(core, &mut conn, person).await else {
        return;
    };
    drop(conn);
    let v = fetch(core, &iin, &phone).await;
    core.identity_prefetched.put(
        (
            core.vault.lookup_hash(Field::Iin, &iin.expose()),
            core.vault.lookup_hash(Field::Phone, phone.expose()),
        ),
        v,
    );
}

async fn prefetch_for_number(core: &Core, chat: &ChatRef, iin: &Iin) {
    let Ok(mut conn) = core.store.pool().acquire().await else {
        return;
    };
    let Ok(Some(sealed)) = crate::storage::wallet::sms_number(&mut conn, &chat.chat_id).await
    else {
        return;
    };
    drop(conn);
    let Ok(plain) = core.vault.open(Field::Phone, &sealed) else {
        return;
    };
    let Ok(phone) = Phone::parse(&plain) else {
        return;
    };
    let v = fetch(core, iin, &phone).await;
    core.identity_prefetched.put(
        (
            core.vault.lookup_hash(Field::Iin, &iin.expose()),
            core.vault.lookup_hash(Field::Phone, phone.expose()),
        ),
        v,
    );
}

fn reply(lang: Lang, msg: Msg) -> Outbound {
    Outbound::reply(lang, msg)
}

/// The person's phone, opened from its sealed value.
async fn phone_of(
    core: &Core,
    conn: &mut Conn,
    person_id: i64,
) -> Result<Option<Phone>, CoreError> {
    let Some(p) = people::get(conn, person_id).await? else {
        return Ok(None);
    };
    let plain = core.vault.open(Field::Phone, &p.phone_enc)?;
    Ok(Phone::parse(&plain).ok())
}

/// A valid adult IIN typed at the IIN step (or while a check waits). The caller checked
/// the IIN's form and age and that the conversation has a person (the phone step).
pub async fn submit(ctx: &mut Ctx<'_>, person: i64, iin: &Iin) -> Result<Vec<Outbound>, CoreError> {
    let (core, chat, lang) = (ctx.core, ctx.chat, ctx.lang);
    let now = core.now_ms();
    if let Some(limit) = throttle::exceeded(ctx.tx, Scope::Iin, chat, now).await? {
        return Ok(vec![reply(
            lang,
            Msg::new("identity-too-many")
                .num("limit", limit.max)
                .arg("period", limit.period),
        )]);
    }
    throttle::record(ctx.tx, Scope::Iin, chat, now).await?;
    let Some(phone) = phone_of(core, ctx.tx, person).await? else {
        ctx.conv.state = State::Phone { consent_at_ms: now };
        return Ok(vec![ctx.prompt()]);
    };
    // A new IIN replaces a check still waiting.
    store::delete_pending(ctx.tx, person).await?;
    // While a key rotation runs, this IIN's and phone's rows move to the current version
    // first, so the look-ups below find them (security::keys).
    crate::security::keys::settle(ctx.tx, &core.vault, Field::Iin, &iin.expose()).await?;
    crate::security::keys::settle(ctx.tx, &core.vault, Field::Phone, phone.expose()).await?;
    let hash = core.vault.lookup_hash(Field::Iin, &iin.expose());
    match ask(core, ctx.tx, iin, &phone).await? {
        Verdict::Match => {
            if !bind(
                core,
                ctx.tx,
                person,
                &hash,
                &core.vault.seal(Field::Iin, &iin.expose()),
            )
            .await?
            {
                return wait(core, ctx.tx, ctx.conv, chat, lang, person, iin, &hash).await;
            }
            ctx.conv.state = State::Menu;
            // The status watch starts and a check-in that waited completes (listeners).
            ctx.happened.push(Happened::Registered {
                person_id: person,
                iin_hash: hash,
            });
            Ok(vec![
                reply(lang, Msg::new("registered")).with_keyboard(menu_keyboard()),
            ])
        }
        Verdict::Mismatch => {
            ctx.conv.state = State::Iin;
            Ok(vec![reply(lang, Msg::new("identity-mismatch"))])
        }
        Verdict::Unknown => wait(core, ctx.tx, ctx.conv, chat, lang, person, iin, &hash).await,
    }
}

/// Starts waiting for the registry.
#[allow(clippy::too_many_arguments)]
async fn wait(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
    person: i64,
    iin: &Iin,
    hash: &[u8],
) -> Result<Vec<Outbound>, CoreError> {
    let now = core.now_ms();
    store::put_pending(
        tx,
        &PendingRow {
            person_id: person,
            iin_hash: hash.to_vec(),
            iin_enc: core.vault.seal(Field::Iin, &iin.expose()),
            channel: chat.channel.clone(),
            chat_id: chat.chat_id.clone(),
            tries: 0,
            next_at: now + backoff_ms(0),
            deadline_at: now + RETRY_FOR_MS,
            created_at: now,
        },
    )
    .await?;
    conv.state = State::IdentityPending;
    Ok(vec![
        reply(lang, Msg::new("identity-pending")).with_keyboard(Keyboard::Remove),
    ])
}

/// Binds a registry-confirmed IIN to `person`, moving it from whoever held it (their chats
/// are told and go back to the IIN step). `false` when a concurrent registration won the
/// unique index (the caller waits and retries).
async fn bind(
    core: &Core,
    tx: &mut Tx,
    person: i64,
    hash: &[u8],
    sealed: &[u8],
) -> Result<bool, CoreError> {
    let now = core.now_ms();
    if let Some(owner) = people::find_by_iin_hash(tx, hash).await?
        && owner != person
    {
        store::unbind(tx, owner).await?;
        for chat in store::chats_of(tx, owner).await? {
            let lang = chat_lang(tx, &chat).await?;
            back_to_iin_step(tx, &chat, now).await?;
            let notice = Outbound::to_chat(chat.clone(), lang, Msg::new("identity-binding-moved"))
                .with_keyboard(Keyboard::Remove);
            let key = format!(
                "identity-moved:{owner}:{person}:{now}:{}:{}",
                chat.channel, chat.chat_id
            );
            core.enqueue(tx, &chat, &notice, Some(&key), None).await?;
        }
        tracing::info!(
            from = owner,
            to = person,
            "IIN binding moved after the registry confirmed the new owner"
        );
    }
    if people::set_iin(tx, person, hash, sealed, now)
        .await?
        .is_err()
    {
        return Ok(false);
    }
    store::set_verified(tx, person, now).await?;
    Ok(true)
}

/// Puts another chat's conversation back at the IIN step (its person lost the IIN).
async fn back_to_iin_step(conn: &mut Conn, chat: &ChatRef, now: i64) -> Result<(), CoreError> {
    if let Some(mut row) = conversations::load(conn, chat).await? {
        let state: State = serde_json::from_str(&row.state).unwrap_or_default();
        if !(state.is_support() || matches!(state, State::Business { .. })) {
            row.state =
                serde_json::to_string(&State::Iin).map_err(crate::storage::StoreError::from)?;
            conversations::save(conn, chat, &row, now).await?;
        }
    }
    Ok(())
}

/// Before health data is shown to the conversation's person: `None` when their binding is
/// verified (or was just verified now, for people registered before the registry);
/// otherwise the replies to send instead, and nothing is disclosed.
pub async fn gate(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
    prompt: Prompt,
) -> Result<Option<Vec<Outbound>>, CoreError> {
    let Some(person_id) = conv.person_id else {
        return Ok(None);
    };
    let Some(person) = people::get(tx, person_id).await? else {
        return Ok(None);
    };
    if person.verified_at.is_some() {
        return Ok(None);
    }
    let (Some(iin_hash), Some(iin_enc)) = (person.iin_hash, person.iin_enc) else {
        return Ok(Some(vec![reply(lang, Msg::new("identity-pending-wait"))]));
    };
    let iin = Iin::parse(&core.vault.open(Field::Iin, &iin_enc)?);
    let phone = Phone::parse(&core.vault.open(Field::Phone, &person.phone_enc)?);
    let (Ok(iin), Ok(phone)) = (iin, phone) else {
        store::unbind(tx, person_id).await?;
        conv.state = State::Iin;
        return Ok(Some(vec![prompt(&conv.state, lang)]));
    };
    crate::security::keys::settle(tx, &core.vault, Field::Iin, &iin.expose()).await?;
    crate::security::keys::settle(tx, &core.vault, Field::Phone, phone.expose()).await?;
    // The table is a read: asked here. A remote registry is never asked inside the event's
    // transaction: the person waits and the background job asks (`run_due`).
    let verdict = if core.identity.kind() == "table" {
        ask(core, tx, &iin, &phone).await?
    } else {
        Verdict::Unknown
    };
    match verdict {
        Verdict::Match => {
            store::set_verified(tx, person_id, core.now_ms()).await?;
            Ok(None)
        }
        Verdict::Mismatch => {
            store::unbind(tx, person_id).await?;
            conv.state = State::Iin;
            Ok(Some(vec![
                reply(lang, Msg::new("identity-recheck-mismatch")),
                prompt(&conv.state, lang),
            ]))
        }
        Verdict::Unknown => {
            store::unbind(tx, person_id).await?;
            let mut out = vec![reply(lang, Msg::new("identity-recheck"))];
            out.extend(wait(core, tx, conv, chat, lang, person_id, &iin, &iin_hash).await?);
            Ok(Some(out))
        }
    }
}

/// The prompt while a check waits.
pub fn pending_prompt(lang: Lang) -> Outbound {
    reply(lang, Msg::new("identity-pending-wait"))
}

/// One pass of the background check: every waiting registration that is due asks the
/// registry again; a settled one is told to its chat (through the outbox), an unsettled one
/// moves on by [`backoff_ms`], and one a day old is given up (the person is asked to send
/// the IIN again). Safe to run twice and after a restart. Returns how many were settled.
pub async fn run_due_with(core: &Core, now_ms: i64, on_bound: OnBound) -> Result<usize, CoreError> {
    let mut settled = 0;
    let due = {
        let mut conn = core
            .store
            .pool()
            .acquire()
            .await
            .map_err(crate::storage::StoreError::from)?;
        store::pending_due(&mut conn, now_ms, 100).await?
    };
    for row in due {
        // The registry is asked outside any transaction.
        let verdict = {
            let mut conn = core
                .store
                .pool()
                .acquire()
                .await
                .map_err(crate::storage::StoreError::from)?;
            let phone = phone_of(core, &mut conn, row.person_id).await?;
            let iin = Iin::parse(&core.vault.open(Field::Iin, &row.iin_enc)?).ok();
            match (iin, phone) {
                (Some(iin), Some(phone)) => Some(fetch(core, &iin, &phone).await),
                _ => None,
            }
        };
        let mut tx = core.store.begin().await?;
        // Still the same wait (not replaced by a new IIN or forgotten meanwhile)?
        if store::pending(&mut tx, row.person_id).await?.as_ref() != Some(&row) {
            tx.rollback().await?;
            continue;
        }
        let chat = row.chat();
        let lang = chat_lang(&mut tx, &chat).await?;
        let now = core.now_ms();
        let message = match verdict {
            Some(Verdict::Match) => {
                // In the current key version (a rotation may have started since the wait).
                let (hash, enc) = match Iin::parse(&core.vault.open(Field::Iin, &row.iin_enc)?) {
                    Ok(iin) => {
                        let plain = iin.expose();
                        crate::security::keys::settle(&mut tx, &core.vault, Field::Iin, &plain)
                            .await?;
                        (
                            core.vault.lookup_hash(Field::Iin, &plain),
                            core.vault.seal(Field::Iin, &plain),
                        )
                    }
                    Err(_) => (row.iin_hash.clone(), row.iin_enc.clone()),
                };
                let bound = bind(core, &mut tx, row.person_id, &hash, &enc).await?;
                if bound {
                    on_bound(core, &mut tx, row.person_id, &hash).await?;
                    store::delete_pending(&mut tx, row.person_id).await?;
                    set_state(&mut tx, &chat, row.person_id, State::Menu, now).await?;
                    Some(
                        Outbound::to_chat(chat.clone(), lang, Msg::new("identity-confirmed"))
                            .with_keyboard(menu_keyboard()),
                    )
                } else {
                    store::reschedule(
                        &mut tx,
                        row.person_id,
                        row.tries + 1,
                        now + backoff_ms(row.tries + 1),
                    )
                    .await?;
                    None
                }
            }
            Some(Verdict::Mismatch) | None => {
                store::delete_pending(&mut tx, row.person_id).await?;
                set_state(&mut tx, &chat, row.person_id, State::Iin, now).await?;
                Some(Outbound::to_chat(
                    chat.clone(),
                    lang,
                    Msg::new("identity-mismatch"),
                ))
            }
            Some(Verdict::Unknown) if now >= row.deadline_at => {
                store::delete_pending(&mut tx, row.person_id).await?;
                set_state(&mut tx, &chat, row.person_id, State::Iin, now).await?;
                Some(Outbound::to_chat(
                    chat.clone(),
                    lang,
                    Msg::new("identity-gave-up"),
                ))
            }
            Some(Verdict::Unknown) => {
                store::reschedule(
                    &mut tx,
                    row.person_id,
                    row.tries + 1,
                    now + backoff_ms(row.tries + 1),
                )
                .await?;
                None
            }
        };
        if let Some(message) = message {
            let key = format!(
                "identity-settled:{}:{}:{}",
                row.person_id,
                row.created_at,
                message.text.key()
            );
            core.enqueue(&mut tx, &chat, &message, Some(&key), None)
                .await?;
            settled += 1;
        }
        tx.commit().await?;
    }
    if settled > 0 {
        core.outbox_ready.notify_waiters();
    }
    Ok(settled)
}

/// Moves the waiting chat on, if it still belongs to the person and still waits.
async fn set_state(
    conn: &mut Conn,
    chat: &ChatRef,
    person: i64,
    state: State,
    now: i64,
) -> Result<(), CoreError> {
    if let Some(mut row) = conversations::load(conn, chat).await?
        && row.person_id == Some(person)
        && serde_json::from_str::<State>(&row.state).ok() == Some(State::IdentityPending)
    {
        row.state = serde_json::to_string(&state).map_err(crate::storage::StoreError::from)?;
        conversations::save(conn, chat, &row, now).await?;
    }
    Ok(())
}

/// `ashyq serve` at start: a warning while the table registry has no pair (nobody could
/// register). Returns whether it warned.
pub async fn warn_if_empty(core: &Core) -> bool {
    if core.identity.kind() != "table" {
        return false;
    }
    let count = match core.store.pool().acquire().await {
        Ok(mut conn) => store::count_pairs(&mut conn).await.ok(),
        Err(_) => None,
    };
    if count == Some(0) {
        tracing::warn!(
            "the identity table is empty: nobody can complete registration. Feed it with `ashyq identity import FILE.csv` or POST /api/v1/identity (README, \"Identity registry\"), or set IDENTITY_REGISTRY=http"
        );
    }
    count == Some(0)
}

/// Issue 15 item 3: an activation or a reissue of a voucher is also told by SMS to the
/// parent's phone on the list, so a parent learns when someone else did it. Queued in the
/// action's transaction, once per voucher and QR generation.
pub async fn voucher_sms(
    core: &Core,
    tx: &mut Tx,
    voucher: &crate::storage::wallet::VoucherRow,
    what: &str,
    generation: i64,
) -> Result<(), CoreError> {
    let Some((hash, sealed)) = store::parent_phone_of_pupil(tx, voucher.pupil_id).await? else {
        return Ok(());
    };
    let chat = ChatRef::new(&core.channels.phone_channel, hex::encode(&hash));
    crate::storage::wallet::put_sms_number(tx, &chat.chat_id, &sealed, core.now_ms()).await?;
    let child = Iin::parse(&core.vault.open(Field::Iin, &voucher.pupil_enc)?)
        .map(|i| i.masked())
        .unwrap_or_default();
    let key = if what == "reissued" {
        "identity-sms-voucher-reissued"
    } else {
        "identity-sms-voucher-activated"
    };
    let message = Outbound::to_chat(
        chat.clone(),
        Lang::Kk,
        Msg::new(key)
            .arg("child", child)
            .arg("school", voucher.school_name.clone()),
    );
    let dedupe = format!("wallet-sms:{what}:{}:{generation}", voucher.id);
    core.enqueue(tx, &chat, &message, Some(&dedupe), None)
        .await?;
    Ok(())
}

/// A verified parent acting on an active voucher whose activating chat is no longer the
/// parent's (its binding moved): the meal notices come to this chat from now on. Between two
/// chats that both qualify nothing moves.
pub async fn claim_notices(
    vault: &crate::crypto::Vault,
    tx: &mut Tx,
    voucher: &crate::storage::wallet::VoucherRow,
    chat: &ChatRef,
) -> Result<(), CoreError> {
    let current = ChatRef::new(&voucher.channel, voucher.chat_id.clone());
    if &current == chat || store::chat_is_parent(tx, vault, &current, voucher.pupil_id).await? {
        return Ok(());
    }
    store::move_voucher_chat(tx, voucher.id, chat).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_an_hour_and_a_day_has_a_bounded_number_of_tries() {
        assert_eq!(backoff_ms(0), 60_000);
        assert_eq!(backoff_ms(1), 120_000);
        assert_eq!(backoff_ms(6), HOUR_MS);
        assert_eq!(backoff_ms(60), HOUR_MS);
        let mut t = 0;
        let mut tries = 0;
        while t < RETRY_FOR_MS {
            t += backoff_ms(tries);
            tries += 1;
        }
        assert!((25..=35).contains(&tries), "{tries} tries in a day");
    }
}
