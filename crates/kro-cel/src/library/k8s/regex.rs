//! The Kubernetes `regex` library: `find` and `findAll`.

use regex::Regex;

use super::chain::{R, overload};
use crate::decls::Env;
use crate::error::EvalError;
use crate::value::Value;

pub(crate) fn install(env: &mut Env) {
    overload(env, "find", &["string.(string) -> string"], |a| match a {
        [Value::String(s), Value::String(re)] => Some(find(s, re)),
        _ => None,
    });
    overload(
        env,
        "findAll",
        &[
            "string.(string) -> list(string)",
            "string.(string, int) -> list(string)",
        ],
        |a| match a {
            [Value::String(s), Value::String(re)] => Some(find_all(s, re, -1)),
            [Value::String(s), Value::String(re), Value::Int(n)] => Some(find_all(s, re, *n)),
            _ => None,
        },
    );
}

/// The standard library's compiler: same syntax and size limit as `matches`.
fn compile(re: &str) -> Result<Regex, EvalError> {
    crate::value::ops::compile_regex(re)
}

/// The first match, or `""` when there is none.
fn find(s: &str, re: &str) -> R {
    let re = compile(re)?;
    Ok(Value::from(re.find(s).map_or("", |m| m.as_str())))
}

/// Up to `n` matches (all of them when `n` is negative).
fn find_all(s: &str, re: &str, n: i64) -> R {
    let re = compile(re)?;
    let limit = usize::try_from(n).unwrap_or(usize::MAX);
    Ok(Value::list(
        re.find_iter(s)
            .take(limit)
            .map(|m| Value::from(m.as_str()))
            .collect(),
    ))
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
