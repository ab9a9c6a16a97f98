//! How library functions are estimated: each library declares a
//! [`CallRule`] with its functions (`Env::set_cost_rule`), the static
//! counterpart of what its implementation charges on the meter, and
//! [`estimate`] applies it to the bounds of the arguments. A function
//! shared by several libraries (`indexOf`, `reverse`, `string`) has one
//! rule that covers all its overloads.

use super::{
    Cost, Est, Estimator, Outcome, element_of, elements_path, int_literal, string_literal,
};
use crate::ast::{Expr, ExprKind};
use crate::cost::bound::{Bound, Parts};
use crate::cost::units;
use crate::regexes::{compile_cost_of, match_cost_of};
use crate::types::Type;

/// What a library function costs, and what it produces, in terms of its
/// arguments' sizes. Every call also pays for its node and for reading its
/// arguments, as in the evaluator; a rule adds the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallRule {
    /// Returns a scalar, or a value of a few bytes, and does nothing
    /// beyond reading its arguments.
    Scalar,
    /// Returns one of its arguments (or the value an optional holds).
    Passes,
    /// Returns an element of its receiver (`first`, `_[?_]`, `sum`).
    Element,
    /// Compares the receiver's elements with one another (`isSorted`,
    /// `min`, `max`): a visit each, their text read.
    ComparesElements,
    /// Searches its receiver: a string's text (`indexOf` on strings) or a
    /// list's elements one by one.
    Searches,
    /// Hashes its string argument (the last one), `bytes_per_unit` bytes
    /// a unit; returns a scalar or a digest of a few bytes.
    Hashes { bytes_per_unit: u64 },
    /// Copies its receiver into a new string of at most `times / per` its
    /// length plus `plus` bytes; at least as long as the receiver when
    /// `keeps_length`.
    Copies {
        times: u64,
        per: u64,
        plus: u64,
        keeps_length: bool,
    },
    /// Parses text into a value holding it (a URL, a quantity), copying
    /// it `copies` times.
    Parses { copies: u64 },
    /// `string(v)` and `bytes(v)`: copies between strings and bytes,
    /// formats a scalar.
    Converts,
    /// Reverses a string or a list.
    Reverses,
    /// `matches`: compiles a pattern that is not a literal, runs it.
    Matches,
    /// `find`: as `Matches`, and copies the match.
    Finds,
    /// `findAll`: as `Matches`, and copies every match into a list.
    FindsAll,
    /// `replace`.
    Replaces,
    /// `split`.
    Splits,
    /// `join`.
    Joins,
    /// `format`.
    Formats,
    /// `json.marshal`.
    Marshals,
    /// `json.unmarshal`: reserves `bytes_per_byte` bytes per byte of text.
    Unmarshals { bytes_per_byte: u64 },
    /// `lists.range(n)`.
    Range,
    /// A new list of at most the receiver's elements (`slice`), plus
    /// `added` (`lists.insertAtIndex`); its elements may be replaced by the
    /// last argument when `replaces`.
    CopiesList { added: u64, replaces: bool },
    /// `flatten`.
    Flattens,
    /// `sort` and `sortBy`: about `n log n` comparisons of the last
    /// argument's elements (the keys), a new list.
    Sorts,
    /// `distinct`: sorts keys of `key_bytes` bytes each, compares the
    /// elements that have none pairwise.
    Distincts { key_bytes: u64 },
    /// `merge`: a new map with the entries of both.
    Merges,
    /// `deepMerge`: every map on the way copied.
    DeepMerges,
    /// `random.seededString(n, seed)`: hashes the seed, `bytes_per_unit` a
    /// unit, and makes `n` bytes (at most `max`).
    SeededString { max: u64, bytes_per_unit: u64 },
    /// `runtime.newCondition(map)` and `runtime.condition(obj, type)`: a
    /// map of four strings taken from the last-but-one argument.
    Condition,
    /// A URL's `getQuery()`: a map of lists of the query's parts.
    Query,
}

/// One argument of a call: its estimate, type and expression.
pub(crate) struct Arg<'e, 't> {
    pub(crate) est: Est,
    pub(crate) ty: Option<&'t Type>,
    pub(crate) expr: &'e Expr,
}

/// What a call of a function with `rule` (none: an unknown function) adds
/// to the cost of its node, and what it returns.
pub(crate) fn estimate(
    e: &mut Estimator<'_>,
    rule: Option<CallRule>,
    args: &[Arg<'_, '_>],
    result_ty: Option<&Type>,
) -> Outcome {
    let Some(rule) = rule else {
        return unknown(e, args);
    };
    let first = args.first().map(|a| &a.est.value);
    let receiver = first.cloned().unwrap_or_else(Bound::nothing);
    let last = args
        .last()
        .map_or_else(Bound::nothing, |a| a.est.value.clone());
    match rule {
        CallRule::Scalar => Outcome::free(Bound::text(0, 32)),
        CallRule::Passes => {
            let mut value = receiver;
            for a in args.iter().skip(1) {
                value = value.join(&a.est.value);
            }
            Outcome::free(value)
        }
        CallRule::Element => Outcome::free(element(e, args, result_ty)),
        CallRule::ComparesElements => {
            e.note_deep(&receiver);
            let work = units::visits(receiver.len.saturating_mul(2))
                .saturating_add(units::read(receiver.bytes));
            Outcome::free(element(e, args, result_ty)).plus(Cost::between(0, work))
        }
        CallRule::Searches => {
            let work = if matches!(args.first().and_then(|a| a.ty), Some(Type::String)) {
                0
            } else {
                e.note_deep(&receiver);
                units::visits(receiver.walk_steps())
            };
            Outcome::free(Bound::scalar()).plus(Cost::between(0, work))
        }
        CallRule::Hashes { bytes_per_unit } => {
            e.note_len(&last);
            Outcome::free(Bound::text(0, 32)).plus(Cost::between(
                last.min_len / bytes_per_unit,
                last.len / bytes_per_unit,
            ))
        }
        CallRule::Copies {
            times,
            per,
            plus,
            keeps_length,
        } => {
            let scale = |n: u64| n.saturating_mul(times).div_ceil(per).saturating_add(plus);
            let least = if keeps_length {
                scale(receiver.min_len)
            } else {
                0
            };
            e.produce_string(least, scale(receiver.len))
        }
        CallRule::Parses { copies } => {
            let mut out = e.produce_string(0, receiver.len.saturating_mul(copies));
            out.value = Bound::text(0, receiver.len);
            out
        }
        CallRule::Converts => converts(e, args, result_ty),
        CallRule::Reverses => match args.first().and_then(|a| a.ty) {
            Some(Type::String) => e.produce_string(receiver.min_len, receiver.len),
            _ => {
                let element = e.element(&receiver, None, None);
                e.produce_list(receiver.min_len, receiver.len, element)
            }
        },
        CallRule::Matches => Outcome::free(Bound::scalar()).plus(regex_cost(args)),
        CallRule::Finds => e.produce_string(0, receiver.len).plus(regex_cost(args)),
        CallRule::FindsAll => find_all(e, &receiver).plus(regex_cost(args)),
        CallRule::Replaces => replaces(e, args),
        CallRule::Splits => splits(e, args),
        CallRule::Joins => joins(e, args),
        CallRule::Formats => formats(e, args),
        CallRule::Marshals => {
            e.note_deep(&receiver);
            e.produce_string(receiver.min_bytes, receiver.json_bytes())
        }
        CallRule::Unmarshals { bytes_per_byte } => {
            let reserved = units::bytes(receiver.len.saturating_mul(bytes_per_byte));
            let text = receiver.len;
            let value = Bound {
                min_len: 0,
                len: text,
                values: text / 2 + 1,
                min_bytes: 0,
                bytes: text,
                parts: Parts::Unknown,
                origin: receiver.origin.clone(),
            };
            Outcome::free(value).plus(Cost::between(0, reserved))
        }
        CallRule::Range => {
            let (least, most) = match args.first().and_then(|a| int_literal(a.expr)) {
                Some(n) => {
                    let n = u64::try_from(n).unwrap_or(0);
                    (n, n)
                }
                None => (0, e.limits.max_collection_size as u64),
            };
            e.produce_list(least, most, Bound::scalar())
        }
        CallRule::CopiesList { added, replaces } => {
            let mut element = e.element(&receiver, None, None);
            if replaces {
                element = element.join(&last);
            }
            let least = receiver.min_len.saturating_sub(1);
            e.produce_list(least, receiver.len.saturating_add(added), element)
        }
        CallRule::Flattens => {
            e.note_deep(&receiver);
            let most = receiver.values;
            let inside = receiver.inside();
            let mut out = e.produce_list(0, most, inside);
            out.value.values = receiver.values;
            out.value.bytes = receiver.bytes;
            out.plus(Cost::between(0, units::visits(receiver.values)))
        }
        CallRule::Sorts => sorts(e, &receiver, &last),
        CallRule::Distincts { key_bytes } => distincts(e, args, &receiver, key_bytes),
        CallRule::Merges => {
            let right = args
                .get(1)
                .map_or_else(Bound::nothing, |a| a.est.value.clone());
            let key = Estimator::key(&receiver).join(&Estimator::key(&right));
            let value = element_of(&receiver).join(&element_of(&right));
            e.produce_map(
                receiver.min_len.max(right.min_len),
                receiver.len.saturating_add(right.len),
                key,
                value,
            )
        }
        CallRule::DeepMerges => {
            let right = args
                .get(1)
                .map_or_else(Bound::nothing, |a| a.est.value.clone());
            e.note_deep(&receiver);
            e.note_deep(&right);
            let values = receiver.values.saturating_add(right.values);
            let mut out = e.produce_map(0, values, Bound::nothing(), Bound::nothing());
            out.value = Bound {
                min_len: 0,
                len: receiver.len.saturating_add(right.len),
                values,
                min_bytes: 0,
                bytes: receiver.bytes.saturating_add(right.bytes),
                parts: Parts::Unknown,
                origin: None,
            };
            out
        }
        CallRule::SeededString {
            max,
            bytes_per_unit,
        } => {
            let (least, most) = match args.first().and_then(|a| int_literal(a.expr)) {
                Some(n) => {
                    let n = u64::try_from(n).unwrap_or(0).min(max);
                    (n, n)
                }
                None => (0, max),
            };
            e.produce_string(least, most)
                .plus(Cost::between(0, last.len / bytes_per_unit))
        }
        CallRule::Condition => {
            let source = args
                .len()
                .checked_sub(2)
                .and_then(|i| args.get(i))
                .map_or_else(Bound::nothing, |a| a.est.value.clone());
            e.note_deep(&source);
            let text = Bound::text(0, source.bytes);
            let copied = e.produce_string(0, source.bytes).cost;
            let work = units::visits(source.values).saturating_add(units::read(last.len));
            e.produce_map(0, 4, Bound::text(0, 7), text)
                .plus(copied)
                .plus(Cost::between(0, work))
        }
        CallRule::Query => {
            let text = receiver.len;
            let parts = Bound::list(0, text, Bound::text(0, text));
            let mut out = e.produce_map(0, text, Bound::text(0, text), parts);
            out.value.bytes = text;
            out.value.values = text.saturating_mul(2).saturating_add(1);
            let lists = e.produce_list(0, text, Bound::nothing()).cost;
            let copied = e.produce_string(0, text).cost;
            out.plus(lists).plus(copied)
        }
    }
}

/// A function no library described: it may return as much as all its
/// arguments hold, copied.
fn unknown(e: &mut Estimator<'_>, args: &[Arg<'_, '_>]) -> Outcome {
    let mut value = Bound::nothing();
    let (mut values, mut bytes) = (1u64, 0u64);
    for a in args {
        e.note_deep(&a.est.value);
        value = value.join(&a.est.value);
        values = values.saturating_add(a.est.value.values);
        bytes = bytes.saturating_add(a.est.value.bytes);
    }
    let copied = e.produce_string(0, bytes).cost;
    value.values = values;
    value.bytes = bytes;
    value.len = value.len.max(values).max(bytes);
    value.parts = Parts::Unknown;
    Outcome::free(value).plus(copied)
}

/// The element a call returns: of its receiver (a list or a map).
fn element(e: &mut Estimator<'_>, args: &[Arg<'_, '_>], result_ty: Option<&Type>) -> Bound {
    let Some(receiver) = args.first() else {
        return Bound::scalar();
    };
    let ty = result_ty.map(|t| t.optional_inner().unwrap_or(t));
    let path = receiver.est.path.as_ref().map(elements_path);
    e.element(&receiver.est.value, ty, path.as_ref())
}

/// Compiling the pattern (the second argument) unless it is a literal,
/// which the program compiled once; matching the text.
fn regex_cost(args: &[Arg<'_, '_>]) -> Cost {
    let text = args.first().map_or(0, |a| a.est.value.len);
    let compile = match args.get(1) {
        Some(pattern) if string_literal(pattern.expr).is_none() => {
            compile_cost_of(pattern.est.value.len)
        }
        _ => 0,
    };
    Cost::between(0, compile.saturating_add(match_cost_of(text)))
}

/// `string(v)`, `bytes(v)`: bytes and strings are copied; other values
/// are formatted in a few bytes, or give back the text they hold.
fn converts(e: &mut Estimator<'_>, args: &[Arg<'_, '_>], result_ty: Option<&Type>) -> Outcome {
    let Some(arg) = args.first() else {
        return Outcome::free(Bound::scalar());
    };
    let v = &arg.est.value;
    let copies = match (arg.ty, result_ty) {
        (Some(Type::String), Some(Type::String)) => false,
        (Some(Type::Bytes), Some(Type::Bytes)) => false,
        (Some(Type::String | Type::Bytes | Type::Dyn) | None, _) => true,
        _ => false,
    };
    if copies {
        return e.produce_string(v.min_len, v.len);
    }
    Outcome::free(Bound::text(v.min_len, v.len.max(32)))
}

/// Every match of a pattern, each copied into a list: at most one per
/// byte (and one more, empty).
fn find_all(e: &mut Estimator<'_>, text: &Bound) -> Outcome {
    let most = text.len.saturating_add(1);
    let mut out = e.produce_list(0, most, Bound::text(0, text.len));
    out.value.bytes = text.len;
    out.value.values = most.saturating_add(1);
    // Each match is reserved apart, rounding up to a unit.
    let copied = units::bytes(text.len).saturating_add(most);
    out.plus(Cost::between(0, copied))
}

/// `s.replace(old, new[, n])`: every occurrence replaced.
fn replaces(e: &mut Estimator<'_>, args: &[Arg<'_, '_>]) -> Outcome {
    let value = |i: usize| {
        args.get(i)
            .map_or_else(Bound::nothing, |a| a.est.value.clone())
    };
    let (s, old, new) = (value(0), value(1), value(2));
    // An empty pattern matches before every character and at the end.
    let occurrences = match old.min_len {
        0 => s.len.saturating_add(1),
        n => s.len / n,
    };
    let most = s.len.saturating_add(occurrences.saturating_mul(new.len));
    let least = if new.min_len >= old.len { s.min_len } else { 0 };
    e.produce_string(least, most)
}

/// `s.split(sep[, n])`: at most one part per byte, all of `s` copied.
fn splits(e: &mut Estimator<'_>, args: &[Arg<'_, '_>]) -> Outcome {
    let s = args
        .first()
        .map_or_else(Bound::nothing, |a| a.est.value.clone());
    let parts = s.len.saturating_add(1);
    let mut out = e.produce_list(0, parts, Bound::text(0, s.len));
    out.value.bytes = s.len;
    out.value.values = parts.saturating_add(1);
    let copied = e.produce_string(0, s.len).cost;
    out.plus(copied)
}

/// `list.join([sep])`: the text of every element, and a separator
/// between two.
fn joins(e: &mut Estimator<'_>, args: &[Arg<'_, '_>]) -> Outcome {
    let list = args
        .first()
        .map_or_else(Bound::nothing, |a| a.est.value.clone());
    let sep = args
        .get(1)
        .map_or_else(|| Bound::text(0, 0), |a| a.est.value.clone());
    e.note_deep(&list);
    let element = element_of(&list);
    let text = list.bytes.min(list.len.saturating_mul(element.len));
    let separators = sep.len.saturating_mul(list.len);
    let least = list
        .min_bytes
        .saturating_add(sep.min_len.saturating_mul(list.min_len.saturating_sub(1)));
    e.produce_string(least, text.saturating_add(separators))
}

/// Bytes one clause other than `%s` may write: a number with up to a
/// hundred decimals.
const NUMBER_CLAUSE_BYTES: u64 = 420;

/// `fmt.format(args)`: the format's text, and each argument written once,
/// `%s` as its display text, numbers in a few hundred bytes.
fn formats(e: &mut Estimator<'_>, args: &[Arg<'_, '_>]) -> Outcome {
    let value = |i: usize| {
        args.get(i)
            .map_or_else(Bound::nothing, |a| a.est.value.clone())
    };
    let (fmt, list) = (value(0), value(1));
    e.note_deep(&list);
    let clauses = list.len.min(fmt.len / 2);
    let most = fmt
        .len
        .saturating_add(list.display_bytes())
        .saturating_add(clauses.saturating_mul(NUMBER_CLAUSE_BYTES));
    let least = match (args.first().map(|a| a.expr), args.get(1).map(|a| a.expr)) {
        (Some(f), Some(l)) => written_at_least(f, l, &list),
        _ => 0,
    };
    e.produce_string(least, most)
}

/// The least a format writes: when it is a literal of `%s` clauses only
/// and its arguments a list literal it uses up, all their text and its
/// own.
fn written_at_least(fmt: &Expr, args: &Expr, list: &Bound) -> u64 {
    let (Some(text), ExprKind::List { elements, .. }) = (string_literal(fmt), &args.kind) else {
        return 0;
    };
    let clauses = text.matches('%').count();
    let plain = text.matches("%s").count();
    if clauses != plain || elements.len() > plain {
        return 0;
    }
    let literal = text.len().saturating_sub(2 * plain) as u64;
    literal.saturating_add(list.min_bytes)
}

/// `sort()` and `sortBy()`: `n log2 n` comparisons of two keys each, their
/// text read as often, a new list and an index of `n` words.
fn sorts(e: &mut Estimator<'_>, items: &Bound, keys: &Bound) -> Outcome {
    e.note_len(items);
    let n = keys.len;
    let rounds = u64::from(u64::BITS - n.leading_zeros());
    let compared = units::visits(n.saturating_mul(rounds).saturating_mul(2))
        .saturating_add(units::read(keys.bytes.saturating_mul(rounds)))
        .saturating_add(units::bytes(n.saturating_mul(8)));
    let element = element_of(items);
    let mut out = e.produce_list(items.min_len, items.len, element);
    out.value = Bound {
        parts: items.parts.clone(),
        origin: items.origin.clone(),
        ..out.value
    };
    out.plus(Cost::between(0, compared))
}

/// `distinct()`: keys sorted when the elements have them; lists, maps and
/// values of unknown type compared with those kept.
fn distincts(e: &mut Estimator<'_>, args: &[Arg<'_, '_>], list: &Bound, key_bytes: u64) -> Outcome {
    e.note_deep(list);
    let n = list.len;
    let rounds = u64::from(u64::BITS - n.leading_zeros());
    let mut work = units::visits(n.saturating_mul(rounds.saturating_add(1)))
        .saturating_add(units::read(list.bytes.saturating_mul(rounds)))
        .saturating_add(units::bytes(n.saturating_mul(key_bytes)));
    let keyed = match args.first().and_then(|a| a.ty) {
        Some(Type::List(element)) => !matches!(
            &**element,
            Type::List(_) | Type::Map(..) | Type::Dyn | Type::Object(_) | Type::Opaque(..)
        ),
        _ => false,
    };
    if !keyed {
        work = work.saturating_add(units::visits(n.saturating_mul(list.walk_steps())));
    }
    let element = element_of(list);
    let mut out = e.produce_list(list.min_len.min(1), list.len, element);
    out.value = Bound {
        parts: list.parts.clone(),
        origin: list.origin.clone(),
        ..out.value
    };
    out.value.values = list.values;
    out.value.bytes = list.bytes;
    out.plus(Cost::between(0, work))
}
