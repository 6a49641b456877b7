//! Admission at a venue as a function of colour and venue category (domain.md,
//! "Ashyq: statuses"):
//!
//! | category       | red | yellow | green | blue |
//! | -------------- | --- | ------ | ----- | ---- |
//! | `ordinary`     | no  | no     | yes   | yes  |
//! | `pcr_required` | no  | no     | yes   | no   |
//! | `essential`    | no  | yes    | yes   | yes  |

use serde::{Deserialize, Serialize};

use super::engine::Colour;

/// What kind of place a venue is, as far as admission goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VenueCategory {
    /// Cinema, café, fitness, spa, bowling, karaoke, concert hall…
    Ordinary,
    /// A venue that requires a PCR test: airport, some events.
    PcrRequired,
    /// Grocery shop or pharmacy.
    Essential,
}

impl VenueCategory {
    /// Every category, in declaration order.
    pub const ALL: [VenueCategory; 3] = [
        VenueCategory::Ordinary,
        VenueCategory::PcrRequired,
        VenueCategory::Essential,
    ];

    /// The stable snake_case name (same as the serde form).
    pub fn as_str(self) -> &'static str {
        match self {
            VenueCategory::Ordinary => "ordinary",
            VenueCategory::PcrRequired => "pcr_required",
            VenueCategory::Essential => "essential",
        }
    }

    /// Inverse of [`VenueCategory::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether a holder of `colour` may enter a venue of this category.
    pub fn admits(self, colour: Colour) -> bool {
        admits(colour, self)
    }
}

impl std::fmt::Display for VenueCategory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a holder of `colour` may enter a venue of `category`. Red is never admitted.
pub fn admits(colour: Colour, category: VenueCategory) -> bool {
    match (colour, category) {
        (Colour::Red, _) => false,
        (Colour::Green, _) => true,
        (Colour::Blue, VenueCategory::Ordinary | VenueCategory::Essential) => true,
        (Colour::Blue, VenueCategory::PcrRequired) => false,
        (Colour::Yellow, VenueCategory::Essential) => true,
        (Colour::Yellow, VenueCategory::Ordinary | VenueCategory::PcrRequired) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_table() {
        use Colour::*;
        use VenueCategory::*;
        let table = [
            (Red, Ordinary, false),
            (Red, PcrRequired, false),
            (Red, Essential, false),
            (Yellow, Ordinary, false),
            (Yellow, PcrRequired, false),
            (Yellow, Essential, true),
            (Green, Ordinary, true),
            (Green, PcrRequired, true),
            (Green, Essential, true),
            (Blue, Ordinary, true),
            (Blue, PcrRequired, false),
            (Blue, Essential, true),
        ];
        for (colour, category, expected) in table {
            assert_eq!(admits(colour, category), expected, "{colour} at {category}");
            assert_eq!(category.admits(colour), expected, "{colour} at {category}");
        }
    }

    #[test]
    fn names_round_trip() {
        let expected = ["ordinary", "pcr_required", "essential"];
        for (category, name) in VenueCategory::ALL.into_iter().zip(expected) {
            assert_eq!(category.as_str(), name);
            assert_eq!(VenueCategory::parse(name), Some(category));
            assert_eq!(
                serde_json::to_string(&category).unwrap(),
                format!("\"{name}\"")
            );
            let back: VenueCategory = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(back, category);
        }
        assert_eq!(VenueCategory::parse("Ordinary"), None);
    }
}
