use serde_json::json;

use super::*;

fn expr(source: &str, start: usize) -> TemplateExpression {
    TemplateExpression {
        source: source.to_owned(),
        span: Span::new(start, start + source.len()),
    }
}

#[test]
fn plain_text_is_literal() {
    assert_eq!(scan("nginx").unwrap(), Template::Literal("nginx".into()));
    assert_eq!(scan("").unwrap(), Template::Literal(String::new()));
    assert_eq!(
        scan("cost: $5 {x}").unwrap(),
        Template::Literal("cost: $5 {x}".into())
    );
}

#[test]
fn whole_value_is_standalone() {
    assert_eq!(
        scan("${schema.spec.name}").unwrap(),
        Template::Standalone(expr("schema.spec.name", 2))
    );
    assert_eq!(
        scan("${ {'a': 1}['a'] }").unwrap(),
        Template::Standalone(expr(" {'a': 1}['a'] ", 2)),
        "braces of map literals are balanced"
    );
}

#[test]
fn text_and_expressions_interpolate() {
    let template = scan("${schema.spec.name}-svc.${ns}").unwrap();
    assert_eq!(
        template,
        Template::Interpolated(vec![
            Part::Expression(expr("schema.spec.name", 2)),
            Part::Text("-svc.".into()),
            Part::Expression(expr("ns", 26)),
        ])
    );
    assert_eq!(template.expressions().len(), 2);
    assert_eq!(
        scan("prefix-${x}").unwrap(),
        Template::Interpolated(vec![
            Part::Text("prefix-".into()),
            Part::Expression(expr("x", 9))
        ])
    );
}

#[test]
fn braces_inside_every_kind_of_string_literal_are_ignored() {
    for source in [
        r#""}""#,
        r"'}'",
        r#"'\'}'"#,
        r#""\"}""#,
        r#""""}""""#,
        r"'''}'''",
        r#"r"\}""#,
        r"R'}'",
        r#"b"}""#,
        r"rb'}'",
        r#"BR"}""#,
    ] {
        let text = format!("${{{source} + x}}");
        assert_eq!(
            scan(&text).unwrap(),
            Template::Standalone(expr(&format!("{source} + x"), 2)),
            "{text}"
        );
    }
}

#[test]
fn identifiers_that_look_like_prefixes_are_not_strings() {
    assert_eq!(scan("${br}").unwrap(), Template::Standalone(expr("br", 2)));
    assert_eq!(scan("${a.r}-${b}").unwrap().expressions().len(), 2);
}

#[test]
fn literal_dollar_brace_is_written_inside_a_string() {
    assert_eq!(
        scan(r#"${"${HOME}"}"#).unwrap(),
        Template::Standalone(expr(r#""${HOME}""#, 2))
    );
}

#[test]
fn nested_expressions_are_refused() {
    let error = scan("${a(${b})}").unwrap_err();
    assert_eq!(error.kind, ScanErrorKind::Nested);
    assert_eq!(error.offset, 0);
    assert!(
        error
            .to_string()
            .starts_with("nested expressions are not allowed unless inside string literals")
    );
    assert_eq!(scan("x ${a ${b}").unwrap_err().kind, ScanErrorKind::Nested);
}

#[test]
fn unterminated_and_empty_expressions_are_errors() {
    let error = scan("echo ${HOME").unwrap_err();
    assert_eq!(
        (error.kind.clone(), error.offset),
        (ScanErrorKind::Unterminated, 5)
    );
    assert_eq!(error.span(), Span::new(5, 7));
    assert_eq!(
        error.to_string(),
        "unterminated expression: `${` has no closing `}` (at byte 5 of \"echo ${HOME\")"
    );
    assert_eq!(scan("${'}").unwrap_err().kind, ScanErrorKind::Unterminated);
    assert_eq!(scan("${}").unwrap_err().kind, ScanErrorKind::Empty);
    assert_eq!(scan("a ${  } b").unwrap_err().kind, ScanErrorKind::Empty);
}

#[test]
fn multibyte_text_keeps_byte_spans() {
    let template = scan("héllo-${x}").unwrap();
    let expressions = template.expressions();
    assert_eq!(expressions[0].span, Span::new(9, 10));
}

#[test]
fn scan_value_locates_every_expression_by_path() {
    let template = json!({
        "apiVersion": "apps/v1",
        "metadata": {
            "name": "${schema.spec.name}",
            "labels": { "app.kubernetes.io/name": "${schema.spec.name}-app", "${notAKey}": "x" }
        },
        "spec": { "replicas": 3, "template": { "spec": { "containers": [
            { "name": "main", "image": "${schema.spec.image}" }
        ]}}}
    });
    let found = scan_value(&template).unwrap();
    let paths: Vec<String> = found.iter().map(|f| f.path.to_string()).collect();
    assert_eq!(
        paths,
        [
            "metadata.name",
            "metadata.labels[\"app.kubernetes.io/name\"]",
            "spec.template.spec.containers[0].image",
        ]
    );
    assert!(matches!(found[1].template, Template::Interpolated(_)));
    assert_eq!(
        found[2].path.get(&template),
        Some(&json!("${schema.spec.image}"))
    );
}

#[test]
fn scan_value_reports_every_error() {
    let template = json!({ "a": "${x", "b": ["ok", "${y(${z})}"] });
    let errors = scan_value(&template).unwrap_err();
    let described: Vec<String> = errors
        .iter()
        .map(|e| format!("{} {:?}", e.path, e.error.kind))
        .collect();
    assert_eq!(described, ["a Unterminated", "b[1] Nested"]);
}

#[test]
fn field_paths_quote_unusual_keys() {
    let path = FieldPath::root()
        .key("metadata")
        .key("annotations")
        .key("a.b/c")
        .key("")
        .key("x-y")
        .index(2);
    assert_eq!(
        path.to_string(),
        r#"metadata.annotations["a.b/c"][""].x-y[2]"#
    );
    assert_eq!(
        FieldPath::root().key(r#"q"uote"#).to_string(),
        r#"["q\"uote"]"#
    );
    assert_eq!(
        FieldPath::root()
            .key("spec")
            .join(&FieldPath::root().index(1).key("x"))
            .to_string(),
        "spec[1].x"
    );
    let mut value = json!({ "a": [0, { "b": 1 }] });
    let b = FieldPath::root().key("a").index(1).key("b");
    *b.get_mut(&mut value).unwrap() = json!(2);
    assert_eq!(value["a"][1]["b"], 2);
}

fn render_with(
    template: &str,
    values: &[Option<crate::Value>],
) -> Result<Option<String>, RenderError<String>> {
    let template = scan(template).unwrap();
    let mut values = values.iter().cloned();
    let rendered = template.render(|_| values.next().ok_or_else(|| "no value".to_string()))?;
    Ok(rendered.map(|r| match r {
        Rendered::Text(text) => format!("text {text}"),
        Rendered::Value { value, expression } => format!("value {value} of {}", expression.source),
    }))
}

#[test]
fn render_fills_every_kind_of_template() {
    use crate::Value;
    assert_eq!(render_with("plain", &[]), Ok(Some("text plain".into())));
    assert_eq!(
        render_with("${x}", &[Some(Value::Int(3))]),
        Ok(Some("value 3 of x".into()))
    );
    assert_eq!(
        render_with(
            "a-${x}-${y}",
            &[Some(Value::string("b")), Some(Value::string("c"))]
        ),
        Ok(Some("text a-b-c".into()))
    );
}

#[test]
fn render_stops_at_a_missing_value_and_refuses_non_strings() {
    use crate::Value;
    assert_eq!(render_with("${x}", &[None]), Ok(None));
    assert_eq!(
        render_with("a-${x}-${y}", &[None, Some(Value::Int(1))]),
        Ok(None)
    );
    let error = render_with("a-${x}", &[Some(Value::Int(1))]).unwrap_err();
    assert_eq!(
        error,
        RenderError::NotAString {
            expression: "x".into(),
            type_name: "int".into()
        }
    );
    assert_eq!(
        error.to_string(),
        "a string template part must be a string, got int"
    );
    assert_eq!(
        render_with("${x}", &[]),
        Err(RenderError::Eval("no value".into()))
    );
}

#[test]
fn to_cel_is_the_concatenation_upstream_compiles() {
    assert_eq!(scan("${a.b}").unwrap().to_cel(), "a.b");
    assert_eq!(
        scan(r#"${x}-"q" \ <${y}>"#).unwrap().to_cel(),
        r#"(x) + "-\"q\" \\ \u003c" + (y) + "\u003e""#
    );
    assert_eq!(scan("plain").unwrap().to_cel(), r#""plain""#);
}

/// Found by `kro-fuzz` (template target): an expression ending in a `//`
/// comment swallowed the parenthesis `to_cel` closes it with.
#[test]
fn to_cel_of_an_expression_with_a_comment_parses() {
    use crate::{Env, Type, Value};
    let template = scan("a-${s // the name}-b").unwrap();
    let env = Env::standard().with_variable("s", Type::String);
    let compiled = env.compile(&template.to_cel()).expect("parses and checks");
    let value = compiled.eval(&[("s", Value::string("x"))]).unwrap();
    assert!(value.equals(&Value::string("a-x-b")));
}

/// Found by `kro-fuzz` (template target): 100 interpolations made a chain
/// of 200 `+` that the parser refused as too deeply nested, although each
/// expression parsed.
#[test]
fn to_cel_of_many_parts_parses_and_computes_the_rendered_text() {
    use crate::{Env, Type, Value};
    let template = scan(&"${s}-".repeat(5_000)).unwrap();
    let source = template.to_cel();
    let env = Env::standard().with_variable("s", Type::String);
    let compiled = env
        .compile(&source)
        .expect("the concatenation parses and checks");
    let value = compiled.eval(&[("s", Value::string("ab"))]).unwrap();
    assert!(value.equals(&Value::string(&"ab-".repeat(5_000))));
}

#[test]
fn render_within_refuses_text_past_the_limit_before_building_it() {
    use crate::{EvalError, SizeKind, Value};
    let big = Value::string(&"x".repeat(1_000));
    let template = scan("${a}${a}${a}-${a}").unwrap();
    let render = |limit: usize| {
        template.render_within(
            limit,
            |_| Ok::<_, EvalError>(Some(big.clone())),
            |too_large| too_large,
        )
    };
    match render(4_001) {
        Ok(Some(Rendered::Text(text))) => assert_eq!(text.len(), 4_001),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        render(4_000),
        Err(RenderError::Eval(EvalError::TooLarge {
            kind: SizeKind::Result,
            size: 4_001,
            limit: 4_000
        }))
    ));
    let literal = scan("plain text").unwrap();
    assert!(
        literal
            .render_within(5, |_| Ok::<_, EvalError>(None), |e| e)
            .is_err()
    );
    // Standalone values are limited when converted to JSON, not here.
    let standalone = scan("${a}").unwrap();
    assert!(matches!(
        standalone.render_within(5, |_| Ok::<_, EvalError>(Some(big.clone())), |e| e),
        Ok(Some(Rendered::Value { .. }))
    ));
}
