//! What the kiosk says, in the operator's language (Japanese or English, from the
//! usual locale variables). The catalogs are `kiosk/i18n/*.ftl`, built in.

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource, FluentValue};
use unic_langid::langid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    /// From `LC_ALL`, `LC_MESSAGES` or `LANG`, the first that is set (as gettext
    /// reads them); English unless it is Japanese.
    pub fn from_env() -> Lang {
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
            .unwrap_or_default();
        Lang::from_locale(&locale)
    }

    pub fn from_locale(locale: &str) -> Lang {
        if locale.to_ascii_lowercase().starts_with("ja") {
            Lang::Ja
        } else {
            Lang::En
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }
}

/// A catalog for one language.
pub struct Tr {
    bundle: FluentBundle<FluentResource>,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        let (id, source) = match lang {
            Lang::Ja => (langid!("ja"), include_str!("../i18n/ja.ftl")),
            Lang::En => (langid!("en"), include_str!("../i18n/en.ftl")),
        };
        let mut bundle = FluentBundle::new(vec![id]);
        // Terminal text: no bidi isolation marks around arguments.
        bundle.set_use_isolating(false);
        // The catalogs are built in and checked by the tests below, so a broken one
        // cannot ship; should it anyway, ids are shown instead of text.
        if let Ok(resource) = FluentResource::try_new(source.to_owned()) {
            let _ = bundle.add_resource(resource);
        }
        Tr { bundle }
    }

    pub fn from_env() -> Tr {
        Tr::new(Lang::from_env())
    }

    pub fn t(&self, id: &str) -> String {
        self.args(id, &[])
    }

    /// With named arguments, each shown as given.
    pub fn args(&self, id: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
        let Some(pattern) = self.bundle.get_message(id).and_then(|m| m.value()) else {
            return id.to_owned();
        };
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            fluent.set(*name, FluentValue::from(value.to_string()));
        }
        let mut errors = vec![];
        self.bundle
            .format_pattern(pattern, Some(&fluent), &mut errors)
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(source: &str) -> Vec<String> {
        let mut ids: Vec<String> = source
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with(' '))
            .filter_map(|l| l.split_once(" = ").map(|(id, _)| id.trim().to_owned()))
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn both_catalogs_parse_and_have_the_same_messages() {
        for source in [
            include_str!("../i18n/ja.ftl"),
            include_str!("../i18n/en.ftl"),
        ] {
            assert!(FluentResource::try_new(source.to_owned()).is_ok());
        }
        assert_eq!(
            ids(include_str!("../i18n/ja.ftl")),
            ids(include_str!("../i18n/en.ftl"))
        );
    }

    #[test]
    fn arguments_are_filled_in_without_isolation_marks() {
        let tr = Tr::new(Lang::En);
        assert_eq!(
            tr.args("pair-rate-limited", &[("seconds", &30)]),
            "Too many wrong codes. Wait 30 seconds and try again."
        );
        assert_eq!(Lang::from_locale("ja_JP.UTF-8"), Lang::Ja);
        assert_eq!(Lang::from_locale("C.UTF-8"), Lang::En);
    }
}
