//! Canteens: operators joining by invitation, redemption by photo or typed code, `/menu`, the parent's meal notice.

use super::*;
use crate::security::throttle::{self, Scope};

/// What a redemption attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    Granted {
        meal_id: i64,
        grade: i64,
        child: String,
        school: String,
    },
    /// The child already ate today (at `at_ms`).
    AlreadyToday { at_ms: i64 },
    /// Not activated, or the school year is over.
    NotEligible,
    /// The voucher or this code of it was revoked.
    Revoked,
    /// A code of a pupil of another school.
    AnotherSchool { school: String },
    /// A code of an earlier day (a screenshot).
    Stale,
    /// Not a valid meal code.
    Invalid,
    /// Weekend, holiday or vacation.
    NotSchoolDay,
    /// The chat is not a canteen operator.
    NotOperator,
    /// Too many invalid codes from this operator in the last hour (`security::throttle`).
    TooManyAttempts,
}

impl Redemption {
    pub fn outcome(&self) -> &'static str {
        match self {
            Redemption::Granted { .. } => "granted",
            Redemption::AlreadyToday { .. } => "already_today",
            Redemption::NotEligible => "not_eligible",
            Redemption::Revoked => "revoked",
            Redemption::AnotherSchool { .. } => "another_school",
            Redemption::Stale => "stale",
            Redemption::Invalid => "invalid",
            Redemption::NotSchoolDay => "not_school_day",
            Redemption::NotOperator => "not_operator",
            Redemption::TooManyAttempts => "throttled",
        }
    }

    /// The canteen's answer.
    pub fn msg(&self) -> Msg {
        match self {
            Redemption::Granted {
                grade,
                child,
                school,
                ..
            } => Msg::new("wallet-redeem-granted")
                .num("grade", *grade)
                .arg("child", child.clone())
                .arg("school", school.clone()),
            Redemption::AlreadyToday { at_ms } => {
                Msg::new("wallet-redeem-already").arg("time", local_time(*at_ms))
            }
            Redemption::NotEligible => Msg::new("wallet-redeem-not-eligible"),
            Redemption::Revoked => Msg::new("wallet-redeem-revoked"),
            Redemption::AnotherSchool { school } => {
                Msg::new("wallet-redeem-other-school").arg("school", school.clone())
            }
            Redemption::Stale => Msg::new("wallet-redeem-stale"),
            Redemption::Invalid => Msg::new("wallet-redeem-invalid"),
            Redemption::NotSchoolDay => Msg::new("wallet-redeem-no-school-day"),
            Redemption::NotOperator => Msg::new("wallet-redeem-not-operator"),
            Redemption::TooManyAttempts => Msg::new("security-code-attempts"),
        }
    }
}

/// Redeems one meal code (the QR's text or the typed short code) for a canteen operator's
/// chat, in its own transaction: the one redemption path, also for benchmarks.
pub async fn redeem(core: &Core, operator: &ChatRef, code: &str) -> Result<Redemption, CoreError> {
    let mut tx = core.store.begin().await?;
    let r = redeem_in(core, &mut tx, operator, code).await?;
    tx.commit().await?;
    core.outbox_ready.notify_waiters();
    Ok(r)
}

/// How a presented code relates to its voucher.
pub(super) enum Check {
    Current,
    Revoked,
    Stale,
    Invalid,
}

/// The redemption inside the caller's transaction. A refusal writes only its audit line; a
/// meal writes the meal (UNIQUE per pupil and day), its ledger entry and the parent's notice.
pub async fn redeem_in(
    core: &Core,
    tx: &mut Tx,
    operator: &ChatRef,
    code: &str,
) -> Result<Redemption, CoreError> {
    let now = core.now_ms();
    let today = today(core);
    let keys = MealKeys::new(core.vault.signing_key());
    let refuse = |r: Redemption, voucher: Option<i64>, school: Option<i64>| (r, voucher, school);
    let result = 'decide: {
        let schools = store::canteen_schools(tx, operator).await?;
        if schools.is_empty() {
            break 'decide refuse(Redemption::NotOperator, None, None);
        }
        if throttle::exceeded(tx, Scope::MealCode, operator, now)
            .await?
            .is_some()
        {
            break 'decide refuse(Redemption::TooManyAttempts, None, None);
        }
        let token = keys.verify(code);
        let short = token::parse_short_code(code);
        let voucher_id = match (&token, &short) {
            (Some(t), _) => t.voucher_id,
            (None, Some((_, id))) => *id,
            _ => break 'decide refuse(Redemption::Invalid, None, None),
        };
        let Some(v) = store::voucher(tx, voucher_id).await? else {
            break 'decide refuse(Redemption::Invalid, None, None);
        };
        let check = match (&token, &short) {
            (Some(t), _) if t.generation != v.generation => Check::Revoked,
            (Some(t), _) if t.day < today => Check::Stale,
            (Some(t), _) if t.day > today => Check::Invalid,
            (Some(_), _) => Check::Current,
            (None, Some((canonical, _))) => {
                let at = |generation, day| MealToken {
                    voucher_id,
                    generation,
                    day,
                };
                if keys.short_code_matches(canonical, &at(v.generation, today)) {
                    Check::Current
                } else if (1..v.generation)
                    .any(|g| keys.short_code_matches(canonical, &at(g, today)))
                {
                    Check::Revoked
                } else if (1..=7)
                    .filter_map(|d| today.checked_sub_days(chrono::Days::new(d)))
                    .any(|d| keys.short_code_matches(canonical, &at(v.generation, d)))
                {
                    Check::Stale
                } else {
                    Check::Invalid
                }
            }
            (None, None) => Check::Invalid,
        };
        if matches!(check, Check::Invalid) {
            break 'decide refuse(Redemption::Invalid, Some(v.id), None);
        }
        let ids = (Some(v.id), Some(v.school_id));
        if !schools.iter().any(|s| s.id == v.school_id) {
            break 'decide refuse(
                Redemption::AnotherSchool {
                    school: v.school_name.clone(),
                },
                ids.0,
                ids.1,
            );
        }
        if v.revoked_at.is_some() || matches!(check, Check::Revoked) {
            break 'decide refuse(Redemption::Revoked, ids.0, ids.1);
        }
        if matches!(check, Check::Stale) {
            break 'decide refuse(Redemption::Stale, ids.0, ids.1);
        }
        if v.activated_at.is_none() || now >= v.valid_until {
            break 'decide refuse(Redemption::NotEligible, ids.0, ids.1);
        }
        if !token::is_school_day(today, &core.wallet.holidays) {
            break 'decide refuse(Redemption::NotSchoolDay, ids.0, ids.1);
        }
        let day = day_str(today);
        let Some(meal_id) =
            store::insert_meal(tx, v.id, v.pupil_id, v.school_id, &day, operator, now).await?
        else {
            let at_ms = store::meal_time(tx, v.pupil_id, &day).await?.unwrap_or(now);
            break 'decide refuse(Redemption::AlreadyToday { at_ms }, ids.0, ids.1);
        };
        notify_parent(core, tx, &v, meal_id, &day, now).await?;
        // The ledger append locks the ledger's head row until commit (appends are serial):
        // it comes last, so that lock is held as briefly as possible.
        ledger::append(
            tx,
            Kind::Redemption,
            &Entry {
                voucher_id: Some(v.id),
                pupil_id: Some(v.pupil_id),
                meal_id: Some(meal_id),
                school_bin: Some(&v.school_bin),
                supplier_bin: v.supplier_bin.as_deref(),
                day: Some(&day),
                ..Default::default()
            },
            now,
        )
        .await?;
        return Ok(Redemption::Granted {
            meal_id,
            grade: v.grade,
            child: child(core, &v.pupil_enc)?,
            school: v.school_name,
        });
    };
    let (r, voucher, school) = result;
    if matches!(r, Redemption::Invalid) {
        throttle::record(tx, Scope::MealCode, operator, now).await?;
    }
    audit(
        core,
        tx,
        "redeem",
        r.outcome(),
        operator,
        (None, voucher, school),
    )
    .await?;
    Ok(r)
}

/// The parent's notice of a meal, with the rating buttons, queued in the meal's transaction.
pub(super) async fn notify_parent(
    core: &Core,
    tx: &mut Tx,
    v: &VoucherRow,
    meal_id: i64,
    day: &str,
    now: i64,
) -> Result<(), CoreError> {
    let to = ChatRef::new(&v.channel, v.chat_id.clone());
    // Only while the activating chat is still the parent's (core::shared::identity).
    if !crate::storage::identity::chat_is_parent(tx, &core.vault, &to, v.pupil_id).await? {
        return Ok(());
    }
    let lang = crate::core::chat_lang(tx, &to).await?;
    let menu = store::menu(tx, v.school_id, day)
        .await?
        .unwrap_or_else(|| "—".into());
    let stars = (1..=5)
        .map(|n| {
            button(
                Label::Literal(format!("{n}⭐")),
                WalletButton::Rate {
                    meal: meal_id,
                    rating: n as i64,
                },
            )
        })
        .collect();
    let notice = Outbound::to_chat(
        to.clone(),
        lang,
        Msg::new("wallet-meal-notice")
            .arg("child", child(core, &v.pupil_enc)?)
            .arg("time", local_time(now))
            .arg("school", v.school_name.clone())
            .arg("menu", menu),
    )
    .with_keyboard(Keyboard::Inline(vec![stars]));
    core.enqueue(
        tx,
        &to,
        &notice,
        Some(&format!("wallet-meal:{meal_id}")),
        None,
    )
    .await?;
    Ok(())
}

/// An operator joins a provider by its one-time invite: a school's canteen (`/start cnt_…`)
/// or a pharmacy or club (`/start prv_…`), through the voucher engine
/// (`vouchers::providers::join`). A used, expired or unknown invite writes only its audit
/// line.
pub(super) async fn join_provider(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    lang: Lang,
    secret: &str,
    canteen_link: bool,
) -> Result<Vec<Outbound>, CoreError> {
    use crate::core::vouchers::providers::Joined;
    use crate::core::vouchers::{ProviderKind, providers};
    let now = core.now_ms();
    let Some(joined) = providers::join(tx, chat, secret, now).await? else {
        let (action, key) = if canteen_link {
            ("canteen_join", "canteen-invite-invalid")
        } else {
            ("provider_join", "voucher-provider-invite-invalid")
        };
        audit(core, tx, action, "invalid_invite", chat, (None, None, None)).await?;
        return Ok(reply(lang, Msg::new(key)));
    };
    let p = match joined {
        Joined::Joined(p) => p,
        // Refusals roll back the invite's use: it stays unused for the right person.
        Joined::Already(p) => {
            return Err(CoreError::Refused(
                Msg::new("voucher-provider-already-operator").arg("provider", p.name),
            ));
        }
        Joined::OperatesElsewhere { invited, current } => {
            return Err(CoreError::Refused(
                Msg::new("voucher-provider-operates-elsewhere")
                    .arg("provider", invited.name)
                    .arg("current", current.name),
            ));
        }
    };
    if providers::kind_of(&p) == Some(ProviderKind::Canteen) {
        let name = store::school_by_bin(tx, &p.bin)
            .await?
            .map_or(p.name, |s| s.name);
        return Ok(reply(
            lang,
            Msg::new("canteen-invite-accepted").arg("school", name),
        ));
    }
    Ok(reply(
        lang,
        Msg::new("voucher-provider-joined")
            .arg("provider", p.name)
            .arg("kind", p.kind),
    ))
}

pub(super) async fn menu(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    lang: Lang,
    arg: &str,
) -> Result<Vec<Outbound>, CoreError> {
    let schools = store::canteen_schools(tx, chat).await?;
    let Some(school) = schools.first() else {
        audit(core, tx, "menu", "not_operator", chat, (None, None, None)).await?;
        return Ok(reply(lang, Msg::new("canteen-only")));
    };
    let day = day_str(today(core));
    let text = arg.trim();
    if text.is_empty() {
        return Ok(reply(
            lang,
            match store::menu(tx, school.id, &day).await? {
                Some(m) => Msg::new("wallet-menu-today")
                    .arg("school", school.name.clone())
                    .arg("menu", m),
                None => Msg::new("wallet-menu-none").arg("school", school.name.clone()),
            },
        ));
    }
    if text.chars().count() > MAX_MENU_CHARS {
        return Ok(reply(
            lang,
            Msg::new("hint-too-long").num("max", MAX_MENU_CHARS as i64),
        ));
    }
    store::set_menu(tx, school.id, &day, text, core.now_ms()).await?;
    Ok(reply(
        lang,
        Msg::new("wallet-menu-set")
            .arg("school", school.name.clone())
            .date_of("date", core.now_ms())
            .arg("menu", text),
    ))
}
