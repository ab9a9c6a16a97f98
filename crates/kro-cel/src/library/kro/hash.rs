//! kro's `hash` library: `hash.fnv64a`, `hash.sha256` and `hash.md5` of a
//! string, as raw bytes (encode with `base64.encode` or `"%x".format`).
//! Hashing is charged per byte hashed: it is slower than reading.

use crate::cost::CallRule;
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::decls::Env;
use crate::error::EvalError;
use crate::value::Value;

pub(crate) fn install(env: &mut Env) {
    env.define_metered("hash.fnv64a", &["(string) -> bytes"], |a, m| match a {
        [Value::String(s)] => {
            m.charge(hash_cost(s))?;
            Ok(bytes(&fnv64a(s.as_bytes()).to_be_bytes()))
        }
        _ => Err(EvalError::no_overload("hash.fnv64a", a)),
    });
    env.define_metered("hash.sha256", &["(string) -> bytes"], |a, m| match a {
        [Value::String(s)] => {
            m.charge(hash_cost(s))?;
            Ok(bytes(&Sha256::digest(s.as_bytes())))
        }
        _ => Err(EvalError::no_overload("hash.sha256", a)),
    });
    env.define_metered("hash.md5", &["(string) -> bytes"], |a, m| match a {
        [Value::String(s)] => {
            m.charge(hash_cost(s))?;
            Ok(bytes(&Md5::digest(s.as_bytes())))
        }
        _ => Err(EvalError::no_overload("hash.md5", a)),
    });
    for name in ["hash.fnv64a", "hash.sha256", "hash.md5"] {
        env.set_cost_rule(
            name,
            CallRule::Hashes {
                bytes_per_unit: HASHED_BYTES_PER_UNIT,
            },
        );
    }
}

/// Bytes hashed for one cost unit: the digests take 1 to 3 ns a byte.
const HASHED_BYTES_PER_UNIT: u64 = 10;

fn hash_cost(s: &str) -> u64 {
    s.len() as u64 / HASHED_BYTES_PER_UNIT
}

fn bytes(b: &[u8]) -> Value {
    Value::Bytes(b.into())
}

/// 64-bit FNV-1a, as `hash.fnv64a` computes it (kro also hashes RGD specs
/// with it).
pub fn fnv64a(data: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    data.iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::truthy;

    #[test]
    fn known_digests() {
        truthy("'%x'.format([hash.fnv64a('')]) == 'cbf29ce484222325'");
        truthy("'%x'.format([hash.fnv64a('a')]) == 'af63dc4c8601ec8c'");
        truthy(
            "'%x'.format([hash.sha256('abc')]) == 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'",
        );
        truthy("'%x'.format([hash.md5('abc')]) == '900150983cd24fb0d6963f7d28e17f72'");
        truthy("base64.encode(hash.md5('')) == '1B2M2Y8AsgTpgAmY7PhCfg=='");
        truthy("size(hash.sha256('x')) == 32");
    }
}
