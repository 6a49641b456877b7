//! The colour status rules engine: a pure function of a person's records and an
//! instant. No I/O, no clock: the caller passes `now`.
//!
//! # Rules (domain.md, "Ashyq: statuses")
//!
//! All calendar arithmetic is in Asia/Almaty local time, fixed UTC+5 ([`ALMATY`]).
//! A period of N days counted from a record dated D ends at 00:00 local on D+N.
//! Every period is half-open: `[start, end)`. At exactly `end` it is over.
//!
//! * **Red**: each positive PCR result gives red from its `result_at` until 00:00 on
//!   D+14, D = local date of `taken_at`. Overlapping red periods join, so a later
//!   positive restarts the 14 days. A negative result does not lift red.
//! * **Yellow**: each contact gives yellow from 00:00 on the contact date C until
//!   00:00 on C+14. A negative result does not lift yellow.
//! * **Green**: each negative PCR result gives green for 72 hours from its
//!   `result_at`, *unless* the local date of its `taken_at` lies within the days
//!   of a red or yellow period (`D ..= D+13` of a positive, `C ..= C+13` of a
//!   contact). A negative sampled on the last day of isolation gives no green; one
//!   sampled the next day does.
//! * **Blue**: no active period.
//! * The most severe active colour wins: red > yellow > green > blue.
//! * A withdrawn result is ignored entirely, as if never sent (it neither colours
//!   nor blocks green).
//!
//! # Decisions where domain.md is silent
//!
//! * **What is known at `now`.** A record exists from its effective time: a PCR
//!   result from its `result_at`, a contact from 00:00 of its contact date. Records
//!   whose effective time is after `now` are ignored by [`evaluate`], also for
//!   blocking green. So the function may be called on everything in storage.
//! * **Late or out-of-order records.** The input order never matters. There is no
//!   separate "arrived at" time, so a record that reaches us late still counts
//!   from its effective time: a contact recorded days after its date makes the
//!   person yellow since 00:00 of that date, and takes away a green given by a
//!   negative sampled within its 14 days. An older positive whose result arrives
//!   after a newer one does not shorten red (periods join; the end is the latest).
//! * **A positive whose result arrives after its 14 days** never turns the person
//!   red (its period is empty), but its 14 days still block green.
//! * **`since`** is the start of the uninterrupted stretch of the current colour
//!   that contains `now`, where the colour at each past instant `t` is what
//!   [`evaluate`] returns for `t` on the same records (records known at `t`). Red
//!   restarted by a later positive keeps its original `since`; yellow that shows
//!   once an overlapping red ends is yellow since that end. Blue is blue since the
//!   end of the last non-blue stretch, or `None` if the person was never anything
//!   but blue.
//! * **`until`** is the instant the current colour stops by itself, given only the
//!   records known at `now`; the next colour may be blue or, when periods overlap,
//!   a less severe one. Blue has no `until`.
//! * **Cause** is the record behind the active period of the winning colour that
//!   runs longest (the latest positive sample date for red, the latest contact
//!   date for yellow, the latest negative result for green); its date is the local
//!   sample date or the contact date. Blue has cause [`CauseKind::None`] and no date.
//! * **[`next_change`]** also sees records that become effective after `now` (a
//!   stored result with a future `result_at`, a future-dated contact), so a
//!   scheduler that wakes up then and re-evaluates can send a change notice.
//! * Records are not validated here (e.g. `result_at < taken_at`); that is the
//!   ingestion's job. Date arithmetic saturates at chrono's limits instead of
//!   panicking.

use chrono::{DateTime, Days, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Asia/Almaty offset from UTC in seconds (UTC+5, no daylight saving).
pub const ALMATY_OFFSET_SECS: i32 = 5 * 3600;

/// Asia/Almaty as a fixed offset, UTC+5.
pub const ALMATY: FixedOffset = match FixedOffset::east_opt(ALMATY_OFFSET_SECS) {
    Some(offset) => offset,
    None => panic!("UTC+5 is a valid offset"),
};

/// Length in days of a red or yellow period.
pub const PERIOD_DAYS: u64 = 14;

/// Length in hours of green after a negative result.
pub const GREEN_HOURS: i64 = 72;

/// Asia/Almaty offset (same as [`ALMATY`]).
pub fn almaty() -> FixedOffset {
    ALMATY
}

/// The local (Asia/Almaty) calendar date of an instant.
pub fn local_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&ALMATY).date_naive()
}

/// The instant of 00:00 local (Asia/Almaty) on `date`.
pub fn local_midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN)
        .and_utc()
        .checked_sub_signed(TimeDelta::seconds(i64::from(ALMATY_OFFSET_SECS)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A colour status. `Ord` is by severity: `Blue < Green < Yellow < Red`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    /// No current PCR result, not a contact.
    Blue,
    /// A recent negative PCR result.
    Green,
    /// A close contact of a positive case.
    Yellow,
    /// A positive PCR result: strict home isolation.
    Red,
}

impl Colour {
    /// Every colour, least severe first.
    pub const ALL: [Colour; 4] = [Colour::Blue, Colour::Green, Colour::Yellow, Colour::Red];

    /// The stable snake_case name (same as the serde form).
    pub fn as_str(self) -> &'static str {
        match self {
            Colour::Green => "green",
            Colour::Blue => "blue",
            Colour::Yellow => "yellow",
            Colour::Red => "red",
        }
    }

    /// Inverse of [`Colour::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Severity rank: blue 0, green 1, yellow 2, red 3.
    pub fn severity(self) -> u8 {
        match self {
            Colour::Blue => 0,
            Colour::Green => 1,
            Colour::Yellow => 2,
            Colour::Red => 3,
        }
    }
}

impl std::fmt::Display for Colour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which kind of record caused a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CauseKind {
    PcrPositive,
    PcrNegative,
    Contact,
    None,
}

impl CauseKind {
    /// Every cause kind.
    pub const ALL: [CauseKind; 4] = [
        CauseKind::PcrPositive,
        CauseKind::PcrNegative,
        CauseKind::Contact,
        CauseKind::None,
    ];

    /// The stable snake_case name (same as the serde form).
    pub fn as_str(self) -> &'static str {
        match self {
            CauseKind::PcrPositive => "pcr_positive",
            CauseKind::PcrNegative => "pcr_negative",
            CauseKind::Contact => "contact",
            CauseKind::None => "none",
        }
    }

    /// Inverse of [`CauseKind::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl std::fmt::Display for CauseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A PCR result as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PcrRecord {
    /// When the sample was taken; its local date is the record's date.
    pub taken_at: DateTime<Utc>,
    /// When the result became known; it takes effect then, never earlier.
    pub result_at: DateTime<Utc>,
    pub positive: bool,
    /// Withdrawn by the lab: ignored entirely.
    pub withdrawn: bool,
}

/// A registered close contact with a positive case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContactRecord {
    /// Local calendar date of the contact; yellow starts at 00:00 of it.
    pub contact_date: NaiveDate,
}

/// The outcome of [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Status {
    pub colour: Colour,
    /// When the current colour began; `None` for someone who was always blue.
    pub since: Option<DateTime<Utc>>,
    /// When the current colour ends by itself; `None` for blue.
    pub until: Option<DateTime<Utc>>,
    pub cause_kind: CauseKind,
    /// Local date of the sample or of the contact; `None` for blue.
    pub cause_date: Option<NaiveDate>,
}

/// 00:00 local on `date + PERIOD_DAYS`: the end of a red or yellow period.
fn period_end(date: NaiveDate) -> DateTime<Utc> {
    local_midnight(
        date.checked_add_days(Days::new(PERIOD_DAYS))
            .unwrap_or(NaiveDate::MAX),
    )
}

/// Whether `day` is one of the `PERIOD_DAYS` days counted from `start`.
fn within_period_days(day: NaiveDate, start: NaiveDate) -> bool {
    let end = start
        .checked_add_days(Days::new(PERIOD_DAYS))
        .unwrap_or(NaiveDate::MAX);
    start <= day && day < end
}

fn green_end(result_at: DateTime<Utc>) -> DateTime<Utc> {
    result_at
        .checked_add_signed(TimeDelta::hours(GREEN_HOURS))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// One non-empty coloured interval `[start, end)` with the record behind it.
#[derive(Debug, Clone, Copy)]
struct Period {
    colour: Colour,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    cause_kind: CauseKind,
    cause_date: NaiveDate,
}

impl Period {
    fn covers(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

fn known_pcr(pcr: &[PcrRecord], at: DateTime<Utc>) -> impl Iterator<Item = &PcrRecord> {
    pcr.iter()
        .filter(move |r| !r.withdrawn && r.result_at <= at)
}

fn known_contacts(
    contacts: &[ContactRecord],
    at: DateTime<Utc>,
) -> impl Iterator<Item = &ContactRecord> {
    contacts
        .iter()
        .filter(move |c| local_midnight(c.contact_date) <= at)
}

/// The coloured periods produced by the records known at `at`.
fn periods_known_at(
    pcr: &[PcrRecord],
    contacts: &[ContactRecord],
    at: DateTime<Utc>,
) -> Vec<Period> {
    // Dates from which red or yellow days are counted: a negative sampled within
    // them gives no green.
    let isolation_starts: Vec<NaiveDate> = known_pcr(pcr, at)
        .filter(|r| r.positive)
        .map(|r| local_date(r.taken_at))
        .chain(known_contacts(contacts, at).map(|c| c.contact_date))
        .collect();

    let mut periods = Vec::new();
    for record in known_pcr(pcr, at) {
        let day = local_date(record.taken_at);
        let period = if record.positive {
            Period {
                colour: Colour::Red,
                start: record.result_at,
                end: period_end(day),
                cause_kind: CauseKind::PcrPositive,
                cause_date: day,
            }
        } else {
            if isolation_starts
                .iter()
                .any(|&start| within_period_days(day, start))
            {
                continue;
            }
            Period {
                colour: Colour::Green,
                start: record.result_at,
                end: green_end(record.result_at),
                cause_kind: CauseKind::PcrNegative,
                cause_date: day,
            }
        };
        periods.push(period);
    }
    for contact in known_contacts(contacts, at) {
        periods.push(Period {
            colour: Colour::Yellow,
            start: local_midnight(contact.contact_date),
            end: period_end(contact.contact_date),
            cause_kind: CauseKind::Contact,
            cause_date: contact.contact_date,
        });
    }
    periods.retain(|p| p.start < p.end);
    periods
}

/// The active period that decides the status at `t`: most severe colour, then
/// the one running longest, then the latest record date.
fn winner_at(periods: &[Period], t: DateTime<Utc>) -> Option<&Period> {
    periods
        .iter()
        .filter(|p| p.covers(t))
        .max_by_key(|p| (p.colour, p.end, p.cause_date, p.start))
}

fn colour_at(periods: &[Period], t: DateTime<Utc>) -> Colour {
    winner_at(periods, t).map_or(Colour::Blue, |p| p.colour)
}

/// The colour [`evaluate`] gives at `t`: records known at `t`, evaluated at `t`.
fn colour_as_known_at(pcr: &[PcrRecord], contacts: &[ContactRecord], t: DateTime<Utc>) -> Colour {
    colour_at(&periods_known_at(pcr, contacts, t), t)
}

/// Every instant at which the colour may change, for the given records (known
/// or not): effective times, which also change what blocks green, and ends.
fn change_points<'a>(
    pcr: impl Iterator<Item = &'a PcrRecord>,
    contacts: impl Iterator<Item = &'a ContactRecord>,
) -> Vec<DateTime<Utc>> {
    let mut points = Vec::new();
    for record in pcr.filter(|r| !r.withdrawn) {
        points.push(record.result_at);
        points.push(if record.positive {
            period_end(local_date(record.taken_at))
        } else {
            green_end(record.result_at)
        });
    }
    for contact in contacts {
        points.push(local_midnight(contact.contact_date));
        points.push(period_end(contact.contact_date));
    }
    points.sort_unstable();
    points.dedup();
    points
}

/// The status of a person with these records at `now`.
///
/// Only records known at `now` count (see the module docs); the order of the
/// slices does not matter.
pub fn evaluate(pcr: &[PcrRecord], contacts: &[ContactRecord], now: DateTime<Utc>) -> Status {
    let periods = periods_known_at(pcr, contacts, now);
    let winner = winner_at(&periods, now);
    let colour = winner.map_or(Colour::Blue, |p| p.colour);

    let points = change_points(known_pcr(pcr, now), known_contacts(contacts, now));
    let past = points.partition_point(|&p| p <= now);

    // Walk back over the stretches [points[i-1], points[i]) until one has
    // another colour; before the first point everyone is blue.
    let mut since = None;
    for i in (0..past).rev() {
        let before = match i.checked_sub(1) {
            Some(prev) => colour_as_known_at(pcr, contacts, points[prev]),
            None => Colour::Blue,
        };
        if before != colour {
            since = Some(points[i]);
            break;
        }
    }

    // Known periods all started by `now`, so only ends lie ahead.
    let until = if colour == Colour::Blue {
        None
    } else {
        points[past..]
            .iter()
            .copied()
            .find(|&p| colour_at(&periods, p) != colour)
    };

    Status {
        colour,
        since,
        until,
        cause_kind: winner.map_or(CauseKind::None, |p| p.cause_kind),
        cause_date: winner.map(|p| p.cause_date),
    }
}

/// The first instant after `now` at which the colour [`evaluate`] returns will
/// differ from the colour at `now`, without any new record arriving; `None` if
/// it never will.
///
/// Unlike [`Status::until`] this also accounts for stored records that only take
/// effect after `now` (a result with a future `result_at`, a future contact
/// date), so a scheduler can wake up then and send a change notice.
pub fn next_change(
    pcr: &[PcrRecord],
    contacts: &[ContactRecord],
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let current = colour_as_known_at(pcr, contacts, now);
    let points = change_points(pcr.iter(), contacts.iter());
    let ahead = points.partition_point(|&p| p <= now);
    points[ahead..]
        .iter()
        .copied()
        .find(|&p| colour_as_known_at(pcr, contacts, p) != current)
}

/// The first instant after `now` at which anything [`evaluate`] returns (colour, since,
/// until or cause) may differ from its value at `now` without a new record arriving;
/// `None` if never. Between `now` and this instant the status is constant, which is what
/// lets a cache keep an evaluated status until then.
pub fn valid_until(
    pcr: &[PcrRecord],
    contacts: &[ContactRecord],
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let points = change_points(pcr.iter(), contacts.iter());
    let ahead = points.partition_point(|&p| p <= now);
    points.get(ahead).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const YEAR: i32 = 2021;

    /// A local (Asia/Almaty) wall-clock time in 2021, as UTC.
    fn t(month: u32, day: u32, hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
        ALMATY
            .with_ymd_and_hms(YEAR, month, day, hour, minute, second)
            .single()
            .expect("valid local time")
            .to_utc()
    }

    /// Local midnight starting `day` of `month`.
    fn midnight(month: u32, day: u32) -> DateTime<Utc> {
        t(month, day, 0, 0, 0)
    }

    fn date(month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(YEAR, month, day).expect("valid date")
    }

    fn pos(taken_at: DateTime<Utc>, result_at: DateTime<Utc>) -> PcrRecord {
        PcrRecord {
            taken_at,
            result_at,
            positive: true,
            withdrawn: false,
        }
    }

    fn neg(taken_at: DateTime<Utc>, result_at: DateTime<Utc>) -> PcrRecord {
        PcrRecord {
            positive: false,
            ..pos(taken_at, result_at)
        }
    }

    fn withdrawn(record: PcrRecord) -> PcrRecord {
        PcrRecord {
            withdrawn: true,
            ..record
        }
    }

    fn contact(month: u32, day: u32) -> ContactRecord {
        ContactRecord {
            contact_date: date(month, day),
        }
    }

    fn coloured(
        colour: Colour,
        cause_kind: CauseKind,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        cause_date: NaiveDate,
    ) -> Status {
        Status {
            colour,
            since: Some(since),
            until: Some(until),
            cause_kind,
            cause_date: Some(cause_date),
        }
    }

    fn red(since: DateTime<Utc>, until: DateTime<Utc>, sample: NaiveDate) -> Status {
        coloured(Colour::Red, CauseKind::PcrPositive, since, until, sample)
    }

    fn yellow(since: DateTime<Utc>, until: DateTime<Utc>, contact: NaiveDate) -> Status {
        coloured(Colour::Yellow, CauseKind::Contact, since, until, contact)
    }

    fn green(since: DateTime<Utc>, until: DateTime<Utc>, sample: NaiveDate) -> Status {
        coloured(Colour::Green, CauseKind::PcrNegative, since, until, sample)
    }

    fn blue(since: Option<DateTime<Utc>>) -> Status {
        Status {
            colour: Colour::Blue,
            since,
            until: None,
            cause_kind: CauseKind::None,
            cause_date: None,
        }
    }

    struct Case {
        name: &'static str,
        pcr: Vec<PcrRecord>,
        contacts: Vec<ContactRecord>,
        now: DateTime<Utc>,
        expected: Status,
    }

    fn case(
        name: &'static str,
        pcr: &[PcrRecord],
        contacts: &[ContactRecord],
        now: DateTime<Utc>,
        expected: Status,
    ) -> Case {
        Case {
            name,
            pcr: pcr.to_vec(),
            contacts: contacts.to_vec(),
            now,
            expected,
        }
    }

    /// Checks every case as given and with its records in reverse order.
    fn run(cases: &[Case]) {
        for c in cases {
            let got = evaluate(&c.pcr, &c.contacts, c.now);
            assert_eq!(got, c.expected, "case: {}", c.name);
            let mut pcr = c.pcr.clone();
            pcr.reverse();
            let mut contacts = c.contacts.clone();
            contacts.reverse();
            let got = evaluate(&pcr, &contacts, c.now);
            assert_eq!(got, c.expected, "case (records reversed): {}", c.name);
        }
    }

    #[test]
    fn helpers_use_almaty_time() {
        // 00:00 in Almaty is 19:00 UTC the day before.
        let utc = Utc.with_ymd_and_hms(2021, 10, 31, 19, 0, 0).unwrap();
        assert_eq!(local_midnight(date(11, 1)), utc);
        assert_eq!(local_date(utc), date(11, 1));
        assert_eq!(local_date(utc - TimeDelta::seconds(1)), date(10, 31));
        assert_eq!(almaty(), ALMATY);
        assert_eq!(ALMATY.local_minus_utc(), 5 * 3600);
        // Saturates instead of panicking at chrono's limits.
        assert_eq!(local_midnight(NaiveDate::MIN), DateTime::<Utc>::MIN_UTC);
        assert_eq!(period_end(NaiveDate::MAX), local_midnight(NaiveDate::MAX));
        assert_eq!(
            green_end(DateTime::<Utc>::MAX_UTC),
            DateTime::<Utc>::MAX_UTC
        );
    }

    #[test]
    fn no_records_is_blue_since_never() {
        run(&[
            case("nothing at all", &[], &[], t(11, 1, 12, 0, 0), blue(None)),
            case(
                "only withdrawn records",
                &[
                    withdrawn(pos(t(11, 1, 9, 0, 0), t(11, 2, 9, 0, 0))),
                    withdrawn(neg(t(11, 3, 9, 0, 0), t(11, 3, 18, 0, 0))),
                ],
                &[],
                t(11, 4, 12, 0, 0),
                blue(None),
            ),
        ]);
    }

    #[test]
    fn domain_example_red_until_15_november_midnight() {
        // Sample taken 1 November, positive: red from the result until 15 November 00:00.
        let p = [pos(t(11, 1, 10, 0, 0), t(11, 2, 15, 0, 0))];
        let red_status = red(t(11, 2, 15, 0, 0), midnight(11, 15), date(11, 1));
        run(&[
            case(
                "second before the result is known",
                &p,
                &[],
                t(11, 2, 14, 59, 59),
                blue(None),
            ),
            case("at result_at", &p, &[], t(11, 2, 15, 0, 0), red_status),
            case("in the middle", &p, &[], t(11, 8, 3, 0, 0), red_status),
            case(
                "last second of red",
                &p,
                &[],
                t(11, 14, 23, 59, 59),
                red_status,
            ),
            case(
                "15 November 00:00 is blue",
                &p,
                &[],
                midnight(11, 15),
                blue(Some(midnight(11, 15))),
            ),
            case(
                "weeks later still blue since the end",
                &p,
                &[],
                t(12, 20, 12, 0, 0),
                blue(Some(midnight(11, 15))),
            ),
        ]);
    }

    #[test]
    fn record_dates_are_local_dates() {
        // 00:00 local on 1 November is still 31 October in UTC.
        let at_local_midnight = [pos(midnight(11, 1), t(11, 1, 18, 0, 0))];
        let just_before = [pos(t(10, 31, 23, 59, 59), t(11, 1, 18, 0, 0))];
        run(&[
            case(
                "sampled at 00:00 local belongs to that day",
                &at_local_midnight,
                &[],
                t(11, 14, 23, 59, 59),
                red(t(11, 1, 18, 0, 0), midnight(11, 15), date(11, 1)),
            ),
            case(
                "sampled at 23:59:59 local belongs to the day before",
                &just_before,
                &[],
                t(11, 13, 23, 59, 59),
                red(t(11, 1, 18, 0, 0), midnight(11, 14), date(10, 31)),
            ),
            case(
                "which ends a day earlier",
                &just_before,
                &[],
                midnight(11, 14),
                blue(Some(midnight(11, 14))),
            ),
            case(
                "contact date is local: yellow from 00:00 local",
                &[],
                &[contact(11, 1)],
                midnight(11, 1),
                yellow(midnight(11, 1), midnight(11, 15), date(11, 1)),
            ),
            case(
                "contact: second before 00:00 local is blue",
                &[],
                &[contact(11, 1)],
                t(10, 31, 23, 59, 59),
                blue(None),
            ),
        ]);
    }

    #[test]
    fn later_positive_restarts_red() {
        let first = pos(t(11, 1, 10, 0, 0), t(11, 2, 15, 0, 0));
        let second = pos(t(11, 10, 9, 0, 0), t(11, 11, 12, 0, 0));
        let after_gap = pos(t(11, 20, 9, 0, 0), t(11, 21, 9, 0, 0));
        let both = [first, second];
        run(&[
            case(
                "before the second result: first one decides",
                &both,
                &[],
                t(11, 11, 11, 59, 59),
                red(t(11, 2, 15, 0, 0), midnight(11, 15), date(11, 1)),
            ),
            case(
                "second result restarts the 14 days, since unchanged",
                &both,
                &[],
                t(11, 11, 12, 0, 0),
                red(t(11, 2, 15, 0, 0), midnight(11, 24), date(11, 10)),
            ),
            case(
                "the first period's end passes unnoticed",
                &both,
                &[],
                midnight(11, 15),
                red(t(11, 2, 15, 0, 0), midnight(11, 24), date(11, 10)),
            ),
            case(
                "last second of the restarted red",
                &both,
                &[],
                t(11, 23, 23, 59, 59),
                red(t(11, 2, 15, 0, 0), midnight(11, 24), date(11, 10)),
            ),
            case(
                "blue at the restarted end",
                &both,
                &[],
                midnight(11, 24),
                blue(Some(midnight(11, 24))),
            ),
            case(
                "between two separate reds: blue",
                &[first, after_gap],
                &[],
                t(11, 21, 8, 59, 59),
                blue(Some(midnight(11, 15))),
            ),
            case(
                "a new positive after red ended: red again from its result",
                &[first, after_gap],
                &[],
                t(11, 21, 9, 0, 0),
                red(t(11, 21, 9, 0, 0), midnight(12, 4), date(11, 20)),
            ),
        ]);
    }

    #[test]
    fn positives_out_of_order() {
        let newer = pos(t(11, 10, 9, 0, 0), t(11, 11, 12, 0, 0));
        let older_late = pos(t(11, 1, 9, 0, 0), t(11, 12, 12, 0, 0));
        let too_late = pos(t(11, 1, 9, 0, 0), t(11, 16, 14, 0, 0));
        let negative = neg(t(11, 10, 9, 0, 0), t(11, 16, 12, 0, 0));
        run(&[
            case(
                "older sample whose result arrives later does not shorten red",
                &[newer, older_late],
                &[],
                t(11, 13, 0, 0, 0),
                red(t(11, 11, 12, 0, 0), midnight(11, 24), date(11, 10)),
            ),
            case(
                "older sample arriving first: red from its result, until its end",
                &[older_late],
                &[],
                t(11, 13, 0, 0, 0),
                red(t(11, 12, 12, 0, 0), midnight(11, 15), date(11, 1)),
            ),
            case(
                "positive result arriving after its 14 days: never red",
                &[too_late],
                &[],
                t(11, 16, 15, 0, 0),
                blue(None),
            ),
            case(
                "before the too-late positive is known, a negative gives green",
                &[too_late, negative],
                &[],
                t(11, 16, 13, 0, 0),
                green(t(11, 16, 12, 0, 0), t(11, 19, 12, 0, 0), date(11, 10)),
            ),
            case(
                "once known, its 14 days still take that green away",
                &[too_late, negative],
                &[],
                t(11, 16, 15, 0, 0),
                blue(Some(t(11, 16, 14, 0, 0))),
            ),
        ]);
    }

    #[test]
    fn negative_during_red_or_yellow_changes_nothing() {
        let positive = pos(t(11, 1, 10, 0, 0), t(11, 2, 15, 0, 0));
        let negative = neg(t(11, 5, 9, 0, 0), t(11, 6, 9, 0, 0));
        run(&[
            case(
                "negative during red",
                &[positive, negative],
                &[],
                t(11, 6, 10, 0, 0),
                red(t(11, 2, 15, 0, 0), midnight(11, 15), date(11, 1)),
            ),
            case(
                "red still ends on time",
                &[positive, negative],
                &[],
                midnight(11, 15),
                blue(Some(midnight(11, 15))),
            ),
            case(
                "negative during yellow",
                &[negative],
                &[contact(11, 1)],
                t(11, 6, 10, 0, 0),
                yellow(midnight(11, 1), midnight(11, 15), date(11, 1)),
            ),
            case(
                "yellow still ends on time",
                &[negative],
                &[contact(11, 1)],
                midnight(11, 15),
                blue(Some(midnight(11, 15))),
            ),
            case(
                "negative sampled before a positive's day may be green before red",
                &[
                    pos(t(11, 2, 9, 0, 0), t(11, 3, 9, 0, 0)),
                    neg(t(11, 1, 9, 0, 0), t(11, 2, 12, 0, 0)),
                ],
                &[],
                t(11, 2, 13, 0, 0),
                green(t(11, 2, 12, 0, 0), t(11, 5, 12, 0, 0), date(11, 1)),
            ),
            case(
                "...and red overrides it once the positive is known",
                &[
                    pos(t(11, 2, 9, 0, 0), t(11, 3, 9, 0, 0)),
                    neg(t(11, 1, 9, 0, 0), t(11, 2, 12, 0, 0)),
                ],
                &[],
                t(11, 3, 9, 0, 0),
                red(t(11, 3, 9, 0, 0), midnight(11, 16), date(11, 2)),
            ),
        ]);
    }

    #[test]
    fn green_only_after_isolation() {
        let positive = pos(t(11, 1, 10, 0, 0), t(11, 2, 15, 0, 0));
        let last_day = neg(t(11, 14, 23, 59, 59), t(11, 15, 9, 0, 0));
        let next_day = neg(midnight(11, 15), t(11, 15, 9, 0, 0));
        run(&[
            case(
                "red: negative sampled on the last day gives no green",
                &[positive, last_day],
                &[],
                t(11, 15, 10, 0, 0),
                blue(Some(midnight(11, 15))),
            ),
            case(
                "red: negative sampled the day after gives green",
                &[positive, next_day],
                &[],
                t(11, 15, 10, 0, 0),
                green(t(11, 15, 9, 0, 0), t(11, 18, 9, 0, 0), date(11, 15)),
            ),
            case(
                "red: blue until that result is known",
                &[positive, next_day],
                &[],
                t(11, 15, 8, 59, 59),
                blue(Some(midnight(11, 15))),
            ),
            case(
                "yellow: negative sampled on the last day gives no green",
                &[last_day],
                &[contact(11, 1)],
                t(11, 15, 10, 0, 0),
                blue(Some(midnight(11, 15))),
            ),
            case(
                "yellow: negative sampled the day after gives green",
                &[next_day],
                &[contact(11, 1)],
                t(11, 15, 10, 0, 0),
                green(t(11, 15, 9, 0, 0), t(11, 18, 9, 0, 0), date(11, 15)),
            ),
            case(
                "yellow: negative sampled the day before the contact gives green",
                &[neg(t(10, 31, 9, 0, 0), t(11, 15, 9, 0, 0))],
                &[contact(11, 1)],
                t(11, 15, 10, 0, 0),
                green(t(11, 15, 9, 0, 0), t(11, 18, 9, 0, 0), date(10, 31)),
            ),
        ]);
    }

    #[test]
    fn green_lasts_exactly_72_hours() {
        let negative = neg(t(11, 20, 9, 0, 0), t(11, 21, 12, 0, 0));
        let green_status = green(t(11, 21, 12, 0, 0), t(11, 24, 12, 0, 0), date(11, 20));
        let renewal = neg(t(11, 23, 8, 0, 0), t(11, 23, 9, 0, 0));
        let after_expiry = neg(t(11, 25, 8, 0, 0), t(11, 25, 9, 0, 0));
        run(&[
            case(
                "second before the result",
                &[negative],
                &[],
                t(11, 21, 11, 59, 59),
                blue(None),
            ),
            case(
                "at result_at",
                &[negative],
                &[],
                t(11, 21, 12, 0, 0),
                green_status,
            ),
            case(
                "last second of the 72 hours",
                &[negative],
                &[],
                t(11, 24, 11, 59, 59),
                green_status,
            ),
            case(
                "exactly 72 hours: blue",
                &[negative],
                &[],
                t(11, 24, 12, 0, 0),
                blue(Some(t(11, 24, 12, 0, 0))),
            ),
            case(
                "a new negative while green extends it, since unchanged",
                &[negative, renewal],
                &[],
                t(11, 23, 10, 0, 0),
                green(t(11, 21, 12, 0, 0), t(11, 26, 9, 0, 0), date(11, 23)),
            ),
            case(
                "the first 72 hours end unnoticed",
                &[negative, renewal],
                &[],
                t(11, 24, 12, 0, 0),
                green(t(11, 21, 12, 0, 0), t(11, 26, 9, 0, 0), date(11, 23)),
            ),
            case(
                "a new negative after expiry: green again from its result",
                &[negative, after_expiry],
                &[],
                t(11, 25, 9, 0, 0),
                green(t(11, 25, 9, 0, 0), t(11, 28, 9, 0, 0), date(11, 25)),
            ),
        ]);
    }

    #[test]
    fn withdrawn_results_count_for_nothing() {
        let positive = pos(t(11, 1, 10, 0, 0), t(11, 2, 15, 0, 0));
        let later_positive = pos(t(11, 10, 9, 0, 0), t(11, 11, 12, 0, 0));
        let negative = neg(t(11, 5, 9, 0, 0), t(11, 6, 9, 0, 0));
        run(&[
            case(
                "withdrawn positive: blue, never red",
                &[withdrawn(positive)],
                &[],
                t(11, 5, 12, 0, 0),
                blue(None),
            ),
            case(
                "withdrawn positive does not block green",
                &[withdrawn(positive), negative],
                &[],
                t(11, 6, 10, 0, 0),
                green(t(11, 6, 9, 0, 0), t(11, 9, 9, 0, 0), date(11, 5)),
            ),
            case(
                "withdrawn later positive does not restart red",
                &[positive, withdrawn(later_positive)],
                &[],
                t(11, 14, 12, 0, 0),
                red(t(11, 2, 15, 0, 0), midnight(11, 15), date(11, 1)),
            ),
            case(
                "withdrawn negative gives no green",
                &[withdrawn(neg(t(11, 20, 9, 0, 0), t(11, 21, 12, 0, 0)))],
                &[],
                t(11, 21, 13, 0, 0),
                blue(None),
            ),
            case(
                "withdrawn positive leaves earlier history alone",
                &[
                    withdrawn(pos(t(11, 20, 9, 0, 0), t(11, 21, 9, 0, 0))),
                    positive,
                ],
                &[],
                t(11, 22, 12, 0, 0),
                blue(Some(midnight(11, 15))),
            ),
        ]);
    }

    #[test]
    fn contact_and_positive_overlap() {
        let positive = pos(t(11, 5, 9, 0, 0), t(11, 6, 10, 0, 0));
        let early_positive = pos(t(10, 25, 9, 0, 0), t(11, 3, 9, 0, 0));
        run(&[
            case(
                "yellow before the positive is known",
                &[positive],
                &[contact(11, 1)],
                t(11, 6, 9, 59, 59),
                yellow(midnight(11, 1), midnight(11, 15), date(11, 1)),
            ),
            case(
                "red wins once the positive is known",
                &[positive],
                &[contact(11, 1)],
                t(11, 6, 10, 0, 0),
                red(t(11, 6, 10, 0, 0), midnight(11, 19), date(11, 5)),
            ),
            case(
                "red outlasts yellow",
                &[positive],
                &[contact(11, 1)],
                t(11, 16, 0, 0, 0),
                red(t(11, 6, 10, 0, 0), midnight(11, 19), date(11, 5)),
            ),
            case(
                "blue after red",
                &[positive],
                &[contact(11, 1)],
                midnight(11, 19),
                blue(Some(midnight(11, 19))),
            ),
            case(
                "red ending before yellow: until is red's end",
                &[early_positive],
                &[contact(11, 1)],
                t(11, 5, 12, 0, 0),
                red(t(11, 3, 9, 0, 0), midnight(11, 8), date(10, 25)),
            ),
            case(
                "then yellow since red ended",
                &[early_positive],
                &[contact(11, 1)],
                midnight(11, 8),
                yellow(midnight(11, 8), midnight(11, 15), date(11, 1)),
            ),
            case(
                "two contacts join, the later one decides",
                &[],
                &[contact(11, 1), contact(11, 10)],
                t(11, 16, 12, 0, 0),
                yellow(midnight(11, 1), midnight(11, 24), date(11, 10)),
            ),
            case(
                "a contact during green: yellow wins",
                &[neg(t(11, 20, 9, 0, 0), t(11, 20, 18, 0, 0))],
                &[contact(11, 21)],
                t(11, 21, 0, 0, 0),
                yellow(midnight(11, 21), midnight(12, 5), date(11, 21)),
            ),
            case(
                "contact shows up while red is over, yellow still running",
                &[pos(t(10, 20, 9, 0, 0), t(10, 21, 9, 0, 0))],
                &[contact(10, 30)],
                t(11, 5, 12, 0, 0),
                yellow(midnight(11, 3), midnight(11, 13), date(10, 30)),
            ),
        ]);
    }

    #[test]
    fn contact_arriving_after_a_negative() {
        // The negative was sampled on the contact's last day; the contact is only
        // recorded afterwards. Evaluated with it, there is no green.
        let negative = neg(t(11, 14, 9, 0, 0), t(11, 15, 8, 0, 0));
        run(&[
            case(
                "without the contact: green",
                &[negative],
                &[],
                t(11, 16, 12, 0, 0),
                green(t(11, 15, 8, 0, 0), t(11, 18, 8, 0, 0), date(11, 14)),
            ),
            case(
                "with the late contact: blue since yellow ended",
                &[negative],
                &[contact(11, 1)],
                t(11, 16, 12, 0, 0),
                blue(Some(midnight(11, 15))),
            ),
            case(
                "with the late contact, during its days: yellow since its date",
                &[neg(t(11, 3, 9, 0, 0), t(11, 4, 8, 0, 0))],
                &[contact(11, 1)],
                t(11, 5, 12, 0, 0),
                yellow(midnight(11, 1), midnight(11, 15), date(11, 1)),
            ),
        ]);
    }

    #[test]
    fn records_not_yet_known() {
        let positive = pos(t(11, 1, 8, 0, 0), t(11, 2, 10, 0, 0));
        let negative = neg(t(11, 1, 8, 0, 0), t(11, 1, 20, 0, 0));
        run(&[
            case(
                "a result in the future does not exist yet",
                &[positive],
                &[],
                t(11, 2, 9, 59, 59),
                blue(None),
            ),
            case(
                "nor does it block green",
                &[positive, negative],
                &[],
                t(11, 2, 9, 59, 59),
                green(t(11, 1, 20, 0, 0), t(11, 4, 20, 0, 0), date(11, 1)),
            ),
            case(
                "once it is known: red",
                &[positive, negative],
                &[],
                t(11, 2, 10, 0, 0),
                red(t(11, 2, 10, 0, 0), midnight(11, 15), date(11, 1)),
            ),
            case(
                "a future-dated contact does not exist yet",
                &[negative],
                &[contact(11, 3)],
                t(11, 2, 12, 0, 0),
                green(t(11, 1, 20, 0, 0), t(11, 4, 20, 0, 0), date(11, 1)),
            ),
            case(
                "future-dated contact, from its date: yellow",
                &[negative],
                &[contact(11, 3)],
                midnight(11, 3),
                yellow(midnight(11, 3), midnight(11, 17), date(11, 3)),
            ),
        ]);
    }

    #[test]
    fn next_change_table() {
        let positive = pos(t(11, 1, 10, 0, 0), t(11, 2, 15, 0, 0));
        let restart = pos(t(11, 10, 9, 0, 0), t(11, 11, 12, 0, 0));
        let early_positive = pos(t(10, 25, 9, 0, 0), t(11, 3, 9, 0, 0));
        let negative = neg(t(11, 20, 9, 0, 0), t(11, 21, 12, 0, 0));
        #[allow(clippy::type_complexity)]
        let cases: [(
            &str,
            Vec<PcrRecord>,
            Vec<ContactRecord>,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
        ); 10] = [
            ("no records", vec![], vec![], t(11, 1, 0, 0, 0), None),
            (
                "red ends at 00:00 on D+14",
                vec![positive],
                vec![],
                t(11, 3, 0, 0, 0),
                Some(midnight(11, 15)),
            ),
            (
                "a known restart moves it",
                vec![positive, restart],
                vec![],
                t(11, 12, 0, 0, 0),
                Some(midnight(11, 24)),
            ),
            (
                "a pending restart keeps red, so skips the old end",
                vec![positive, restart],
                vec![],
                t(11, 3, 0, 0, 0),
                Some(midnight(11, 24)),
            ),
            (
                "red to yellow",
                vec![early_positive],
                vec![contact(11, 1)],
                t(11, 5, 0, 0, 0),
                Some(midnight(11, 8)),
            ),
            (
                "green to blue after 72 hours",
                vec![negative],
                vec![],
                t(11, 22, 0, 0, 0),
                Some(t(11, 24, 12, 0, 0)),
            ),
            (
                "blue to green when a stored result becomes known",
                vec![negative],
                vec![],
                t(11, 21, 0, 0, 0),
                Some(t(11, 21, 12, 0, 0)),
            ),
            (
                "green to red when a stored positive becomes known",
                vec![
                    pos(t(11, 22, 8, 0, 0), t(11, 22, 18, 0, 0)),
                    neg(t(11, 22, 8, 0, 0), t(11, 22, 12, 0, 0)),
                ],
                vec![],
                t(11, 22, 13, 0, 0),
                Some(t(11, 22, 18, 0, 0)),
            ),
            (
                "blue to yellow on a future contact date",
                vec![],
                vec![contact(12, 1)],
                t(11, 25, 0, 0, 0),
                Some(midnight(12, 1)),
            ),
            (
                "blue for good",
                vec![positive, negative],
                vec![contact(11, 1)],
                t(11, 24, 12, 0, 0),
                None,
            ),
        ];
        for (name, pcr, contacts, now, expected) in cases {
            assert_eq!(next_change(&pcr, &contacts, now), expected, "case: {name}");
            let status = evaluate(&pcr, &contacts, now);
            if let Some(at) = expected {
                assert_ne!(
                    evaluate(&pcr, &contacts, at).colour,
                    status.colour,
                    "case: {name}"
                );
                assert_eq!(
                    evaluate(&pcr, &contacts, at - TimeDelta::seconds(1)).colour,
                    status.colour,
                    "case: {name}"
                );
            }
        }
    }

    #[test]
    fn until_is_next_change_over_known_records() {
        let pcr = [
            pos(t(10, 25, 9, 0, 0), t(11, 3, 9, 0, 0)),
            neg(t(11, 20, 9, 0, 0), t(11, 21, 12, 0, 0)),
        ];
        let contacts = [contact(11, 1)];
        let mut now = t(10, 20, 0, 0, 0);
        let mut changes = 0;
        while now < t(12, 1, 0, 0, 0) {
            let status = evaluate(&pcr, &contacts, now);
            let known_pcr: Vec<PcrRecord> =
                pcr.iter().copied().filter(|r| r.result_at <= now).collect();
            let known_contacts: Vec<ContactRecord> = contacts
                .iter()
                .copied()
                .filter(|c| local_midnight(c.contact_date) <= now)
                .collect();
            let next = next_change(&known_pcr, &known_contacts, now);
            assert_eq!(status.until, next, "at {now}");
            // With everything stored, the scheduler also wakes for pending records.
            let next_all = next_change(&pcr, &contacts, now);
            if next_all != next {
                changes += 1;
            }
            now += TimeDelta::hours(1);
        }
        assert!(changes > 0, "pending records should move next_change");
    }

    #[test]
    fn colour_names_order_and_serde() {
        let names = ["blue", "green", "yellow", "red"];
        for (colour, name) in Colour::ALL.into_iter().zip(names) {
            assert_eq!(colour.as_str(), name);
            assert_eq!(colour.to_string(), name);
            assert_eq!(Colour::parse(name), Some(colour));
            assert_eq!(
                serde_json::to_string(&colour).unwrap(),
                format!("\"{name}\"")
            );
        }
        assert!(Colour::Red > Colour::Yellow);
        assert!(Colour::Yellow > Colour::Green);
        assert!(Colour::Green > Colour::Blue);
        let ranks: Vec<u8> = Colour::ALL.into_iter().map(Colour::severity).collect();
        assert_eq!(ranks, [0, 1, 2, 3]);
        assert_eq!(Colour::parse("Red"), None);

        let causes = ["pcr_positive", "pcr_negative", "contact", "none"];
        for (kind, name) in CauseKind::ALL.into_iter().zip(causes) {
            assert_eq!(kind.as_str(), name);
            assert_eq!(CauseKind::parse(name), Some(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
        }

        let status = red(t(11, 2, 15, 0, 0), midnight(11, 15), date(11, 1));
        let json = serde_json::to_string(&status).unwrap();
        assert_eq!(
            json,
            r#"{"colour":"red","since":"2021-11-02T10:00:00Z","until":"2021-11-14T19:00:00Z","cause_kind":"pcr_positive","cause_date":"2021-11-01"}"#
        );
        let back: Status = serde_json::from_str(&json).unwrap();
        assert_eq!(back, status);
    }

    mod valid_until_props {
        use super::*;
        use proptest::prelude::*;

        /// Instants in a 60-day window of 2021, at 15-minute steps, so records and
        /// look-ups often fall on period boundaries.
        fn instant() -> impl Strategy<Value = DateTime<Utc>> {
            (0i64..60 * 96).prop_map(|q| midnight(10, 1) + TimeDelta::minutes(15 * q))
        }

        fn pcr() -> impl Strategy<Value = PcrRecord> {
            (instant(), 0i64..96 * 3, any::<bool>(), 0u8..8).prop_map(
                |(taken_at, delay, positive, w)| PcrRecord {
                    taken_at,
                    result_at: taken_at + TimeDelta::minutes(15 * delay),
                    positive,
                    withdrawn: w == 0,
                },
            )
        }

        fn contact() -> impl Strategy<Value = ContactRecord> {
            instant().prop_map(|t| ContactRecord {
                contact_date: local_date(t),
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]
            /// The whole status, not only the colour, stays what it was at `now` until
            /// `valid_until`, and at `valid_until` something may change.
            #[test]
            fn status_is_constant_until_valid_until(
                pcr in proptest::collection::vec(pcr(), 0..4),
                contacts in proptest::collection::vec(contact(), 0..3),
                now in instant(),
                probe in 0.0f64..1.0,
            ) {
                let at_now = evaluate(&pcr, &contacts, now);
                match valid_until(&pcr, &contacts, now) {
                    Some(until) => {
                        prop_assert!(until > now);
                        let span = (until - now).num_milliseconds();
                        let between = now + TimeDelta::milliseconds((span as f64 * probe) as i64);
                        prop_assert_eq!(evaluate(&pcr, &contacts, between), at_now);
                        prop_assert_eq!(
                            evaluate(&pcr, &contacts, until - TimeDelta::milliseconds(1)),
                            at_now
                        );
                    }
                    None => {
                        let later = now + TimeDelta::days(400);
                        prop_assert_eq!(evaluate(&pcr, &contacts, later), at_now);
                    }
                }
            }
        }
    }
}
