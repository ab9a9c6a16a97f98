//! The Kubernetes `regex` library: `find` and `findAll`.
//!
//! Patterns are compiled through the meter (once per evaluation, literal
//! ones once per program, see `regexes.rs`), matching is charged per byte
//! searched, and every match is reserved before it is copied.

use super::chain::{R, overload};
use crate::cost::CallRule;
use crate::decls::Env;
use crate::meter::Meter;
use crate::regexes::match_cost;
use crate::value::Value;

pub(crate) fn install(env: &mut Env) {
    overload(
        env,
        "find",
        &["string.(string) -> string"],
        |a, m| match a {
            [Value::String(s), Value::String(re)] => Some(find(s, re, m)),
            _ => None,
        },
    );
    overload(
        env,
        "findAll",
        &[
            "string.(string) -> list(string)",
            "string.(string, int) -> list(string)",
        ],
        |a, m| match a {
            [Value::String(s), Value::String(re)] => Some(find_all(s, re, -1, m)),
            [Value::String(s), Value::String(re), Value::Int(n)] => Some(find_all(s, re, *n, m)),
            _ => None,
        },
    );
    env.set_cost_rule("find", CallRule::Finds);
    env.set_cost_rule("findAll", CallRule::FindsAll);
}

/// The first match, or `""` when there is none.
fn find(s: &str, re: &str, m: &mut Meter<'_>) -> R {
    let re = m.regex(re)?;
    m.charge(match_cost(s.len()))?;
    let found = re.find(s).map_or("", |found| found.as_str());
    m.reserve_string(found.len())?;
    Ok(Value::from(found))
}

/// Up to `n` matches (all of them when `n` is negative).
fn find_all(s: &str, re: &str, n: i64, m: &mut Meter<'_>) -> R {
    let re = m.regex(re)?;
    m.charge(match_cost(s.len()))?;
    let limit = usize::try_from(n).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for found in re.find_iter(s).take(limit) {
        m.grow_list(out.len() + 1, 1)?;
        m.reserve_string(found.len())?;
        out.push(Value::from(found.as_str()));
    }
    Ok(Value::list(out))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fails, truthy};

    #[test]
    fn find() {
        truthy("'abc 123'.find('[0-9]+') == '123'");
        truthy("'abc'.find('[0-9]+') == ''");
        fails("'abc'.find('[')", "invalid regular expression");
    }

    #[test]
    fn find_all() {
        truthy("'123 abc 456'.findAll('[0-9]+') == ['123', '456']");
        truthy("'123 abc 456'.findAll('[0-9]+', 1) == ['123']");
        truthy("'123 abc 456'.findAll('[0-9]+', 0) == []");
        truthy("'123 abc 456'.findAll('[0-9]+', -1) == ['123', '456']");
        truthy("'abc'.findAll('x') == []");
        fails("'abc'.findAll('(')", "invalid regular expression");
    }
}
