//! Japanese and English, from the first page. Every string a person reads comes from
//! the Fluent catalogs in `web/i18n/`; this module loads them and picks a language for
//! each request: an explicit switch (which sticks in a cookie), else the browser's
//! Accept-Language, else the facility's default.

use std::fmt;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde::{Deserialize, Serialize};
use unic_langid::{LanguageIdentifier, langid};

/// The languages Menkai speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Ja,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Ja, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language: screens that must reach whoever stands in front of them
    /// (a removed kiosk) say it in both.
    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }

    /// The name of the language in itself, for the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::Ja => "日本語",
            Lang::En => "English",
        }
    }

    fn langid(self) -> LanguageIdentifier {
        match self {
            Lang::Ja => langid!("ja"),
            Lang::En => langid!("en"),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The compiled-in catalogs. They are immutable data baked into the binary, so one
/// shared copy is as safe as a constant and spares every handler from carrying it.
static CATALOGS: LazyLock<Catalogs> = LazyLock::new(Catalogs::load);

struct Catalogs {
    ja: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

/// Each language's catalog, in files by audience: the pages, and the e-mail families
/// receive (one bundle per language all the same).
pub(crate) const JA_FTL: [&str; 2] = [
    include_str!("../../web/i18n/ja.ftl"),
    include_str!("../../web/i18n/mail.ja.ftl"),
];
pub(crate) const EN_FTL: [&str; 2] = [
    include_str!("../../web/i18n/en.ftl"),
    include_str!("../../web/i18n/mail.en.ftl"),
];

impl Catalogs {
    fn load() -> Self {
        Self {
            ja: bundle(Lang::Ja, &JA_FTL),
            en: bundle(Lang::En, &EN_FTL),
        }
    }

    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }
}

/// Builds one language's bundle. The catalogs ship inside the binary and a unit test
/// parses both, so a syntax error cannot reach a running server; if one ever did, the
/// parsable messages are still used and the rest show their ids.
fn bundle(lang: Lang, sources: &[&str]) -> FluentBundle<FluentResource> {
    let mut bundle = FluentBundle::new_concurrent(vec![lang.langid()]);
    // Isolation marks are for plain text; in HTML they show up as stray characters.
    bundle.set_use_isolating(false);
    for source in sources {
        let resource =
            FluentResource::try_new((*source).to_owned()).unwrap_or_else(|(partial, errors)| {
                tracing::error!(
                    ?errors,
                    lang = lang.code(),
                    "translation catalog has errors"
                );
                partial
            });
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(
                ?errors,
                lang = lang.code(),
                "translation catalog has duplicate ids"
            );
        }
    }
    bundle
}

/// Looks up a message and fills in its arguments. A missing id returns the id itself,
/// which the catalog test catches long before a person could see it.
pub fn text(lang: Lang, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let bundle = CATALOGS.bundle(lang);
    let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
        tracing::warn!(id, lang = lang.code(), "missing translation");
        return id.to_owned();
    };
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.clone());
    }
    let mut errors = vec![];
    let value = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    value.into_owned()
}

/// A date written out as people read it: `12月1日（火）`, `Tuesday 1 December`.
pub fn long_date(lang: Lang, date: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let weekday = text(
        lang,
        &format!("weekday-{}", date.weekday().number_from_monday()),
        &[],
    );
    let month = text(lang, &format!("month-{}", date.month()), &[]);
    text(
        lang,
        "date-long",
        &[
            ("year", date.year().into()),
            ("month", month.into()),
            ("day", date.day().into()),
            ("weekday", weekday.into()),
        ],
    )
}

/// A translator bound to one language; templates call its `t` with a message id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    pub fn t(&self, id: &str) -> String {
        text(self.lang, id, &[])
    }

    /// One named argument.
    pub fn t1(&self, id: &str, name: &str, value: impl ToString) -> String {
        text(
            self.lang,
            id,
            &[(name, FluentValue::from(value.to_string()))],
        )
    }

    /// Two named arguments.
    pub fn t2(&self, id: &str, n1: &str, v1: impl ToString, n2: &str, v2: impl ToString) -> String {
        text(
            self.lang,
            id,
            &[
                (n1, FluentValue::from(v1.to_string())),
                (n2, FluentValue::from(v2.to_string())),
            ],
        )
    }

    /// The language code, for `<html lang>`.
    pub fn code(&self) -> &'static str {
        self.lang.code()
    }
}

/// Picks the language of a response.
pub fn negotiate(explicit: Option<Lang>, accept_language: Option<&str>, default: Lang) -> Lang {
    if let Some(lang) = explicit {
        return lang;
    }
    let Some(header) = accept_language else {
        return default;
    };
    let requested = fluent_langneg::parse_accepted_languages(header);
    let available: Vec<fluent_langneg::LanguageIdentifier> = Lang::ALL
        .iter()
        .filter_map(|l| l.code().parse().ok())
        .collect();
    let chosen = fluent_langneg::negotiate_languages(
        &requested,
        &available,
        None,
        fluent_langneg::NegotiationStrategy::Lookup,
    );
    chosen
        .first()
        .and_then(|id| Lang::parse(id.language.as_str()))
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn ids(sources: &[&str]) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for source in sources {
            let resource = FluentResource::try_new((*source).to_owned())
                .unwrap_or_else(|(_, errors)| panic!("catalog does not parse: {errors:?}"));
            ids.extend(resource.entries().filter_map(|entry| match entry {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                _ => None,
            }));
        }
        ids
    }

    #[test]
    fn both_catalogs_parse_and_have_the_same_messages() {
        let ja = ids(&JA_FTL);
        let en = ids(&EN_FTL);
        let only_ja: Vec<_> = ja.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&ja).collect();
        assert!(
            only_ja.is_empty() && only_en.is_empty(),
            "only in ja: {only_ja:?}; only in en: {only_en:?}"
        );
    }

    #[test]
    fn no_catalog_defines_a_message_twice() {
        for (lang, sources) in [(Lang::Ja, JA_FTL), (Lang::En, EN_FTL)] {
            let mut bundle = FluentBundle::new_concurrent(vec![lang.langid()]);
            for source in sources {
                let resource = FluentResource::try_new(source.to_owned())
                    .unwrap_or_else(|(_, errors)| panic!("catalog does not parse: {errors:?}"));
                assert!(
                    bundle.add_resource(resource).is_ok(),
                    "{} catalog defines a message twice",
                    lang.code()
                );
            }
        }
    }

    #[test]
    fn every_message_used_in_templates_and_code_exists() {
        let ja = ids(&JA_FTL);
        let mut missing = vec![];
        let roots = [
            concat!(env!("CARGO_MANIFEST_DIR"), "/../web/templates"),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src"),
        ];
        for root in roots {
            for id in used_ids(std::path::Path::new(root)) {
                if !ja.contains(&id) {
                    missing.push(id);
                }
            }
        }
        assert!(
            missing.is_empty(),
            "messages used but not in the catalogs: {missing:?}"
        );
    }

    /// The history page shows `audit-{action}` for every action stored: each action
    /// written anywhere (`Audit::new(actor, "action", …)`, and the visit changes'
    /// `audit_action`) has its words.
    #[test]
    fn every_audit_action_has_its_words() {
        let ja = ids(&JA_FTL);
        let mut missing = vec![];
        let mut files = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(
                    std::fs::read_dir(&path)
                        .into_iter()
                        .flatten()
                        .flatten()
                        .map(|e| e.path()),
                );
                continue;
            }
            // (This file quotes the markers below.)
            let Ok(source) = std::fs::read_to_string(&path).map_err(drop).and_then(|s| {
                if path.ends_with("i18n.rs") {
                    Err(())
                } else {
                    Ok(s)
                }
            }) else {
                continue;
            };
            // Where actions are written: the call itself (often over several lines),
            // the visit changes' table, and `let action = if … { "a" } else { "b" }`.
            let mut places: Vec<&str> = vec![];
            for marker in ["Audit::new(", "let action ="] {
                for (at, _) in source.match_indices(marker) {
                    let rest = &source[at..];
                    places.push(&rest[..rest.find(';').unwrap_or(rest.len())]);
                }
            }
            places.extend(
                source
                    .lines()
                    .filter(|l| l.trim_start().starts_with("Change::") && l.contains("=>")),
            );
            let actions = places.iter().flat_map(|place| {
                place.split('"').skip(1).step_by(2).filter(|a| {
                    !a.is_empty() && a.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                })
            });
            for action in actions {
                if !ja.contains(&format!("audit-{action}")) {
                    missing.push(format!("{}: audit-{action}", path.display()));
                }
            }
        }
        assert!(missing.is_empty(), "no words for: {missing:?}");
    }

    /// Finds the message ids passed to `t`, `t1` and `t2` in a tree of files.
    fn used_ids(dir: &std::path::Path) -> Vec<String> {
        let mut found = vec![];
        let Ok(entries) = std::fs::read_dir(dir) else {
            return found;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(used_ids(&path));
                continue;
            }
            let Ok(source) = std::fs::read_to_string(&path) else {
                continue;
            };
            for marker in [".t(\"", ".t1(\"", ".t2(\""] {
                for (at, _) in source.match_indices(marker) {
                    let rest = &source[at + marker.len()..];
                    if let Some(end) = rest.find('"') {
                        let id = &rest[..end];
                        if !id.is_empty()
                            && id
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                        {
                            found.push(id.to_owned());
                        }
                    }
                }
            }
        }
        found
    }

    #[test]
    fn an_explicit_choice_beats_the_browser_which_beats_the_default() {
        assert_eq!(negotiate(Some(Lang::En), Some("ja"), Lang::Ja), Lang::En);
        assert_eq!(negotiate(None, Some("en-GB,en;q=0.9"), Lang::Ja), Lang::En);
        assert_eq!(negotiate(None, Some("ja-JP"), Lang::En), Lang::Ja);
        assert_eq!(negotiate(None, Some("fr-FR"), Lang::Ja), Lang::Ja);
        assert_eq!(negotiate(None, None, Lang::En), Lang::En);
    }

    #[test]
    fn arguments_are_filled_in() {
        let tr = Tr::new(Lang::En);
        assert!(tr.t1("join-with", "resident", "Hanako").contains("Hanako"));
    }
}
