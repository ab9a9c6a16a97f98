//! kro's `random` library: deterministic "random" values from a seed, so
//! that a name generated for an instance stays the same on every reconcile.
//!
//! The algorithms must stay bit-exact with upstream kro: names it already
//! generated must not change. In particular `seededString` reads the seed's
//! SHA-256 four bytes at a time, wrapping around after 32 bytes, so its
//! output repeats with a period of 8 characters.

use crate::cost::CallRule;
use sha2::{Digest, Sha256};

use crate::decls::Env;
use crate::error::EvalError;
use crate::value::Value;

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Bytes of seed hashed for one cost unit (SHA-256 takes a few ns a byte).
const HASHED_BYTES_PER_UNIT: u64 = 10;

/// Longest string `random.seededString` makes.
const MAX_LENGTH: usize = 1 << 20;

pub(crate) fn install(env: &mut Env) {
    env.define_metered(
        "random.seededString",
        &["(int, string) -> string"],
        |a, m| match a {
            [Value::Int(n), Value::String(seed)] => {
                m.charge(seed.len() as u64 / HASHED_BYTES_PER_UNIT)?;
                // Lengths past the function's own limit are refused by it.
                if let Ok(length) = usize::try_from(*n)
                    && length <= MAX_LENGTH
                {
                    m.reserve_string(length)?;
                }
                seeded_string(*n, seed)
            }
            _ => Err(EvalError::no_overload("random.seededString", a)),
        },
    );
    env.define_metered(
        "random.seededInt",
        &["(int, int, string) -> int"],
        |a, m| match a {
            [Value::Int(min), Value::Int(max), Value::String(seed)] => {
                m.charge(seed.len() as u64 / HASHED_BYTES_PER_UNIT)?;
                seeded_int(*min, *max, seed)
            }
            _ => Err(EvalError::no_overload("random.seededInt", a)),
        },
    );
    env.set_cost_rule(
        "random.seededString",
        CallRule::SeededString {
            max: MAX_LENGTH as u64,
            bytes_per_unit: HASHED_BYTES_PER_UNIT,
        },
    );
    env.set_cost_rule(
        "random.seededInt",
        CallRule::Hashes {
            bytes_per_unit: HASHED_BYTES_PER_UNIT,
        },
    );
}

/// `length` characters of `[0-9a-z]` derived from `seed`.
pub fn seeded_string(length: i64, seed: &str) -> Result<Value, EvalError> {
    if length <= 0 {
        return Err(EvalError::InvalidArgument(
            "random.seededString length must be positive".into(),
        ));
    }
    // Every character needs work; refuse lengths no name could use rather
    // than allocate without bound.
    let length = usize::try_from(length)
        .ok()
        .filter(|n| *n <= MAX_LENGTH)
        .ok_or_else(|| {
            EvalError::InvalidArgument("random.seededString length is too large".into())
        })?;
    let hash = Sha256::digest(seed.as_bytes());
    let mut out = String::with_capacity(length);
    for i in 0..length {
        let start = (i * 4) % hash.len();
        let word = u32::from_be_bytes([
            hash[start],
            hash[start + 1],
            hash[start + 2],
            hash[start + 3],
        ]);
        out.push(char::from(ALPHABET[(word % 36) as usize]));
    }
    Ok(Value::from(out))
}

/// An integer in `[min, max)` derived from `seed`.
pub fn seeded_int(min: i64, max: i64, seed: &str) -> Result<Value, EvalError> {
    if min >= max {
        return Err(EvalError::InvalidArgument(
            "random.seededInt min must be less than max".into(),
        ));
    }
    let hash = Sha256::digest(seed.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    let v = u64::from_be_bytes(first);
    // The range fits in u64 even for (i64::MIN, i64::MAX); the offset is
    // below the range, so min + offset stays in [min, max).
    let range = max.abs_diff(min);
    let offset = v % range;
    Ok(Value::Int(min.wrapping_add_unsigned(offset)))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{eval, fails, truthy};
    use crate::Value;

    #[test]
    fn seeded_string_matches_upstream() {
        assert_eq!(
            eval("random.seededString(20, 'test-seed')").map(|v| v.to_string()),
            Ok("\"5czheg3o5czheg3o5czh\"".into())
        );
        truthy("random.seededString(8, 'a') == random.seededString(8, 'a')");
        truthy("random.seededString(8, 'a') != random.seededString(8, 'b')");
        truthy("random.seededString(1, 'x').size() == 1");
        truthy("random.seededString(5, 'test-seed') == '5czhe'");
        fails("random.seededString(0, 'x')", "length must be positive");
        fails("random.seededString(-1, 'x')", "length must be positive");
        fails("random.seededString(9223372036854775807, 'x')", "too large");
    }

    #[test]
    fn seeded_int() {
        let v = eval("random.seededInt(0, 100, 'test-seed')").expect("evaluates");
        let Value::Int(n) = v else { panic!("int") };
        assert!((0..100).contains(&n));
        truthy("random.seededInt(5, 6, 'anything') == 5");
        truthy(
            "random.seededInt(-9223372036854775808, 9223372036854775807, 's') < 9223372036854775807",
        );
        truthy("random.seededInt(0, 1000, 'x') == random.seededInt(0, 1000, 'x')");
        fails("random.seededInt(5, 5, 'x')", "min must be less than max");
        fails("random.seededInt(6, 5, 'x')", "min must be less than max");
    }
}
