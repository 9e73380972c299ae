//! How well the recogniser hears (the benchmark and the browser tests score with
//! this): character error rate for Japanese (after NFKC, with punctuation and spaces
//! removed and katakana read as hiragana, so 「マゴ」 and 「まご」 count the same), word
//! error rate for English (lower case, punctuation removed).
//!
//! Japanese is also compared as it is read aloud ([`reading`], through MeCab):
//! Whisper writes 孫 as マゴ and きれい as 綺麗, which a reader takes for the same
//! words; the reading's error rate counts only what was misheard.

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
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
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
            let next = (diagonal + usize::from(r != h))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[hypothesis.len()]
}

/// Japanese text as it is read, in katakana (`mecab -Oyomi`: Debian's mecab and
/// mecab-ipadic-utf8), with long vowels written out (ユータ → ユウタ).
pub fn reading(text: &str) -> std::io::Result<String> {
    use std::io::Write;
    let mut mecab = std::process::Command::new("mecab")
        .arg("-Oyomi")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    if let Some(mut input) = mecab.stdin.take() {
        input.write_all(text.replace('\n', " ").as_bytes())?;
        input.write_all(b"\n")?;
    }
    let out = mecab.wait_with_output()?;
    Ok(long_vowels(String::from_utf8_lossy(&out.stdout).trim()))
}

/// ー as the vowel it lengthens: ア after the a-row, イ after i and e, ウ after u and o.
fn long_vowels(kana: &str) -> String {
    let mut out = String::with_capacity(kana.len());
    let mut last = None;
    for c in kana.chars() {
        let c = if c == 'ー' {
            last.map_or(c, vowel_of)
        } else {
            c
        };
        out.push(c);
        last = Some(c);
    }
    out
}

fn vowel_of(kana: char) -> char {
    const ROWS: [(&str, char); 5] = [
        ("アカサタナハマヤラワガザダバパァャヮ", 'ア'),
        ("イキシチニヒミリギジヂビピィ", 'イ'),
        ("ウクスツヌフムユルグズヅブプゥュヴ", 'ウ'),
        ("エケセテネヘメレゲゼデベペェ", 'イ'),
        ("オコソトノホモヨロヲゴゾドボポォョ", 'ウ'),
    ];
    ROWS.iter()
        .find(|(row, _)| row.contains(kana))
        .map_or(kana, |(_, v)| *v)
}

/// (edits, reference length) of Japanese compared as read aloud.
pub fn reading_errors(reference: &str, hypothesis: &str) -> std::io::Result<(usize, usize)> {
    let (r, h) = (
        normalise(&reading(reference)?),
        normalise(&reading(hypothesis)?),
    );
    Ok((edits(&r, &h), r.len()))
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
        assert_eq!(errors("ja", "マゴが来ました。", "まごが来ました"), (0, 7));
        assert_eq!(errors("ja", "ｔｅｓｔ、テスト", "test てすと"), (0, 7));
        assert_eq!(errors("en", "Hello, Grandma!", "hello grandma"), (0, 2));
        assert_eq!(errors("en", "see you on Sunday", "see you Sunday"), (1, 4));
        assert_eq!(edits(&['a', 'b', 'c'], &['a', 'x', 'c', 'd']), 2);
        assert_eq!(long_vowels("ユータ"), "ユウタ");
        assert_eq!(long_vowels("スモー"), "スモウ");
    }
}
