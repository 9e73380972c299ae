//! Residents: a display name and a room. Nothing medical is ever stored.

use serde::{Deserialize, Serialize};

use crate::validation::{self, FieldErrors};

const MAX_NAME_CHARS: usize = 80;
const MAX_ROOM_CHARS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resident {
    pub id: String,
    pub name: String,
    pub room: String,
    pub archived: bool,
}

/// What staff type in to add or edit a resident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ResidentInput {
    pub name: String,
    #[serde(default)]
    pub room: String,
}

impl ResidentInput {
    /// Trims and checks the input; the trimmed values are what gets stored.
    pub fn parse(self) -> Result<ResidentInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", validation::name(&self.name, MAX_NAME_CHARS));
        let room = errors.check(
            "room",
            validation::optional_name(&self.room, MAX_ROOM_CHARS),
        );
        match (name, room) {
            (Some(name), Some(room)) => Ok(ResidentInput { name, room }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_required() {
        let ok = ResidentInput {
            name: "  山田 花子 ".into(),
            room: " 201 ".into(),
        }
        .parse()
        .unwrap();
        assert_eq!((ok.name.as_str(), ok.room.as_str()), ("山田 花子", "201"));
        let err = ResidentInput {
            name: " ".into(),
            room: "x".repeat(41),
        }
        .parse()
        .unwrap_err();
        assert_eq!(err.code_for("name"), Some("required"));
        assert_eq!(err.code_for("room"), Some("too_long"));
    }
}
