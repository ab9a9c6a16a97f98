//! Text mutations: the classic byte-level moves, on characters (inputs stay
//! valid UTF-8, as every input of kro's parsers is), plus moves that matter
//! to these parsers: inserting tokens of the language, splicing in a piece
//! of another seed, and nesting deeply.

use crate::rng::Rng;

/// Inputs are cut to this many characters: long inputs run slowly and
/// rarely find more.
pub const MAX_CHARS: usize = 4096;

/// Characters that end or start something in CEL, templates, YAML markers
/// or JSON.
const SPECIAL: [char; 26] = [
    '$',
    '{',
    '}',
    '(',
    ')',
    '[',
    ']',
    '"',
    '\'',
    '\\',
    '.',
    '?',
    ':',
    ',',
    '|',
    '=',
    ' ',
    '\n',
    '\0',
    'é',
    '\u{10FFFF}',
    '`',
    '#',
    '!',
    '-',
    '%',
];

/// Opening and closing pieces that nest whatever they wrap.
const NESTINGS: [(&str, &str); 10] = [
    ("(", ")"),
    ("[", "]"),
    ("{'k': ", "}"),
    ("!", ""),
    ("-", ""),
    ("[", "][0]"),
    ("cel.bind(v, ", ", v)"),
    ("optional.of(", ")"),
    ("${", "}"),
    ("[]", ""),
];

/// Numbers at the edges of the types.
const EDGE_NUMBERS: [&str; 14] = [
    "0",
    "-1",
    "1",
    "255",
    "1000000",
    "10000000",
    "2147483648",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615u",
    "1e308",
    "-0.0",
    "0x7fffffffffffffff",
    "99999999999999999999",
];

/// One to four random mutations of `text`, using `tokens` (the
/// language's words) and `donors` (other seeds) as material.
pub fn mutate(rng: &mut Rng, text: &str, tokens: &[String], donors: &[String]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..rng.between(1, 4) {
        mutate_once(rng, &mut chars, tokens, donors);
    }
    chars.truncate(MAX_CHARS);
    chars.into_iter().collect()
}

fn mutate_once(rng: &mut Rng, chars: &mut Vec<char>, tokens: &[String], donors: &[String]) {
    let len = chars.len();
    let at = rng.below(len + 1);
    match rng.below(9) {
        0 => {
            if let Some(token) = rng.choose(tokens) {
                insert(chars, at, token);
            }
        }
        1 if len > 0 => {
            let end = (at + rng.between(1, 8)).min(len);
            chars.drain(at.min(end)..end);
        }
        2 if len > 0 => {
            let start = rng.below(len);
            let end = (start + rng.between(1, 16)).min(len);
            let piece: Vec<char> = chars[start..end].to_vec();
            let times = if rng.chance(1, 8) {
                rng.between(32, 256)
            } else {
                rng.between(1, 4)
            };
            for _ in 0..times {
                chars.splice(at..at, piece.iter().copied());
            }
        }
        3 => {
            let c = *rng.pick(&SPECIAL);
            if at < len && rng.chance(1, 2) {
                chars[at] = c;
            } else {
                chars.insert(at, c);
            }
        }
        4 => {
            if let Some(donor) = rng.choose(donors) {
                let donor: Vec<char> = donor.chars().collect();
                let start = rng.below(donor.len() + 1);
                let end = rng.between(start, donor.len());
                chars.splice(at..at, donor[start..end].iter().copied());
            }
        }
        5 => {
            let (open, close) = *rng.pick(&NESTINGS);
            let depth = if rng.chance(1, 4) {
                rng.between(64, 400)
            } else {
                rng.between(1, 8)
            };
            let inner: String = chars.iter().collect();
            let nested = format!("{}{inner}{}", open.repeat(depth), close.repeat(depth));
            *chars = nested.chars().collect();
        }
        6 => {
            let number = *rng.pick(&EDGE_NUMBERS);
            match digits_at(chars, at) {
                Some((start, end)) => {
                    chars.splice(start..end, number.chars());
                }
                None => insert(chars, at, number),
            }
        }
        7 if len > 1 => {
            let a = rng.below(len);
            let b = rng.below(len);
            chars.swap(a, b);
        }
        _ => {
            if let Some(token) = rng.choose(tokens) {
                let end = (at + rng.between(0, 6)).min(len);
                chars.splice(at..end, token.chars());
            }
        }
    }
}

fn insert(chars: &mut Vec<char>, at: usize, text: &str) {
    chars.splice(at..at, text.chars());
}

/// The run of ASCII digits at or after `at`, if one starts within a few
/// characters.
fn digits_at(chars: &[char], at: usize) -> Option<(usize, usize)> {
    let start = (at..chars.len().min(at + 16)).find(|&i| chars[i].is_ascii_digit())?;
    let end = (start..chars.len())
        .find(|&i| !chars[i].is_ascii_digit())
        .unwrap_or(chars.len());
    Some((start, end))
}

#[cfg(test)]
mod tests {
    use super::{MAX_CHARS, mutate};
    use crate::rng::Rng;

    #[test]
    fn mutations_change_text_and_stay_bounded() {
        let mut rng = Rng::new(3);
        let tokens = vec!["size".to_owned(), " + ".to_owned()];
        let donors = vec!["[1, 2, 3]".to_owned()];
        let mut changed = 0;
        for _ in 0..500 {
            let out = mutate(&mut rng, "x + 1", &tokens, &donors);
            assert!(out.chars().count() <= MAX_CHARS);
            changed += usize::from(out != "x + 1");
        }
        assert!(changed > 400, "{changed} of 500 changed");
    }

    #[test]
    fn an_empty_text_can_grow() {
        let mut rng = Rng::new(4);
        let tokens = vec!["a".to_owned()];
        let grown = (0..50).any(|_| !mutate(&mut rng, "", &tokens, &[]).is_empty());
        assert!(grown);
    }
}
