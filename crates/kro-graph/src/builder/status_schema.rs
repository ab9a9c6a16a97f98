//! The OpenAPI schema of the instance's `status`, inferred from the types
//! of its projections, so that the API server stores what kro writes and
//! `kubectl explain` describes it.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kro_cel::openapi_types::unescape_field_name;
use kro_cel::template::{Segment, Template};
use kro_cel::{Env, Type};

use super::status::InstanceStatus;

/// Object types nested deeper than this are written as schemaless: real
/// schemas are far shallower, and recursive types would never end.
const MAX_DEPTH: usize = 32;

fn typed(type_: &str) -> JSONSchemaProps {
    JSONSchemaProps {
        type_: Some(type_.to_owned()),
        ..JSONSchemaProps::default()
    }
}

/// A value of any shape.
fn schemaless() -> JSONSchemaProps {
    JSONSchemaProps {
        x_kubernetes_preserve_unknown_fields: Some(true),
        ..JSONSchemaProps::default()
    }
}

fn object() -> JSONSchemaProps {
    JSONSchemaProps {
        properties: Some(BTreeMap::new()),
        ..typed("object")
    }
}

/// The OpenAPI schema of values of a CEL type.
pub fn schema_of(env: &Env, ty: &Type) -> JSONSchemaProps {
    schema_at_depth(env, ty, 0)
}

fn schema_at_depth(env: &Env, ty: &Type, depth: usize) -> JSONSchemaProps {
    if depth > MAX_DEPTH {
        return schemaless();
    }
    if let Some(inner) = ty.optional_inner() {
        // An absent optional is written as null, otherwise as its value.
        return schema_at_depth(env, inner, depth + 1);
    }
    match ty {
        Type::Bool => typed("boolean"),
        Type::Int | Type::Uint => JSONSchemaProps {
            format: Some("int64".to_owned()),
            ..typed("integer")
        },
        Type::Double => typed("number"),
        Type::String => typed("string"),
        Type::Bytes => JSONSchemaProps {
            format: Some("byte".to_owned()),
            ..typed("string")
        },
        Type::Timestamp => JSONSchemaProps {
            format: Some("date-time".to_owned()),
            ..typed("string")
        },
        Type::Duration => JSONSchemaProps {
            format: Some("duration".to_owned()),
            ..typed("string")
        },
        Type::List(element) => JSONSchemaProps {
            items: Some(JSONSchemaPropsOrArray::Schema(Box::new(schema_at_depth(
                env,
                element,
                depth + 1,
            )))),
            ..typed("array")
        },
        Type::Map(_, value) => {
            JSONSchemaProps {
                additional_properties: Some(JSONSchemaPropsOrBool::Schema(Box::new(
                    schema_at_depth(env, value, depth + 1),
                ))),
                ..typed("object")
            }
        }
        Type::Object(name) => object_schema(env, name, depth),
        _ => schemaless(),
    }
}

/// The schema of the object type `name`, each declared field with its own
/// schema; schemaless when `env` does not declare the type.
fn object_schema(env: &Env, name: &str, depth: usize) -> JSONSchemaProps {
    let Some(declared) = env.object_type(name) else {
        return schemaless();
    };
    let mut properties = BTreeMap::new();
    for (field, field_type) in &declared.fields {
        // A reserved word is declared both as written and escaped; write it
        // once, under its real name.
        let name = match unescape_field_name(field) {
            Some(real) if declared.fields.contains_key(&real) => continue,
            Some(real) => real,
            None => field.clone(),
        };
        properties.insert(name, schema_at_depth(env, field_type, depth + 1));
    }
    JSONSchemaProps {
        properties: Some(properties),
        ..typed("object")
    }
}

/// The schema of `status`: an object with each projected field at its path
/// (intermediate objects and lists made as needed). String templates are
/// strings; standalone expressions take their type's schema.
pub fn status_schema(env: &Env, status: &InstanceStatus) -> JSONSchemaProps {
    let mut root = object();
    for field in &status.fields {
        let leaf = match (&field.template, field.expressions.first()) {
            (Template::Standalone(_), Some(expression)) => {
                schema_of(env, expression.compiled.result_type())
            }
            _ => typed("string"),
        };
        insert(&mut root, field.path.segments(), leaf);
    }
    root
}

fn insert(schema: &mut JSONSchemaProps, path: &[Segment], leaf: JSONSchemaProps) {
    let Some((first, rest)) = path.split_first() else {
        *schema = leaf;
        return;
    };
    match first {
        Segment::Key(key) => {
            if schema.type_.as_deref() != Some("object") || schema.properties.is_none() {
                *schema = object();
            }
            let properties = schema.properties.get_or_insert_with(BTreeMap::new);
            let child = properties.entry(key.clone()).or_insert_with(object);
            insert(child, rest, leaf);
        }
        Segment::Index(_) => {
            let existing = match schema.items.take() {
                Some(JSONSchemaPropsOrArray::Schema(item))
                    if schema.type_.as_deref() == Some("array") =>
                {
                    *item
                }
                _ => object(),
            };
            let mut item = existing;
            insert(&mut item, rest, leaf);
            *schema = JSONSchemaProps {
                items: Some(JSONSchemaPropsOrArray::Schema(Box::new(item))),
                ..typed("array")
            };
        }
    }
}

#[cfg(test)]
mod tests;
