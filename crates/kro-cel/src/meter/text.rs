//! Text whose size is only known once it is written (`format`,
//! `json.marshal`): it grows up to a limit and refuses to go past it, so
//! the allocation never outruns what the meter allowed.

use super::Cap;
use crate::error::{EvalError, SizeKind};

/// What a [`Text`] reports when it would pass its limit.
#[derive(Debug, Clone, Copy)]
enum Overflow {
    /// The limit is what the cost budget still pays for.
    Budget(Cap),
    /// The limit is a size limit.
    Size(SizeKind, usize),
}

/// A string that refuses to grow past a limit.
#[derive(Debug)]
pub struct Text {
    buf: String,
    limit: usize,
    overflow: Overflow,
}

impl Text {
    /// Text of at most `limit` bytes, refused past it as `kind` (a size
    /// limit of the [`crate::Limits`]).
    pub(crate) fn sized(kind: SizeKind, limit: usize) -> Text {
        Text {
            buf: String::new(),
            limit,
            overflow: Overflow::Size(kind, limit),
        }
    }

    /// Text of at most `limit` bytes, which is what the cost budget `cap`
    /// still pays for.
    pub(crate) fn budgeted(limit: usize, cap: Cap) -> Text {
        Text {
            buf: String::new(),
            limit,
            overflow: Overflow::Budget(cap),
        }
    }

    /// Bytes written.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing is written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes that may still be written.
    pub fn room(&self) -> usize {
        self.limit - self.buf.len()
    }

    /// Empty text for a part written apart (and added later), with the room
    /// this text has left after `used` more bytes.
    pub fn scratch(&self, used: usize) -> Text {
        Text {
            buf: String::new(),
            limit: self.room().saturating_sub(used),
            overflow: self.overflow,
        }
    }

    /// Fails unless `n` more bytes fit; makes room for them (never more
    /// than the limit).
    pub fn make_room(&mut self, n: usize) -> Result<(), EvalError> {
        let needed = self.buf.len().saturating_add(n);
        if needed > self.limit {
            return Err(self.error(needed));
        }
        if needed > self.buf.capacity() {
            let target = needed
                .max(self.buf.capacity().saturating_mul(2))
                .min(self.limit);
            self.buf.reserve_exact(target - self.buf.len());
        }
        Ok(())
    }

    /// Appends `s`.
    pub fn push_str(&mut self, s: &str) -> Result<(), EvalError> {
        self.make_room(s.len())?;
        self.buf.push_str(s);
        Ok(())
    }

    /// Appends `c`.
    pub fn push(&mut self, c: char) -> Result<(), EvalError> {
        self.make_room(c.len_utf8())?;
        self.buf.push(c);
        Ok(())
    }

    /// Makes room for `n` bytes, then lets `write` append at most that
    /// many.
    pub fn append(&mut self, n: usize, write: impl FnOnce(&mut String)) -> Result<(), EvalError> {
        self.make_room(n)?;
        let before = self.buf.len();
        write(&mut self.buf);
        debug_assert!(
            self.buf.len() - before <= n,
            "wrote more than the room made"
        );
        Ok(())
    }

    /// Drops what was written after the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// The text written.
    pub fn as_str(&self) -> &str {
        &self.buf
    }

    /// The text written.
    pub fn into_string(self) -> String {
        self.buf
    }

    #[cold]
    fn error(&self, size: usize) -> EvalError {
        match self.overflow {
            Overflow::Budget(cap) => cap.error(),
            Overflow::Size(kind, limit) => EvalError::TooLarge {
                kind,
                size: size as u64,
                limit: limit as u64,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_never_allocates_past_its_limit() {
        let mut t = Text::sized(SizeKind::String, 10);
        t.push_str("abcdef").unwrap();
        assert!(t.push_str("ghijk").is_err());
        assert_eq!(t.as_str(), "abcdef");
        t.push_str("ghij").unwrap();
        assert!(t.buf.capacity() <= 10);
        assert!(matches!(
            t.push('k'),
            Err(EvalError::TooLarge {
                size: 11,
                limit: 10,
                ..
            })
        ));
        let scratch = t.scratch(0);
        assert_eq!(scratch.room(), 0);
    }

    #[test]
    fn budget_bound_text_reports_the_budget() {
        let mut t = Text::budgeted(4, Cap::Expression(1_000));
        assert!(matches!(
            t.push_str("12345"),
            Err(EvalError::CostExceeded { limit: 1_000 })
        ));
    }
}
