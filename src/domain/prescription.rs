//! Prescriptions (issue 17): the parts of a medical information system's prescription
//! that the wallet keeps, parsed once. A value of these types is valid: an item has a
//! non-empty international non-proprietary name, a form and strength, a whole quantity
//! above zero and one of the four units; a discounted prescription has a patient's share
//! between 1 and 99 per cent.

use std::fmt;

/// The unit an item is prescribed and dispensed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Pieces,
    Packs,
    Millilitres,
    Grams,
}

impl Unit {
    pub const ALL: [Unit; 4] = [Unit::Pieces, Unit::Packs, Unit::Millilitres, Unit::Grams];

    /// The stored and fed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Pieces => "pieces",
            Unit::Packs => "packs",
            Unit::Millilitres => "ml",
            Unit::Grams => "g",
        }
    }

    /// Accepts the stored names and the usual spellings (`pcs`, `pack`, `millilitres`,
    /// `grams`…), case-insensitively.
    pub fn parse(s: &str) -> Result<Self, ItemError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pieces" | "piece" | "pcs" | "pc" => Ok(Unit::Pieces),
            "packs" | "pack" | "pkg" => Ok(Unit::Packs),
            "ml" | "millilitres" | "milliliters" | "millilitre" | "milliliter" => {
                Ok(Unit::Millilitres)
            }
            "g" | "grams" | "gram" | "gr" => Ok(Unit::Grams),
            _ => Err(ItemError::UnknownUnit),
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Under what the medicines are paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxKind {
    /// Free under the guaranteed volume of free medical care or the insurance.
    Free,
    /// Discounted: the patient pays this share, in per cent (1..=99).
    Discounted { patient_share: u8 },
}

impl RxKind {
    /// `kind` is `free` or `discounted`; `share` is the patient's share in per cent, given
    /// only (and then required) for a discounted prescription.
    pub fn parse(kind: &str, share: Option<&str>) -> Result<Self, ItemError> {
        let share = share.map(str::trim).filter(|s| !s.is_empty());
        match kind.trim().to_ascii_lowercase().as_str() {
            "free" => match share {
                None | Some("0") => Ok(RxKind::Free),
                Some(_) => Err(ItemError::ShareOnFree),
            },
            "discounted" => {
                let s = share.ok_or(ItemError::ShareMissing)?;
                let n: u8 = s.parse().map_err(|_| ItemError::BadShare)?;
                if (1..=99).contains(&n) {
                    Ok(RxKind::Discounted { patient_share: n })
                } else {
                    Err(ItemError::BadShare)
                }
            }
            _ => Err(ItemError::UnknownKind),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RxKind::Free => "free",
            RxKind::Discounted { .. } => "discounted",
        }
    }

    /// The patient's share in per cent (0 for free).
    pub fn patient_share(self) -> u8 {
        match self {
            RxKind::Free => 0,
            RxKind::Discounted { patient_share } => patient_share,
        }
    }

    /// From the stored columns.
    pub fn from_stored(kind: &str, share: i64) -> Option<Self> {
        match kind {
            "free" => Some(RxKind::Free),
            "discounted" => u8::try_from(share)
                .ok()
                .filter(|s| (1..=99).contains(s))
                .map(|patient_share| RxKind::Discounted { patient_share }),
            _ => None,
        }
    }
}

/// Why an item or a prescription's kind was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    #[error("inn (the international non-proprietary name) is empty")]
    EmptyInn,
    #[error("form (form and strength) is empty")]
    EmptyForm,
    #[error("a name is longer than 200 characters")]
    TooLong,
    #[error("quantity must be a whole number above zero")]
    BadQuantity,
    #[error("quantity is above 100000")]
    QuantityTooLarge,
    #[error("unit must be pieces, packs, ml or g")]
    UnknownUnit,
    #[error("kind must be free or discounted")]
    UnknownKind,
    #[error("a discounted prescription needs patient_share (1..99 per cent)")]
    ShareMissing,
    #[error("patient_share must be a whole number of per cent, 1..99")]
    BadShare,
    #[error("a free prescription has no patient_share")]
    ShareOnFree,
}

/// The largest quantity of one item.
pub const MAX_QUANTITY: i64 = 100_000;
/// The longest name, form or prescriber.
pub const MAX_NAME_CHARS: usize = 200;

/// One prescribed medicine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RxItem {
    inn: String,
    form: String,
    quantity: i64,
    unit: Unit,
}

fn name(s: &str, empty: ItemError) -> Result<String, ItemError> {
    let s: String = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if s.is_empty() {
        Err(empty)
    } else if s.chars().count() > MAX_NAME_CHARS {
        Err(ItemError::TooLong)
    } else {
        Ok(s)
    }
}

impl RxItem {
    /// `inn`: international non-proprietary name (`Metformin`); `form`: form and strength
    /// (`tablets 500 mg`); `quantity`: a whole number above zero; `unit`: see [`Unit::parse`].
    pub fn parse(inn: &str, form: &str, quantity: &str, unit: &str) -> Result<Self, ItemError> {
        let inn = name(inn, ItemError::EmptyInn)?;
        let form = name(form, ItemError::EmptyForm)?;
        let q = quantity.trim();
        if q.is_empty() || !q.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ItemError::BadQuantity);
        }
        let quantity: i64 = q.parse().map_err(|_| ItemError::QuantityTooLarge)?;
        if quantity == 0 {
            return Err(ItemError::BadQuantity);
        }
        if quantity > MAX_QUANTITY {
            return Err(ItemError::QuantityTooLarge);
        }
        Ok(Self {
            inn,
            form,
            quantity,
            unit: Unit::parse(unit)?,
        })
    }

    pub fn inn(&self) -> &str {
        &self.inn
    }
    pub fn form(&self) -> &str {
        &self.form
    }
    pub fn quantity(&self) -> i64 {
        self.quantity
    }
    pub fn unit(&self) -> Unit {
        self.unit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_parse_with_whole_positive_quantities() {
        let i = RxItem::parse(" Metformin ", "tablets  500 mg", "60", "pieces").unwrap();
        assert_eq!(i.inn(), "Metformin");
        assert_eq!(i.form(), "tablets 500 mg");
        assert_eq!(i.quantity(), 60);
        assert_eq!(i.unit(), Unit::Pieces);
        for (q, e) in [
            ("0", ItemError::BadQuantity),
            ("-1", ItemError::BadQuantity),
            ("1.5", ItemError::BadQuantity),
            ("", ItemError::BadQuantity),
            ("abc", ItemError::BadQuantity),
            ("100001", ItemError::QuantityTooLarge),
            ("99999999999999999999999", ItemError::QuantityTooLarge),
        ] {
            assert_eq!(RxItem::parse("A", "B", q, "g"), Err(e), "{q}");
        }
        assert_eq!(RxItem::parse("", "B", "1", "g"), Err(ItemError::EmptyInn));
        assert_eq!(
            RxItem::parse("A", " \t", "1", "g"),
            Err(ItemError::EmptyForm)
        );
        assert_eq!(
            RxItem::parse(&"x".repeat(201), "B", "1", "g"),
            Err(ItemError::TooLong)
        );
    }

    #[test]
    fn units_are_the_four_known_ones() {
        for u in Unit::ALL {
            assert_eq!(Unit::parse(u.as_str()), Ok(u));
        }
        assert_eq!(Unit::parse("ML"), Ok(Unit::Millilitres));
        assert_eq!(Unit::parse("Packs"), Ok(Unit::Packs));
        assert_eq!(Unit::parse("pcs"), Ok(Unit::Pieces));
        for bad in ["", "kg", "litres", "doses", "mg"] {
            assert_eq!(Unit::parse(bad), Err(ItemError::UnknownUnit), "{bad}");
        }
    }

    #[test]
    fn kinds_need_a_share_only_when_discounted() {
        assert_eq!(RxKind::parse("free", None), Ok(RxKind::Free));
        assert_eq!(RxKind::parse("FREE", Some("")), Ok(RxKind::Free));
        assert_eq!(
            RxKind::parse("discounted", Some("30")),
            Ok(RxKind::Discounted { patient_share: 30 })
        );
        assert_eq!(
            RxKind::parse("discounted", None),
            Err(ItemError::ShareMissing)
        );
        for bad in ["0", "100", "-5", "12.5", "x"] {
            assert_eq!(
                RxKind::parse("discounted", Some(bad)),
                Err(ItemError::BadShare),
                "{bad}"
            );
        }
        assert_eq!(
            RxKind::parse("free", Some("10")),
            Err(ItemError::ShareOnFree)
        );
        assert_eq!(RxKind::parse("paid", None), Err(ItemError::UnknownKind));
        let d = RxKind::Discounted { patient_share: 30 };
        assert_eq!(RxKind::from_stored(d.as_str(), 30), Some(d));
        assert_eq!(RxKind::from_stored("free", 0), Some(RxKind::Free));
        assert_eq!(RxKind::from_stored("discounted", 0), None);
    }
}
