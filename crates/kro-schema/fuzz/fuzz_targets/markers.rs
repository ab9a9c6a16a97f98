//! Feeds arbitrary text to the marker parser, then to the whole field
//! parser for every type, and checks that nothing panics and that whatever
//! parses converts to OpenAPI and serialises.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TYPES: [&str; 8] = [
    "string",
    "integer",
    "boolean",
    "float",
    "object",
    "[]string",
    "map[string]integer",
    "[]Item",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = kro_schema::simple_schema::markers::parse_markers(text);

    // The first byte picks the field type; the rest are its markers.
    let ty = TYPES[usize::from(data.first().copied().unwrap_or(0)) % TYPES.len()];
    let spec = serde_json::json!({ "field": format!("{ty} | {text}") });
    let types = serde_json::json!({ "Item": { "name": "string | required=true", "n": "integer" } });
    if let Ok(field) = kro_schema::parse_spec(Some(&spec), Some(&types)) {
        let schema = kro_schema::openapi::to_json_schema(&field);
        assert!(serde_json::to_string(&schema).is_ok());
        if let kro_schema::FieldType::Struct(children) = &field.ty
            && let Some(child) = children.get("field")
            && let Some(default) = &child.default
        {
            assert_eq!(
                child.check_value(default),
                Ok(()),
                "accepted default must be valid"
            );
        }
    }
    // And the whole string as a type expression plus markers.
    let _ = kro_schema::parse_field(text, "spec.fuzz");
});
