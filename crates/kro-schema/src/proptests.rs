//! Property tests: schemas generated from the grammar always convert, their
//! defaults are valid and survive quoting, and no input makes the parsers
//! panic.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::ir::{Field, FieldType};
use crate::simple_schema::markers::parse_markers;
use crate::simple_schema::types::TypeExpr;
use crate::{openapi, parse_field, parse_spec};

/// A generated field: its SimpleSchema text (or nested map) and what the
/// parser should make of the parts we can predict.
#[derive(Debug, Clone)]
struct Generated {
    spec: Value,
    description: Option<String>,
    default: Option<Value>,
}

/// Text as an author would quote it: wrapped in `"`, with `"` and `\`
/// escaped.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Descriptions full of characters that matter to the marker syntax.
fn description() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[a-z \"\\\\|=\\[\\]{}]{0,12}")
}

fn words() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::btree_set("[a-z]{1,6}", 1..4).prop_map(|s| s.into_iter().collect())
}

fn render(ty: &str, markers: Vec<String>, description: &Option<String>) -> String {
    let mut markers = markers;
    if let Some(text) = description {
        markers.push(format!("description={}", quote(text)));
    }
    if markers.is_empty() {
        ty.to_owned()
    } else {
        format!("{ty} | {}", markers.join(" "))
    }
}

fn string_field() -> impl Strategy<Value = Generated> {
    (
        0usize..4,
        0usize..6,
        proptest::option::of(words()),
        any::<bool>(),
        any::<bool>(),
        "[a-z]{0,12}",
        description(),
    )
        .prop_map(
            |(min, extra, enum_values, pattern, with_default, seed, description)| {
                let max = min + extra;
                let mut markers = vec![format!("minLength={min}"), format!("maxLength={max}")];
                if pattern {
                    markers.push("pattern=\"^[a-z]*$\"".to_owned());
                }
                let mut default = None;
                match enum_values {
                    Some(values) => {
                        // Keep only values the length bounds allow; if none do,
                        // drop the bounds rather than produce an invalid schema.
                        let fitting: Vec<&String> = values
                            .iter()
                            .filter(|v| (min..=max).contains(&v.len()))
                            .collect();
                        if fitting.is_empty() {
                            markers.truncate(0);
                            if pattern {
                                markers.push("pattern=\"^[a-z]*$\"".to_owned());
                            }
                        }
                        markers.push(format!("enum={}", quote(&values.join(","))));
                        if with_default {
                            let pick = fitting.first().copied().unwrap_or(&values[0]);
                            default = Some(Value::String(pick.clone()));
                        }
                    }
                    None if with_default => {
                        let mut text: String = seed.chars().take(max).collect();
                        while text.len() < min {
                            text.push('x');
                        }
                        default = Some(Value::String(text));
                    }
                    None => {}
                }
                if let Some(Value::String(text)) = &default {
                    markers.push(format!("default={}", quote(text)));
                }
                Generated {
                    spec: Value::String(render("string", markers, &description)),
                    description,
                    default,
                }
            },
        )
}

fn integer_field() -> impl Strategy<Value = Generated> {
    (
        -1000i64..1000,
        0i64..100,
        0i64..100,
        any::<bool>(),
        description(),
    )
        .prop_map(|(min, extra, offset, with_default, description)| {
            let max = min + extra;
            let mut markers = vec![format!("minimum={min}"), format!("maximum={max}")];
            let default = with_default.then(|| json!(min + offset.min(extra)));
            if let Some(d) = &default {
                markers.push(format!("default={d}"));
            }
            markers.push("immutable=true".to_owned());
            Generated {
                spec: Value::String(render("integer", markers, &description)),
                description,
                default,
            }
        })
}

fn float_field() -> impl Strategy<Value = Generated> {
    (
        -1.0e6f64..1.0e6,
        0.0f64..1.0e3,
        any::<bool>(),
        description(),
    )
        .prop_map(|(min, extra, with_default, description)| {
            let max = min + extra;
            let mut markers = vec![format!("minimum={min}"), format!("maximum={max}")];
            let default = with_default.then(|| json!(min));
            if default.is_some() {
                markers.push(format!("default={min}"));
            }
            Generated {
                spec: Value::String(render("float", markers, &description)),
                description,
                default,
            }
        })
}

fn boolean_field() -> impl Strategy<Value = Generated> {
    (proptest::option::of(any::<bool>()), description()).prop_map(|(default, description)| {
        let markers = default
            .map(|d| vec![format!("default={d}")])
            .unwrap_or_default();
        Generated {
            spec: Value::String(render("boolean", markers, &description)),
            description,
            default: default.map(Value::Bool),
        }
    })
}

fn list_field() -> impl Strategy<Value = Generated> {
    (words(), any::<bool>(), any::<bool>(), description()).prop_map(
        |(items, unique, with_default, description)| {
            let mut markers = vec![
                format!("minItems={}", items.len()),
                format!("maxItems={}", items.len() + 2),
            ];
            if unique {
                markers.push("uniqueItems=true".to_owned());
            }
            let default = with_default.then(|| json!(items));
            if let Some(d) = &default {
                markers.push(format!("default={d}"));
            }
            Generated {
                spec: Value::String(render("[]string", markers, &description)),
                description,
                default,
            }
        },
    )
}

fn map_field() -> impl Strategy<Value = Generated> {
    (
        proptest::collection::btree_map("[a-z]{1,4}", -5i64..5, 0..3),
        any::<bool>(),
    )
        .prop_map(|(entries, with_default)| {
            let default = with_default.then(|| json!(entries));
            let markers = default.iter().map(|d| format!("default={d}")).collect();
            Generated {
                spec: Value::String(render("map[string]integer", markers, &None)),
                description: None,
                default,
            }
        })
}

fn leaf() -> impl Strategy<Value = Generated> {
    prop_oneof![
        string_field(),
        integer_field(),
        float_field(),
        boolean_field(),
        list_field(),
        map_field(),
        Just(Generated {
            spec: json!("object"),
            description: None,
            default: None
        }),
    ]
}

/// A struct of generated fields, possibly nested.
fn struct_spec() -> impl Strategy<Value = Value> {
    let leaf_map =
        proptest::collection::btree_map("[a-z][a-zA-Z]{0,6}", leaf(), 1..6).prop_map(|fields| {
            Value::Object(
                fields
                    .into_iter()
                    .map(|(k, g)| (k, g.spec))
                    .collect::<Map<_, _>>(),
            )
        });
    leaf_map.prop_recursive(3, 24, 4, |inner| {
        proptest::collection::btree_map("[a-z][a-zA-Z]{0,6}", inner, 1..4)
            .prop_map(|fields| Value::Object(fields.into_iter().collect()))
    })
}

/// Every default in the tree is valid for its field.
fn assert_defaults_valid(field: &Field) {
    if let Some(default) = &field.default {
        assert_eq!(field.check_value(default), Ok(()), "default {default}");
    }
    match &field.ty {
        FieldType::Array(item) | FieldType::Map(item) => assert_defaults_valid(item),
        FieldType::Struct(children) => children.values().for_each(assert_defaults_valid),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_leaves_parse_as_written(generated in leaf()) {
        let Value::String(text) = &generated.spec else { unreachable!("leaves are strings") };
        let field = parse_field(text, "spec.f").map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(&field.description, &generated.description, "{}", text);
        prop_assert_eq!(&field.default, &generated.default, "{}", text);
        if let Some(default) = &field.default {
            prop_assert_eq!(field.check_value(default), Ok(()));
        }
    }

    #[test]
    fn generated_schemas_convert_and_their_defaults_validate(spec in struct_spec()) {
        let field = parse_spec(Some(&spec), None)
            .map_err(|e| TestCaseError::fail(format!("{spec}: {e}")))?;
        assert_defaults_valid(&field);
        let schema = openapi::to_json_schema(&field);
        let json = serde_json::to_value(&schema).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(json["type"].as_str(), Some("object"));
        // Conversion is deterministic.
        prop_assert_eq!(serde_json::to_value(openapi::to_json_schema(&field)).ok(), Some(json));
    }

    #[test]
    fn the_same_schema_as_a_custom_type_gives_the_same_field(spec in struct_spec()) {
        let direct = parse_spec(Some(&spec), None)
            .map_err(|e| TestCaseError::fail(format!("{spec}: {e}")))?;
        let via_type = parse_spec(Some(&json!({ "x": "T" })), Some(&json!({ "T": spec })))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let FieldType::Struct(children) = via_type.ty else { unreachable!("spec is a struct") };
        prop_assert_eq!(children.get("x"), Some(&direct));
    }

    #[test]
    fn arbitrary_marker_text_never_panics(text in any::<String>()) {
        let _ = parse_markers(&text);
        for ty in ["string", "integer", "float", "boolean", "object", "[]string", "map[string]string"] {
            let _ = parse_field(&format!("{ty} | {text}"), "spec.f");
        }
    }

    #[test]
    fn marker_like_text_never_panics(text in "([a-zA-Z]{1,10}=(\"[^\"]{0,8}\"?|[\\[\\]{}a-z0-9,\\\\\" ]{0,10}) ?){0,4}") {
        if let Ok(field) = parse_field(&format!("string | {text}"), "spec.f")
            && let Some(default) = &field.default
        {
            prop_assert_eq!(field.check_value(default), Ok(()));
        }
    }

    #[test]
    fn arbitrary_type_text_never_panics(text in any::<String>()) {
        let _ = TypeExpr::parse(&text);
        let _ = parse_field(&text, "spec.f");
    }

    #[test]
    fn arbitrary_json_never_panics(spec in arbitrary_json(), types in arbitrary_json()) {
        let _ = parse_spec(Some(&spec), Some(&types));
    }
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z\\[\\]| =\"]{0,16}".prop_map(Value::String),
        prop_oneof![
            Just("string"),
            Just("[]T"),
            Just("map[string]T"),
            Just("T"),
            Just("U | required=true"),
            Just("integer | default=1")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[A-Za-z]{0,3}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
