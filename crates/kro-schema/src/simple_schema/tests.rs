//! Behaviour of whole field strings and schemas: every type, every marker
//! (accepted and refused, with the message authors see), custom types and
//! default cascading.

use serde_json::{Value, json};

use super::{parse_field, parse_spec};
use crate::ir::{Field, FieldType, ListType};

fn field(text: &str) -> Field {
    parse_field(text, "spec.f").unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
}

fn error(text: &str) -> String {
    match parse_field(text, "spec.f") {
        Ok(field) => panic!("{text:?} should fail, got {field:?}"),
        Err(e) => e.to_string(),
    }
}

fn spec(spec: Value, types: Value) -> Field {
    parse_spec(Some(&spec), Some(&types)).unwrap_or_else(|e| panic!("{spec} should parse: {e}"))
}

fn spec_error(spec: Value, types: Value) -> String {
    match parse_spec(Some(&spec), Some(&types)) {
        Ok(field) => panic!("{spec} should fail, got {field:?}"),
        Err(e) => e.to_string(),
    }
}

fn child<'a>(field: &'a Field, name: &str) -> &'a Field {
    match &field.ty {
        FieldType::Struct(children) => children
            .get(name)
            .unwrap_or_else(|| panic!("no child {name}")),
        other => panic!("not a struct: {other:?}"),
    }
}

// ---------------------------------------------------------------- types

#[test]
fn every_type_parses() {
    assert_eq!(field("string").ty, FieldType::String);
    assert_eq!(field("integer").ty, FieldType::Integer);
    assert_eq!(field("boolean").ty, FieldType::Boolean);
    assert_eq!(field("float").ty, FieldType::Number);
    assert_eq!(field("number").ty, FieldType::Number);
    assert_eq!(field("object").ty, FieldType::Object);
    assert_eq!(
        field("[]string").ty,
        FieldType::Array(Box::new(Field::new(FieldType::String)))
    );
    assert_eq!(
        field("map[string]boolean").ty,
        FieldType::Map(Box::new(Field::new(FieldType::Boolean)))
    );
    assert_eq!(
        field("[]map[string][]integer").ty,
        FieldType::Array(Box::new(Field::new(FieldType::Map(Box::new(Field::new(
            FieldType::Array(Box::new(Field::new(FieldType::Integer)))
        ))))))
    );
}

#[test]
fn nested_maps_are_inline_structs_in_declaration_order() {
    let parsed = spec(
        json!({ "zeta": "string", "ingress": { "enabled": "boolean", "host": "string" }, "alpha": "integer" }),
        Value::Null,
    );
    let FieldType::Struct(children) = &parsed.ty else {
        panic!("spec is a struct")
    };
    assert_eq!(
        children.keys().collect::<Vec<_>>(),
        ["zeta", "ingress", "alpha"]
    );
    assert_eq!(
        child(child(&parsed, "ingress"), "enabled").ty,
        FieldType::Boolean
    );
}

#[test]
fn type_errors_name_the_field() {
    assert_eq!(error(" | required=true"), "spec.f: empty type");
    assert_eq!(
        error("strin"),
        "spec.f: unknown type `strin` (expected string, integer, boolean, float, object, []T, map[string]T or a type declared under `types`)"
    );
    assert_eq!(
        error("[]"),
        "spec.f: `[]` needs an element type, as in `[]string`"
    );
    assert_eq!(
        error("map[integer]string"),
        "spec.f: map keys must be `string`, as in `map[string]integer`; found `integer`"
    );
    assert_eq!(
        error("map[string]"),
        "spec.f: `map[string]` needs a value type, as in `map[string]string`"
    );
    let deep = format!("{}string", "[]".repeat(17));
    assert!(
        error(&deep).starts_with("spec.f: type nesting too deep (at most 16 levels"),
        "{}",
        error(&deep)
    );
}

#[test]
fn values_other_than_strings_and_maps_are_refused() {
    assert_eq!(
        spec_error(json!({ "ingress": { "port": 80 } }), Value::Null),
        "spec.ingress.port: expected a type string (like `string | required=true`) or a map of fields, found a number"
    );
    assert_eq!(
        spec_error(json!({ "tags": ["a"] }), Value::Null),
        "spec.tags: expected a type string (like `string | required=true`) or a map of fields, found a list"
    );
    assert_eq!(
        parse_spec(Some(&json!("string")), None)
            .expect_err("spec must be a map")
            .to_string(),
        "spec: expected a map, found a string"
    );
    assert_eq!(
        spec_error(json!({ "": "string" }), Value::Null),
        "spec.: field names must not be empty"
    );
}

#[test]
fn an_absent_spec_is_an_empty_struct() {
    let parsed = parse_spec(None, None).expect("empty");
    assert_eq!(parsed.ty, FieldType::Struct(Default::default()));
    assert_eq!(parse_spec(Some(&Value::Null), None).expect("null"), parsed);
}

#[test]
fn only_the_first_bar_separates_type_and_markers() {
    let parsed = field(r#"integer | validation="self == 1 || self == 2""#);
    assert_eq!(parsed.validations[0].rule, "self == 1 || self == 2");
}

// ---------------------------------------------------------------- markers

#[test]
fn required() {
    assert!(field("string | required=true").required);
    assert!(!field("string | required=false").required);
    assert!(field("string | required=True").required, "Go spellings");
    assert!(field("string | required=1").required);
    assert_eq!(
        error("string | required=yes"),
        "spec.f: marker `required`: expected a boolean (true or false), got `yes`"
    );
    let parsed = spec(
        json!({ "b": "string | required=true", "a": "integer | required=true", "c": "string" }),
        Value::Null,
    );
    assert!(child(&parsed, "a").required && child(&parsed, "b").required);
    assert!(!child(&parsed, "c").required);
}

#[test]
fn default_is_typed_json() {
    assert_eq!(
        field("string | default=hello").default,
        Some(json!("hello"))
    );
    assert_eq!(
        field(r#"string | default="say \"hi\"""#).default,
        Some(json!("say \"hi\"")),
        "quotes inside a string default stay valid JSON"
    );
    assert_eq!(field(r#"string | default="""#).default, Some(json!("")));
    assert_eq!(field("integer | default=+5").default, Some(json!(5)));
    assert_eq!(field("integer | default=-3").default, Some(json!(-3)));
    assert_eq!(field("boolean | default=True").default, Some(json!(true)));
    assert_eq!(field("boolean | default=f").default, Some(json!(false)));
    assert_eq!(field("float | default=0.5").default, Some(json!(0.5)));
    assert_eq!(field("float | default=2").default, Some(json!(2.0)));
    assert_eq!(
        field(r#"[]string | default=["a", "b"]"#).default,
        Some(json!(["a", "b"]))
    );
    assert_eq!(
        field(r#"map[string]integer | default={"a": 1}"#).default,
        Some(json!({ "a": 1 }))
    );
    assert_eq!(
        field(r#"object | default={"any": [1, "x"]}"#).default,
        Some(json!({ "any": [1, "x"] }))
    );
}

#[test]
fn default_errors() {
    assert_eq!(
        error("integer | default=1.5"),
        "spec.f: marker `default`: expected a 64-bit integer, got `1.5`"
    );
    assert_eq!(
        error("boolean | default=yes"),
        "spec.f: marker `default`: expected a boolean (true or false), got `yes`"
    );
    assert_eq!(
        error("float | default=NaN"),
        "spec.f: marker `default`: expected a finite number, got `NaN`"
    );
    assert_eq!(
        error("[]string | default=a,b"),
        "spec.f: marker `default`: expected a JSON list, like [\"a\", \"b\"], got `a,b`"
    );
    assert_eq!(
        error("map[string]string | default=x"),
        "spec.f: marker `default`: expected a JSON object, like {\"key\": \"value\"}, got `x`"
    );
    assert_eq!(
        error("[]integer | default=[\"a\"]"),
        "spec.f: marker `default`: default [\"a\"] is not valid for this field: [0]: expected integer, found a string"
    );
    assert_eq!(
        error("map[string]string | default=[]"),
        "spec.f: marker `default`: default [] is not valid for this field: expected map, found a list"
    );
}

#[test]
fn default_must_satisfy_the_other_markers() {
    assert_eq!(
        error("integer | default=0 minimum=1"),
        "spec.f: marker `default`: default 0 is not valid for this field: 0 is below minimum 1"
    );
    assert_eq!(
        error("string | enum=\"a,b\" default=c"),
        "spec.f: marker `default`: default \"c\" is not valid for this field: \"c\" is not one of the enum values"
    );
    assert_eq!(
        error("string | default=ABC pattern=^[a-z]+$"),
        "spec.f: marker `default`: default \"ABC\" is not valid for this field: does not match pattern `^[a-z]+$`"
    );
    assert_eq!(
        error("[]string | default=[\"a\",\"a\"] uniqueItems=true"),
        "spec.f: marker `default`: default [\"a\",\"a\"] is not valid for this field: duplicate item \"a\" in a set"
    );
}

#[test]
fn description() {
    assert_eq!(
        field(r#"string | description="The name, in full""#).description,
        Some("The name, in full".to_owned())
    );
    assert_eq!(
        field("integer | description=short").description,
        Some("short".to_owned())
    );
}

#[test]
fn minimum_and_maximum() {
    let parsed = field("integer | minimum=1 maximum=10");
    assert_eq!((parsed.minimum, parsed.maximum), (Some(1.0), Some(10.0)));
    let parsed = field("float | minimum=-0.5 maximum=1e3");
    assert_eq!((parsed.minimum, parsed.maximum), (Some(-0.5), Some(1000.0)));
    assert_eq!(
        error("integer | minimum=one"),
        "spec.f: marker `minimum`: expected a finite number, got `one`"
    );
    assert_eq!(
        error("integer | maximum=inf"),
        "spec.f: marker `maximum`: expected a finite number, got `inf`"
    );
    // Accepted, as upstream and the API server do: `empty_ranges` warns.
    assert_eq!((field("integer | minimum=5 maximum=1").minimum), Some(5.0));
}

#[test]
fn minimum_and_maximum_are_accepted_on_any_type_as_upstream() {
    // Upstream writes them into the CRD whatever the type; the API server
    // accepts that and bounds numbers only, so the field is not restricted.
    let parsed = field("string | minimum=1 maximum=3 default=abcdef");
    assert_eq!((parsed.minimum, parsed.maximum), (Some(1.0), Some(3.0)));
    let schema = crate::openapi::to_json_schema(&parsed);
    assert_eq!(
        (schema.type_.as_deref(), schema.minimum, schema.maximum),
        (Some("string"), Some(1.0), Some(3.0))
    );
    assert_eq!(field("[]integer | maximum=1").maximum, Some(1.0));
    assert_eq!(field("boolean | minimum=0").minimum, Some(0.0));
    assert_eq!(
        error("string | minimum=one"),
        "spec.f: marker `minimum`: expected a finite number, got `one`"
    );
}

#[test]
fn enums() {
    assert_eq!(
        field(r#"string | enum="a, b,c""#).enum_values,
        Some(vec![json!("a"), json!("b"), json!("c")])
    );
    assert_eq!(
        field("integer | enum=1,2,3").enum_values,
        Some(vec![json!(1), json!(2), json!(3)])
    );
    assert_eq!(
        field("string | enum=a,a,b").enum_values,
        Some(vec![json!("a"), json!("b")])
    );
    assert_eq!(
        error(r#"string | enum="a,,b""#),
        "spec.f: marker `enum`: expected a comma-separated list of values with no empty entries, got `a,,b`"
    );
    assert_eq!(
        error("integer | enum=1,x"),
        "spec.f: marker `enum`: expected comma-separated 64-bit integers, got `x`"
    );
    assert_eq!(
        error("boolean | enum=true"),
        "spec.f: marker `enum`: applies to string and integer fields only, but this field is boolean"
    );
    assert_eq!(
        error("float | enum=1.5"),
        "spec.f: marker `enum`: applies to string and integer fields only, but this field is float"
    );
}

#[test]
fn pattern() {
    assert_eq!(
        field(r#"string | pattern="^\d{3}-[a-z ]+$""#).pattern,
        Some(r"^\d{3}-[a-z ]+$".to_owned())
    );
    assert_eq!(
        field("string | pattern=^[a-z]+$").pattern,
        Some("^[a-z]+$".to_owned())
    );
    assert_eq!(
        error("integer | pattern=^1$"),
        "spec.f: marker `pattern`: applies to string fields only, but this field is integer"
    );
    assert_eq!(
        error(r#"string | pattern="""#),
        "spec.f: marker `pattern`: expected a non-empty regular expression, got ``"
    );
    assert_eq!(
        error(r#"string | pattern="(a""#),
        "spec.f: marker `pattern`: expected a valid regular expression (error: unclosed group), got `(a`"
    );
}

#[test]
fn string_lengths() {
    let parsed = field("string | minLength=1 maxLength=63");
    assert_eq!((parsed.min_length, parsed.max_length), (Some(1), Some(63)));
    assert_eq!(
        error("integer | minLength=1"),
        "spec.f: marker `minLength`: applies to string fields only, but this field is integer"
    );
    assert_eq!(
        error("[]string | maxLength=1"),
        "spec.f: marker `maxLength`: applies to string fields only, but this field is array"
    );
    assert_eq!(
        error("string | minLength=-1"),
        "spec.f: marker `minLength`: expected a non-negative integer, got `-1`"
    );
    assert_eq!(
        error("string | maxLength=ten"),
        "spec.f: marker `maxLength`: expected a non-negative integer, got `ten`"
    );
    assert_eq!(
        field("string | minLength=5 maxLength=2").min_length,
        Some(5)
    );
}

#[test]
fn item_counts() {
    let parsed = field("[]string | minItems=1 maxItems=3");
    assert_eq!((parsed.min_items, parsed.max_items), (Some(1), Some(3)));
    assert_eq!(
        error("string | minItems=1"),
        "spec.f: marker `minItems`: applies to array fields only, but this field is string"
    );
    assert_eq!(
        error("map[string]string | maxItems=1"),
        "spec.f: marker `maxItems`: applies to array fields only, but this field is map"
    );
    assert_eq!(
        error("[]string | minItems=1.0"),
        "spec.f: marker `minItems`: expected a non-negative integer, got `1.0`"
    );
    assert_eq!(field("[]string | minItems=3 maxItems=1").min_items, Some(3));
}

#[test]
fn unique_items_makes_a_set() {
    assert_eq!(
        field("[]string | uniqueItems=true").list_type,
        Some(ListType::Set)
    );
    assert_eq!(field("[]string | uniqueItems=false").list_type, None);
    assert_eq!(
        error("string | uniqueItems=true"),
        "spec.f: marker `uniqueItems`: applies to array fields only, but this field is string"
    );
    assert_eq!(
        error("[]string | uniqueItems=maybe"),
        "spec.f: marker `uniqueItems`: expected a boolean (true or false), got `maybe`"
    );
    assert_eq!(
        error("[]string | listType=atomic uniqueItems=true"),
        "spec.f: marker `uniqueItems`: listType is already atomic (uniqueItems=true means set), cannot make it set"
    );
    assert_eq!(
        error("[]object | uniqueItems=true"),
        "spec.f: marker `listType`: a set list needs string, integer, float or boolean items, not object"
    );
}

#[test]
fn list_type_and_map_keys() {
    assert_eq!(
        field("[]string | listType=atomic").list_type,
        Some(ListType::Atomic)
    );
    assert_eq!(
        field("[]integer | listType=set uniqueItems=true").list_type,
        Some(ListType::Set)
    );
    let types = json!({ "Port": { "name": "string | required=true", "port": "integer | default=80", "note": "string" } });
    let parsed = spec(
        json!({ "ports": "[]Port | listType=map listMapKey=name listMapKey=port" }),
        types.clone(),
    );
    let ports = child(&parsed, "ports");
    assert_eq!(ports.list_type, Some(ListType::Map));
    assert_eq!(ports.list_map_keys, ["name", "port"]);

    assert_eq!(
        error("string | listType=set"),
        "spec.f: marker `listType`: applies to array fields only, but this field is string"
    );
    assert_eq!(
        error("[]string | listType=bag"),
        "spec.f: marker `listType`: expected one of atomic, set or map, got `bag`"
    );
    assert_eq!(
        error("[]string | uniqueItems=true listType=map"),
        "spec.f: marker `listType`: listType is already set (uniqueItems=true means set), cannot make it map"
    );
    assert_eq!(
        error("[]string | listType=map listMapKey=x"),
        "spec.f: marker `listType`: a map list needs struct items, not string"
    );
    assert_eq!(
        error("string | listMapKey=x"),
        "spec.f: marker `listMapKey`: applies to array fields only, but this field is string"
    );
    assert_eq!(
        error("[]string | listMapKey=x"),
        "spec.f: marker `listMapKey`: listMapKey needs listType=map, but listType is unset"
    );
    assert_eq!(
        error("[]string | listType=atomic listMapKey=x"),
        "spec.f: marker `listMapKey`: listMapKey needs listType=map, but listType is atomic"
    );
    assert_eq!(
        error("[]string | listMapKey=x listMapKey=x"),
        "spec.f: marker `listMapKey`: listMapKey `x` is given twice"
    );
    assert_eq!(
        spec_error(json!({ "p": "[]Port | listType=map" }), types.clone()),
        "spec.p: marker `listType`: listType=map needs at least one listMapKey"
    );
    assert_eq!(
        spec_error(
            json!({ "p": "[]Port | listType=map listMapKey=host" }),
            types.clone()
        ),
        "spec.p: marker `listMapKey`: listMapKey `host` is not a field of the list items"
    );
    assert_eq!(
        spec_error(
            json!({ "p": "[]Port | listType=map listMapKey=note" }),
            types
        ),
        "spec.p: marker `listMapKey`: listMapKey `note` must be required or have a default"
    );
}

#[test]
fn immutable() {
    let parsed = field("string | immutable=true");
    assert_eq!(parsed.validations.len(), 1);
    assert_eq!(parsed.validations[0].rule, "self == oldSelf");
    assert_eq!(parsed.validations[0].message, "field is immutable");
    assert!(field("string | immutable=false").validations.is_empty());
    assert_eq!(
        field("string | immutable=true immutable=true")
            .validations
            .len(),
        1,
        "the rule is not repeated"
    );
    assert_eq!(
        error("string | immutable=always"),
        "spec.f: marker `immutable`: expected a boolean (true or false), got `always`"
    );
}

#[test]
fn validation() {
    let parsed = field(r#"integer | validation="self > 0" validation="self < 100""#);
    let rules: Vec<&str> = parsed.validations.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(rules, ["self > 0", "self < 100"]);
    assert_eq!(parsed.validations[0].message, "validation failed");
    assert_eq!(
        error(r#"integer | validation=" ""#),
        "spec.f: marker `validation`: expected a CEL expression, got ` `"
    );
}

#[test]
fn marker_syntax_errors_name_the_field() {
    assert_eq!(
        error("string | required"),
        "spec.f: marker `required` has no value (expected key=value)"
    );
    assert_eq!(
        error("string |"),
        "spec.f: `|` must be followed by at least one key=value marker"
    );
    assert_eq!(
        error(r#"string | description="oops"#),
        "spec.f: marker `description`: unclosed quote"
    );
    assert!(error("string | colour=red").starts_with("spec.f: unknown marker `colour`"));
}

#[test]
fn later_markers_overwrite_earlier_ones() {
    assert_eq!(
        field("integer | default=1 default=2").default,
        Some(json!(2))
    );
    assert!(!field("string | required=true required=false").required);
}

// ---------------------------------------------------------------- custom types

#[test]
fn aliases_carry_their_markers() {
    let types = json!({ "Port": "integer | minimum=1 maximum=65535 default=80" });
    let parsed = spec(json!({ "port": "Port", "ports": "[]Port" }), types.clone());
    let port = child(&parsed, "port");
    assert_eq!(port.ty, FieldType::Integer);
    assert_eq!(
        (port.minimum, port.maximum, port.default.clone()),
        (Some(1.0), Some(65535.0), Some(json!(80)))
    );
    let FieldType::Array(item) = &child(&parsed, "ports").ty else {
        panic!("array")
    };
    assert_eq!(item.as_ref(), port);

    // Use-site markers apply on top of the alias's, and are checked
    // against them.
    let parsed = spec(json!({ "port": "Port | default=443" }), types.clone());
    assert_eq!(child(&parsed, "port").default, Some(json!(443)));
    assert_eq!(
        spec_error(json!({ "port": "Port | default=70000" }), types),
        "spec.port: marker `default`: default 70000 is not valid for this field: 70000 is above maximum 65535"
    );
}

#[test]
fn alias_required_propagates_to_uses_but_not_to_items() {
    let types = json!({ "Name": "string | required=true minLength=1" });
    let parsed = spec(
        json!({ "name": "Name", "other": "Name | required=false", "names": "[]Name", "byKey": "map[string]Name" }),
        types,
    );
    assert!(child(&parsed, "name").required);
    assert!(
        !child(&parsed, "other").required,
        "a use may lift the requirement"
    );
    let FieldType::Array(item) = &child(&parsed, "names").ty else {
        panic!("array")
    };
    assert!(!item.required);
    let FieldType::Map(value) = &child(&parsed, "byKey").ty else {
        panic!("map")
    };
    assert!(!value.required);
}

#[test]
fn struct_types_are_inlined_with_their_required_children() {
    let types = json!({
        "Database": { "host": "string | required=true", "port": "integer | default=5432" },
    });
    let parsed = spec(
        json!({ "db": "Database | required=true", "replicas": "[]Database" }),
        types,
    );
    let db = child(&parsed, "db");
    assert!(db.required);
    assert!(child(db, "host").required);
    assert_eq!(child(db, "port").default, Some(json!(5432)));
    assert_eq!(
        db.default, None,
        "a required child blocks the cascading default"
    );
}

#[test]
fn types_may_use_types_declared_later() {
    let types = json!({
        "Service": { "endpoint": "Endpoint", "ports": "[]Port" },
        "Endpoint": { "url": "string | required=true", "port": "Port" },
        "Port": "integer | default=80",
    });
    let parsed = spec(json!({ "svc": "Service" }), types);
    let svc = child(&parsed, "svc");
    assert_eq!(
        child(child(svc, "endpoint"), "port").default,
        Some(json!(80))
    );
}

#[test]
fn type_cycles_are_reported_with_their_path() {
    assert_eq!(
        spec_error(
            json!({}),
            json!({ "A": { "b": "B" }, "B": { "c": "[]C" }, "C": { "a": "map[string]A" } })
        ),
        "types.A: custom types form a cycle: A -> B -> C -> A"
    );
    assert_eq!(
        spec_error(json!({}), json!({ "Node": { "next": "Node" } })),
        "types.Node: custom types form a cycle: Node -> Node"
    );
    assert_eq!(
        spec_error(
            json!({}),
            json!({ "Ok": "string", "X": { "y": "Y" }, "Y": { "x": "X", "ok": "Ok" } })
        ),
        "types.X: custom types form a cycle: X -> Y -> X"
    );
}

#[test]
fn custom_type_errors_name_the_type() {
    assert_eq!(
        spec_error(json!({}), json!({ "Port": "integer | default=x" })),
        "types.Port: marker `default`: expected a 64-bit integer, got `x`"
    );
    assert_eq!(
        spec_error(json!({}), json!({ "Db": { "host": "strng" } })),
        "types.Db.host: unknown type `strng` (expected string, integer, boolean, float, object, []T, map[string]T or a type declared under `types`)"
    );
    assert_eq!(
        spec_error(json!({}), json!({ "string": "integer" })),
        "types.string: invalid custom type name `string`: it is a built-in type"
    );
    assert_eq!(
        spec_error(json!({}), json!({ "My Type": "integer" })),
        "types.My Type: invalid custom type name `My Type`: it contains whitespace or `|`"
    );
    assert_eq!(
        spec_error(json!({}), json!({ "T": 5 })),
        "types.T: expected a type string (like `string | required=true`) or a map of fields, found a number"
    );
    assert_eq!(
        spec_error(json!({}), json!(["T"])),
        "types: expected a map, found a list"
    );
    assert!(
        spec_error(json!({ "x": "Missing" }), json!({}))
            .starts_with("spec.x: unknown type `Missing`")
    );
}

// ---------------------------------------------------------------- defaults cascade

#[test]
fn defaults_cascade_to_objects_without_required_children() {
    let parsed = spec(
        json!({
            "a": { "b": { "c": "integer | default=1" } },
            "d": { "e": "string | required=true", "f": "string | default=x" },
            "g": { "h": "string" },
        }),
        Value::Null,
    );
    assert_eq!(parsed.default, Some(json!({})));
    let a = child(&parsed, "a");
    assert_eq!(a.default, Some(json!({})));
    assert_eq!(child(a, "b").default, Some(json!({})));
    assert_eq!(child(&parsed, "d").default, None);
    assert_eq!(child(&parsed, "g").default, None, "no child default");
}

#[test]
fn struct_type_with_explicit_default_keeps_it() {
    let types = json!({ "Retry": { "attempts": "integer | default=3", "backoff": "string" } });
    let parsed = spec(
        json!({ "retry": r#"Retry | default={"attempts": 5}"# }),
        types.clone(),
    );
    assert_eq!(
        child(&parsed, "retry").default,
        Some(json!({ "attempts": 5 }))
    );
    assert_eq!(
        spec_error(json!({ "retry": r#"Retry | default={"tries": 5}"# }), types),
        "spec.retry: marker `default`: default {\"tries\":5} is not valid for this field: unknown field `tries`"
    );
}

#[test]
fn inline_objects_have_a_nesting_limit() {
    let mut deep = json!({ "leaf": "string" });
    for _ in 0..100 {
        deep = json!({ "n": deep });
    }
    let message = spec_error(deep, Value::Null);
    assert!(
        message.ends_with(": objects nested too deeply (at most 64 levels)"),
        "{message}"
    );
    assert!(message.starts_with("spec.n.n.n."), "{message}");
    let mut ok = json!({ "leaf": "string" });
    for _ in 0..60 {
        ok = json!({ "n": ok });
    }
    assert!(parse_spec(Some(&ok), None).is_ok());
}

#[test]
fn exponential_inlining_is_refused() {
    // T0 has 2 nodes; each next type uses the previous twice.
    let mut types = serde_json::Map::new();
    types.insert("T0".to_owned(), json!({ "x": "string" }));
    for i in 1..40 {
        let previous = format!("T{}", i - 1);
        types.insert(format!("T{i}"), json!({ "a": previous, "b": previous }));
    }
    let message = spec_error(json!({ "top": "T39" }), Value::Object(types));
    assert!(
        message.ends_with(
            "schema too large once custom types are inlined (at most 100000 fields, items and values)"
        ),
        "{message}"
    );
    assert!(message.starts_with("types.T"), "{message}");
}

#[test]
fn alias_chains_have_a_depth_limit() {
    let mut types = serde_json::Map::new();
    types.insert("A0".to_owned(), json!("string"));
    for i in 1..300 {
        types.insert(format!("A{i}"), json!(format!("[]A{}", i - 1)));
    }
    let message = spec_error(json!({}), Value::Object(types));
    assert!(
        message.ends_with(
            "schema nested too deeply once custom types are inlined (at most 256 levels)"
        ),
        "{message}"
    );
}

#[test]
fn many_fields_using_a_large_type_stop_early() {
    let mut types = serde_json::Map::new();
    types.insert("T0".to_owned(), json!({ "x": "string" }));
    for i in 1..16 {
        let previous = format!("T{}", i - 1);
        types.insert(format!("T{i}"), json!({ "a": previous, "b": previous }));
    }
    // T15 has about 98k nodes: alone it fits, twice it does not.
    assert!(
        parse_spec(
            Some(&json!({ "one": "T15" })),
            Some(&Value::Object(types.clone()))
        )
        .is_ok()
    );
    let message = spec_error(
        json!({ "one": "T15", "two": "T15", "three": "T15" }),
        Value::Object(types),
    );
    assert!(
        message.starts_with("spec.two: schema too large"),
        "{message}"
    );
}

#[test]
fn immutable_inside_list_items_needs_a_map_list() {
    let types = json!({
        "Item": { "name": "string | required=true", "id": "string | immutable=true" },
        "Fixed": "string | immutable=true",
        "Checked": r#"integer | validation="self >= oldSelf""#,
    });
    assert_eq!(
        spec_error(json!({ "items": "[]Item" }), types.clone()),
        "spec.items: marker `immutable`: the rule `self == oldSelf` inside the items of this list needs the list to have listType=map (with listMapKey): the API server cannot match items of other lists between updates"
    );
    assert!(
        spec_error(
            json!({ "items": "[]Fixed | listType=atomic" }),
            types.clone()
        )
        .starts_with("spec.items: marker `immutable`: the rule `self == oldSelf`")
    );
    assert!(
        spec_error(json!({ "m": "map[string][]Checked" }), types.clone())
            .starts_with("spec.m: marker `validation`: the rule `self >= oldSelf`")
    );
    // Map lists, maps and the list itself are fine.
    let parsed = spec(
        json!({
            "items": "[]Item | listType=map listMapKey=name",
            "byName": "map[string]Item",
            "frozen": "[]string | immutable=true",
        }),
        types,
    );
    assert_eq!(child(&parsed, "frozen").validations.len(), 1);
}

#[test]
fn long_alias_chains_and_cycles_resolve_in_linear_time() {
    const N: usize = 50_000;
    let mut types = serde_json::Map::new();
    // Declared last-first, so every type waits for one declared after it.
    for i in (1..N).rev() {
        types.insert(format!("T{i}"), json!(format!("T{}", i - 1)));
    }
    types.insert("T0".to_owned(), json!("string | default=x"));
    let parsed = spec(
        json!({ "f": format!("T{}", N - 1) }),
        Value::Object(types.clone()),
    );
    assert_eq!(child(&parsed, "f").default, Some(json!("x")));

    types.insert("T0".to_owned(), json!(format!("T{}", N - 1)));
    let message = spec_error(json!({}), Value::Object(types));
    assert_eq!(
        message,
        "types.T49999: custom types form a cycle: T49999 -> T49998 -> T49997 -> T49996 -> \
         T49995 -> T49994 -> T49993 -> T49992 -> T49991 -> T49990 -> (49989 more) -> T0 -> T49999",
        "long loops are shortened"
    );
}
