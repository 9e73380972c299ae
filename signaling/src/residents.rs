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
    /// "Show captions of what the family says": new visits get captions.
    pub captions: bool,
}

/// What staff type in to add or edit a resident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ResidentInput {
    pub name: String,
    #[serde(default)]
    pub room: String,
    #[serde(default)]
    pub captions: bool,
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
            (Some(name), Some(room)) => Ok(ResidentInput {
                name,
                room,
                captions: self.captions,
            }),
            _ => Err(errors),
        }
    }
}

/// What became of a request to add a resident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addition {
    /// Added, with this id.
    Added(String),
    /// Not added: this resident on the list is likely the same person. Names repeat
    /// (two Tanakas), so staff are asked rather than refused; a double click, a
    /// colleague adding the same person, or the same name typed in full-width
    /// letters or with an invisible space should not make two residents.
    PossibleDuplicate(Resident),
}

/// The resident on the list (not archived) that `input` likely is again: the same name
/// and the same room once case, character width, spaces and invisible characters are
/// set aside ([`validation::match_key`]). Page and API both ask through this, via
/// `Db::add_resident`.
pub fn possible_duplicate<'a>(
    input: &ResidentInput,
    existing: &'a [Resident],
) -> Option<&'a Resident> {
    let name = validation::match_key(&input.name);
    let room = validation::match_key(&input.room);
    existing.iter().find(|r| {
        !r.archived
            && validation::match_key(&r.name) == name
            && validation::match_key(&r.room) == room
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resident(id: &str, name: &str, room: &str, archived: bool) -> Resident {
        Resident {
            id: id.into(),
            name: name.into(),
            room: room.into(),
            archived,
            captions: false,
        }
    }

    fn input(name: &str, room: &str) -> ResidentInput {
        ResidentInput {
            name: name.into(),
            room: room.into(),
            captions: false,
        }
        .parse()
        .unwrap()
    }

    #[test]
    fn the_same_person_typed_differently_is_a_possible_duplicate() {
        let list = [
            resident("a", "山田 花子", "201", false),
            resident("b", "Tanaka", "", false),
        ];
        for (name, room, twin) in [
            ("山田 花子", "201", "a"),
            ("山田\u{3000}花子", "201", "a"),
            ("山田花子", "２０１", "a"),
            ("ＴＡＮＡＫＡ", "", "b"),
            ("tanaka", "", "b"),
            ("TANAKA", " ", "b"),
        ] {
            let found = possible_duplicate(&input(name, room), &list).map(|r| r.id.as_str());
            assert_eq!(found, Some(twin), "{name:?} {room:?}");
        }
        // Stored before invisible characters were refused: still found.
        let old = [resident("c", "tanaka\u{200B}", "", false)];
        assert_eq!(
            possible_duplicate(&input("Tanaka", ""), &old).map(|r| r.id.as_str()),
            Some("c")
        );
    }

    #[test]
    fn another_room_another_name_or_an_archived_resident_is_no_duplicate() {
        let list = [
            resident("a", "山田 花子", "201", false),
            resident("b", "Sato", "101", true),
        ];
        for (name, room) in [("山田 花子", "305"), ("山田 太郎", "201"), ("Sato", "101")] {
            assert_eq!(
                possible_duplicate(&input(name, room), &list),
                None,
                "{name:?}"
            );
        }
    }

    #[test]
    fn names_are_trimmed_and_required() {
        let ok = ResidentInput {
            name: "  山田 花子 ".into(),
            room: " 201 ".into(),
            captions: false,
        }
        .parse()
        .unwrap();
        assert_eq!((ok.name.as_str(), ok.room.as_str()), ("山田 花子", "201"));
        let err = ResidentInput {
            name: " ".into(),
            room: "x".repeat(41),
            captions: false,
        }
        .parse()
        .unwrap_err();
        assert_eq!(err.code_for("name"), Some("required"));
        assert_eq!(err.code_for("room"), Some("too_long"));
    }
}
