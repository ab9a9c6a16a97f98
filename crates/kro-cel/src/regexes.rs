//! Compiled regular expressions: size-limited, compiled once, and charged
//! so that the cost of an evaluation never depends on what ran before it.
//!
//! Patterns are RE2 syntax, compiled by the `regex` crate (same syntax,
//! same linear-time matching), with a limit on the pattern's length, on the
//! compiled program and on the lazy DFA's memory, so that a huge pattern is
//! refused with an error instead of taking memory and time. (The length
//! limit comes first: parsing a pattern takes up to about 600 bytes of
//! memory per byte of pattern before the program size is known, so a
//! 230 KB pattern of `.`s took 70 MiB, found by `kro-fuzz`.)
//!
//! A literal pattern (`s.matches('^a+$')`) is compiled once, when the
//! program is planned. A pattern computed at run time is compiled on its
//! first use in an evaluation and charged [`compile_cost`] then; later uses
//! in the same evaluation reuse it for free. The compiled regex also goes
//! to a small cache of the program, so that the next evaluation does not
//! compile it again, but that evaluation still pays for it: costs stay
//! deterministic, whatever the cache holds.
//!
//! Compiled regexes are shared behind an `Arc`, never cloned: a cloned
//! `Regex` starts with an empty matching cache, so every call would build
//! its lazy DFA again.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use regex::Regex;

use crate::error::EvalError;

/// Longest pattern compiled, in bytes: far beyond any real one, and
/// parsed in a few MiB at most.
pub const REGEX_MAX_PATTERN: usize = 32 << 10;

/// Largest compiled program a pattern may have, in bytes.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Largest lazy-DFA cache a pattern may use while matching, in bytes.
pub const REGEX_DFA_SIZE_LIMIT: usize = 1 << 20;

/// Patterns computed at run time that a program keeps compiled.
const PROGRAM_CACHE_SIZE: usize = 16;

/// Patterns an evaluation keeps compiled (and does not pay for again).
const EVALUATION_MEMO_SIZE: usize = 16;

/// Cost units charged for compiling `pattern` at run time: a fixed part
/// for the compiler's work on any pattern, plus the pattern's length.
/// Compiling takes from about 0.1 ms (a typical pattern) to about 6 ms (one
/// refused at the size limit); 10,000 units is about the time of the
/// former, so that an evaluation cannot compile more than a hundred.
pub(crate) fn compile_cost(pattern: &str) -> u64 {
    compile_cost_of(pattern.len() as u64)
}

/// [`compile_cost`] of a pattern of `len` bytes.
pub(crate) fn compile_cost_of(len: u64) -> u64 {
    10_000u64.saturating_add(len)
}

/// Cost units charged for running a compiled regex over `haystack` bytes
/// (on top of reading them): matching does several steps per byte.
pub(crate) fn match_cost(haystack: usize) -> u64 {
    match_cost_of(haystack as u64)
}

/// [`match_cost`] of `haystack` bytes.
pub(crate) fn match_cost_of(haystack: u64) -> u64 {
    haystack / MATCHED_BYTES_PER_UNIT
}

/// Bytes a regex matches over for one cost unit: matching takes 2 to 7 ns
/// a byte (measured with patterns near the size limit), a cost unit about
/// the time of evaluating one node (10 to 20 ns).
const MATCHED_BYTES_PER_UNIT: u64 = 2;

/// Compiles an RE2-syntax pattern with the size limits.
pub(crate) fn compile(pattern: &str) -> Result<Regex, EvalError> {
    if pattern.len() > REGEX_MAX_PATTERN {
        return Err(EvalError::InvalidArgument(format!(
            "invalid regular expression: {} bytes, longer than the limit of {REGEX_MAX_PATTERN}",
            pattern.len()
        )));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .build()
        .map_err(|e| EvalError::InvalidArgument(format!("invalid regular expression: {e}")))
}

/// The regular expressions of one program: those of its literal patterns,
/// compiled when it was planned, and a bounded cache of others.
#[derive(Debug, Default)]
pub(crate) struct ProgramRegexes {
    literal: Vec<(Arc<str>, Arc<Regex>)>,
    cache: Mutex<VecDeque<(Arc<str>, Arc<Regex>)>>,
}

impl ProgramRegexes {
    /// Compiles a literal pattern now; an invalid one is left for the
    /// evaluation to report.
    pub(crate) fn add_literal(&mut self, pattern: &Arc<str>) {
        if self.literal.iter().any(|(p, _)| p == pattern) {
            return;
        }
        if let Ok(re) = compile(pattern) {
            self.literal.push((pattern.clone(), Arc::new(re)));
        }
    }

    fn literal(&self, pattern: &str) -> Option<Arc<Regex>> {
        self.literal
            .iter()
            .find(|(p, _)| &**p == pattern)
            .map(|(_, re)| Arc::clone(re))
    }

    fn cached(&self, pattern: &str) -> Option<Arc<Regex>> {
        let cache = self.cache.lock().ok()?;
        cache
            .iter()
            .find(|(p, _)| &**p == pattern)
            .map(|(_, re)| Arc::clone(re))
    }

    fn remember(&self, pattern: &str, re: &Arc<Regex>) {
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() == PROGRAM_CACHE_SIZE {
                cache.pop_front();
            }
            cache.push_back((Arc::from(pattern), Arc::clone(re)));
        }
    }
}

/// The regular expressions one evaluation compiled (and paid for).
pub(crate) struct EvaluationRegexes<'p> {
    program: Option<&'p ProgramRegexes>,
    memo: VecDeque<(Arc<str>, Arc<Regex>)>,
}

impl<'p> EvaluationRegexes<'p> {
    pub(crate) fn new(program: Option<&'p ProgramRegexes>) -> Self {
        EvaluationRegexes {
            program,
            memo: VecDeque::new(),
        }
    }

    /// A regex this evaluation need not pay for: a literal of the program,
    /// or one it compiled already.
    pub(crate) fn get(&self, pattern: &str) -> Option<Arc<Regex>> {
        if let Some(re) = self.program.and_then(|p| p.literal(pattern)) {
            return Some(re);
        }
        self.memo
            .iter()
            .find(|(p, _)| &**p == pattern)
            .map(|(_, re)| Arc::clone(re))
    }

    /// Compiles `pattern` (or takes it from the program's cache; the caller
    /// has paid for a compilation either way) and remembers it.
    pub(crate) fn compile(&mut self, pattern: &str) -> Result<Arc<Regex>, EvalError> {
        let re = match self.program.and_then(|p| p.cached(pattern)) {
            Some(re) => re,
            None => {
                let re = Arc::new(compile(pattern)?);
                if let Some(p) = self.program {
                    p.remember(pattern, &re);
                }
                re
            }
        };
        if self.memo.len() == EVALUATION_MEMO_SIZE {
            self.memo.pop_front();
        }
        self.memo.push_back((Arc::from(pattern), Arc::clone(&re)));
        Ok(re)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_patterns_are_refused() {
        let err = compile("(a{1000}){1000}").unwrap_err();
        assert!(err.to_string().contains("size limit"), "{err}");
    }

    /// Found by `kro-fuzz` (template target): `'a'.find(p)` with `p` 32,768
    /// copies of `0.0.0.1` made by doubling, 70 MiB allocated while parsing.
    #[test]
    fn patterns_past_the_length_limit_are_refused_before_parsing() {
        let long = "0.0.0.1".repeat(32_768);
        let err = compile(&long).unwrap_err();
        assert!(err.to_string().contains("longer than the limit"), "{err}");
        let at_limit = compile(&"ab".repeat(REGEX_MAX_PATTERN / 2));
        assert!(
            at_limit
                .as_ref()
                .err()
                .is_none_or(|e| !e.to_string().contains("longer than")),
            "{at_limit:?}"
        );
        assert!(compile(&"ab".repeat(500)).is_ok());
    }

    #[test]
    fn evaluations_reuse_what_they_compiled() {
        let program = ProgramRegexes::default();
        let mut first = EvaluationRegexes::new(Some(&program));
        assert!(first.get("a+").is_none());
        first.compile("a+").unwrap();
        assert!(first.get("a+").is_some());
        // A later evaluation finds it in the program's cache, but must
        // still go through `compile` (and pay) before `get` finds it.
        let second = EvaluationRegexes::new(Some(&program));
        assert!(second.get("a+").is_none());
        assert!(program.cached("a+").is_some());
    }

    #[test]
    fn the_program_cache_is_bounded() {
        let program = ProgramRegexes::default();
        let mut eval = EvaluationRegexes::new(Some(&program));
        for i in 0..(PROGRAM_CACHE_SIZE + 5) {
            eval.compile(&format!("x{i}")).unwrap();
        }
        assert_eq!(program.cache.lock().unwrap().len(), PROGRAM_CACHE_SIZE);
        assert!(program.cached("x0").is_none());
        assert_eq!(eval.memo.len(), EVALUATION_MEMO_SIZE);
    }
}
