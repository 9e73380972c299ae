//! How well the recogniser hears: character error rate for Japanese (after NFKC, with
//! punctuation and spaces removed and katakana read as hiragana, so 「マゴ」 and 「まご」
//! count the same), word error rate for English (lower case, punctuation removed).

use unicode_normalization::UnicodeNormalization;

/// Text as it is compared: NFKC, no punctuation, symbols or spaces, katakana as
/// hiragana, lower case.
pub fn normalise(text: &str) -> Vec<char> {
    text.nfkc()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// English words, lower case, punctuation dropped.
pub fn words(text: &str) -> Vec<String> {
    text.nfkc()
        .collect::<String>()
        .split_whitespace()
        .map(|w| w.chars().filter(|c| c.is_alphanumeric() || *c == '\'').flat_map(char::to_lowercase).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Levenshtein distance.
pub fn edits<T: PartialEq>(reference: &[T], hypothesis: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=hypothesis.len()).collect();
    for (i, r) in reference.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, h) in hypothesis.iter().enumerate() {
            let next = (diagonal + usize::from(r != h)).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[hypothesis.len()]
}

/// (edits, reference length) for one sentence in `lang`.
pub fn errors(lang: &str, reference: &str, hypothesis: &str) -> (usize, usize) {
    if lang == "en" {
        let (r, h) = (words(reference), words(hypothesis));
        (edits(&r, &h), r.len())
    } else {
        let (r, h) = (normalise(reference), normalise(hypothesis));
        (edits(&r, &h), r.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_variants_punctuation_and_case_do_not_count() {
        assert_eq!(errors("ja", "マゴが来ました。", "まごが来ました"), (0, 6));
        assert_eq!(errors("ja", "ｔｅｓｔ、テスト", "test てすと"), (0, 7));
        assert_eq!(errors("en", "Hello, Grandma!", "hello grandma"), (0, 2));
        assert_eq!(errors("en", "see you on Sunday", "see you Sunday"), (1, 4));
        assert_eq!(edits(&['a', 'b', 'c'], &['a', 'x', 'c', 'd']), 2);
    }
}
