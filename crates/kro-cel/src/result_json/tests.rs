use jiff::SignedDuration;
use serde_json::json;

use super::{ConversionError, go_duration, to_template_json};
use crate::{Env, Value};

fn kro_eval(src: &str) -> Value {
    Env::kro()
        .compile(src)
        .unwrap_or_else(|d| panic!("{src}: {d}"))
        .eval(&[])
        .unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn render(src: &str) -> Result<Option<serde_json::Value>, ConversionError> {
    to_template_json(&kro_eval(src))
}

#[test]
fn scalars_and_collections() {
    assert_eq!(render("1 + 1"), Ok(Some(json!(2))));
    assert_eq!(render("1.5"), Ok(Some(json!(1.5))));
    assert_eq!(render("2.0"), Ok(Some(json!(2))));
    assert_eq!(render("-0.0"), Ok(Some(json!(0))));
    assert_eq!(render("1e300"), Ok(Some(json!(1e300))));
    assert_eq!(
        render("json.unmarshal('{\"replicas\": 3}')"),
        Ok(Some(json!({"replicas": 3})))
    );
    assert_eq!(render("'x'"), Ok(Some(json!("x"))));
    assert_eq!(render("null"), Ok(Some(json!(null))));
    assert_eq!(
        render("{'a': [1, true, 'x'], 'b': {'c': null}}"),
        Ok(Some(json!({"a": [1, true, "x"], "b": {"c": null}})))
    );
    assert_eq!(
        render("9223372036854775807u"),
        Ok(Some(json!(9223372036854775807u64)))
    );
}

#[test]
fn time_values() {
    assert_eq!(
        render("timestamp('2024-01-02T03:04:05.678Z')"),
        Ok(Some(json!("2024-01-02T03:04:05Z")))
    );
    assert_eq!(
        render("timestamp('2024-01-02T03:04:05+02:00')"),
        Ok(Some(json!("2024-01-02T01:04:05Z")))
    );
    assert_eq!(
        render("timestamp('0001-01-01T00:00:00Z')"),
        Ok(Some(json!(null)))
    );
    assert_eq!(render("duration('3600s')"), Ok(Some(json!("1h0m0s"))));
    assert_eq!(render("duration('90s')"), Ok(Some(json!("1m30s"))));
    assert_eq!(render("duration('1.5s')"), Ok(Some(json!("1.5s"))));
}

#[test]
fn go_durations() {
    let d = |n: i64| go_duration(SignedDuration::from_nanos(n));
    assert_eq!(d(0), "0s");
    assert_eq!(d(1), "1ns");
    assert_eq!(d(1_500), "1.5µs");
    assert_eq!(d(1_500_000), "1.5ms");
    assert_eq!(d(-2_000_000_000), "-2s");
    assert_eq!(d(3_723_500_000_000), "1h2m3.5s");
    assert_eq!(d(7_200_000_000_000), "2h0m0s");
}

#[test]
fn optionals() {
    assert_eq!(render("optional.none()"), Ok(Some(json!(null))));
    assert_eq!(render("optional.of(3)"), Ok(Some(json!(3))));
    assert_eq!(
        render("{'a': optional.none()}"),
        Ok(Some(json!({"a": null})))
    );
}

#[test]
fn refused_values() {
    assert_eq!(render("b'abc'"), Err(ConversionError::Bytes));
    assert_eq!(
        render("{'h': hash.sha256('x')}"),
        Err(ConversionError::Bytes)
    );
    assert_eq!(
        render("18446744073709551615u"),
        Err(ConversionError::UintOverflow(u64::MAX))
    );
    assert_eq!(
        render("{1: 'a'}"),
        Err(ConversionError::NonStringKey("int64"))
    );
    assert_eq!(
        render("0.0 / 0.0").map_err(|e| e.to_string()),
        Err("json: unsupported value: NaN".into())
    );
    assert_eq!(
        render("quantity('1')"),
        Err(ConversionError::Unsupported("kubernetes.Quantity".into()))
    );
    assert_eq!(
        render("int"),
        Err(ConversionError::Unsupported("type(int)".into()))
    );
    // Encoding explicitly is the way out.
    assert_eq!(render("base64.encode(b'abc')"), Ok(Some(json!("YWJj"))));
}

#[test]
fn omit_removes_fields_and_elements() {
    let env = Env::kro_with(crate::KroOptions { omit: true });
    let eval = |src: &str| {
        to_template_json(
            &env.compile(src)
                .expect("compiles")
                .eval(&[])
                .expect("evaluates"),
        )
    };
    assert_eq!(eval("omit()"), Ok(None));
    assert_eq!(eval("{'a': 1, 'b': omit()}"), Ok(Some(json!({"a": 1}))));
    assert_eq!(eval("[1, omit(), 3]"), Ok(Some(json!([1, 3]))));
    assert_eq!(eval("true ? omit() : 1"), Ok(None));
}
