//! Walking the author's `spec` and `types` maps and building [`Field`]s.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::apply::{apply_markers, check_transition_rules};
use super::markers::parse_markers;
use super::types::TypeExpr;
use crate::error::{SchemaError, SchemaErrorKind, child_path, json_kind};
use crate::ir::{Field, FieldType};

/// How deeply inline objects (maps of fields) may nest. Far beyond any real
/// schema; it bounds recursion on hostile input, which must not overflow the
/// stack.
pub const MAX_OBJECT_NESTING: usize = 64;

/// The most nodes (fields, list items, map values) a schema or custom type
/// may have once custom types are inlined. Inlining can grow a schema
/// exponentially (`B` uses `A` twice, `C` uses `B` twice...); this keeps
/// memory and time bounded.
pub const MAX_SCHEMA_NODES: usize = 100_000;

/// The deepest a schema may be once custom types are inlined.
pub const MAX_SCHEMA_DEPTH: usize = 256;

/// Custom types from `spec.schema.types`, resolved and ready to inline.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomTypes {
    resolved: IndexMap<String, Field>,
}

impl CustomTypes {
    /// Parses the `types:` map. Types may use each other in any order; they
    /// are built dependencies first, and a loop is reported with its path.
    pub fn parse(types: &Value) -> Result<CustomTypes, SchemaError> {
        let Value::Object(declared) = types else {
            return Err(SchemaError::new(
                "types",
                SchemaErrorKind::NotAMap {
                    found: json_kind(types),
                },
            ));
        };
        for name in declared.keys() {
            check_type_name(name)?;
        }
        let order = build_order(declared)?;
        let entries: Vec<(&String, &Value)> = declared.iter().collect();
        let mut custom = CustomTypes::default();
        for index in order {
            let Some(&(name, spec)) = entries.get(index) else {
                continue;
            };
            let path = child_path("types", name);
            let field = match spec {
                // An alias keeps its `required`, which then applies at every
                // use (upstream behaviour).
                Value::String(text) => custom.field_from_string(text, &path)?,
                Value::Object(fields) => custom.struct_field(fields, &path)?,
                other => {
                    return Err(SchemaError::new(
                        &path,
                        SchemaErrorKind::UnexpectedValue {
                            found: json_kind(other),
                        },
                    ));
                }
            };
            // Aliases of aliases can grow without bound; structs were
            // checked as they were built.
            check_size(&field, &path, MAX_SCHEMA_NODES)?;
            custom.resolved.insert(name.clone(), field);
        }
        // Keep declaration order for anyone listing the types.
        let mut in_order = IndexMap::with_capacity(custom.resolved.len());
        for (name, _) in entries {
            if let Some(field) = custom.resolved.swap_remove(name.as_str()) {
                in_order.insert(name.clone(), field);
            }
        }
        custom.resolved = in_order;
        Ok(custom)
    }

    /// The resolved custom type `name`, if declared.
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.resolved.get(name)
    }

    /// The resolved custom types, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Field)> {
        self.resolved
            .iter()
            .map(|(name, field)| (name.as_str(), field))
    }

    /// Builds the schema of a map of fields (`spec`, or a nested map).
    pub fn struct_field(
        &self,
        fields: &Map<String, Value>,
        path: &str,
    ) -> Result<Field, SchemaError> {
        self.struct_at_depth(fields, path, 0)
    }

    fn struct_at_depth(
        &self,
        fields: &Map<String, Value>,
        path: &str,
        depth: usize,
    ) -> Result<Field, SchemaError> {
        if depth > MAX_OBJECT_NESTING {
            return Err(SchemaError::new(
                path,
                SchemaErrorKind::ObjectNestingTooDeep {
                    max: MAX_OBJECT_NESTING,
                },
            ));
        }
        let mut children = IndexMap::with_capacity(fields.len());
        // Counted as children are built, so an oversized schema stops early
        // instead of first being inlined in full.
        let mut nodes = 1;
        for (name, spec) in fields {
            let child = child_path(path, name);
            if name.is_empty() {
                return Err(SchemaError::new(&child, SchemaErrorKind::EmptyFieldName));
            }
            let field = match spec {
                Value::String(text) => self.field_from_string(text, &child)?,
                Value::Object(nested) => self.struct_at_depth(nested, &child, depth + 1)?,
                other => {
                    return Err(SchemaError::new(
                        &child,
                        SchemaErrorKind::UnexpectedValue {
                            found: json_kind(other),
                        },
                    ));
                }
            };
            nodes += check_size(&field, &child, MAX_SCHEMA_NODES.saturating_sub(nodes))?;
            children.insert(name.clone(), field);
        }
        let mut field = Field::new(FieldType::Struct(children));
        cascade_default(&mut field);
        Ok(field)
    }

    /// Builds one field from `type | markers`.
    pub fn field_from_string(&self, text: &str, path: &str) -> Result<Field, SchemaError> {
        // Only the first `|` separates; later ones belong to marker values
        // (`validation="a || b"`).
        let (type_text, markers_text) = match text.split_once('|') {
            Some((ty, markers)) => (ty, Some(markers)),
            None => (text, None),
        };
        let expr = TypeExpr::parse(type_text).map_err(|e| SchemaError::new(path, e))?;
        let mut field = self.resolve(&expr).map_err(|e| SchemaError::new(path, e))?;
        if let Some(markers_text) = markers_text {
            let markers = parse_markers(markers_text).map_err(|e| SchemaError::new(path, e))?;
            apply_markers(&mut field, &markers, path)?;
        }
        check_transition_rules(&field, path)?;
        Ok(field)
    }

    fn resolve(&self, expr: &TypeExpr) -> Result<Field, crate::error::TypeError> {
        Ok(match expr {
            TypeExpr::String => Field::new(FieldType::String),
            TypeExpr::Integer => Field::new(FieldType::Integer),
            TypeExpr::Boolean => Field::new(FieldType::Boolean),
            TypeExpr::Number => Field::new(FieldType::Number),
            TypeExpr::Object => Field::new(FieldType::Object),
            TypeExpr::Array(inner) => Field::new(FieldType::Array(Box::new(self.element(inner)?))),
            TypeExpr::Map(inner) => Field::new(FieldType::Map(Box::new(self.element(inner)?))),
            TypeExpr::Custom(name) => self
                .resolved
                .get(name)
                .cloned()
                .ok_or_else(|| crate::error::TypeError::Unknown(name.clone()))?,
        })
    }

    /// List items and map values have no name in a parent, so an alias's
    /// `required` means nothing there.
    fn element(&self, expr: &TypeExpr) -> Result<Field, crate::error::TypeError> {
        let mut field = self.resolve(expr)?;
        field.required = false;
        Ok(field)
    }
}

/// Checks that `field` has at most `max_nodes` nodes and is not too deep
/// (counting one more level for its parent); returns its node count.
fn check_size(field: &Field, path: &str, max_nodes: usize) -> Result<usize, SchemaError> {
    match field.tree_size(max_nodes) {
        None => Err(SchemaError::new(
            path,
            SchemaErrorKind::SchemaTooLarge {
                max_nodes: MAX_SCHEMA_NODES,
            },
        )),
        Some(size) if size.depth >= MAX_SCHEMA_DEPTH => Err(SchemaError::new(
            path,
            SchemaErrorKind::SchemaTooDeep {
                max: MAX_SCHEMA_DEPTH,
            },
        )),
        Some(size) => Ok(size.nodes),
    }
}

/// An object whose children have defaults gets `default: {}` when none of
/// them is required, so that the API server's defaulting reaches the
/// children even when the author omits the whole object. With a required
/// child, `{}` would itself be invalid.
fn cascade_default(field: &mut Field) {
    let FieldType::Struct(children) = &field.ty else {
        return;
    };
    let any_default = children.values().any(|c| c.default.is_some());
    let any_required = children.values().any(|c| c.required);
    if any_default && !any_required && field.default.is_none() {
        field.default = Some(Value::Object(Map::new()));
    }
}

fn check_type_name(name: &str) -> Result<(), SchemaError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if TypeExpr::is_builtin_name(name) {
        "it is a built-in type"
    } else if name.starts_with("map[") || name.starts_with("[]") {
        "it would read as a list or map type"
    } else if name.chars().any(|c| c.is_whitespace() || c == '|') {
        "it contains whitespace or `|`"
    } else {
        return Ok(());
    };
    Err(SchemaError::new(
        &child_path("types", name),
        SchemaErrorKind::InvalidTypeName {
            name: name.to_owned(),
            reason,
        },
    ))
}

/// The order to build custom types in: dependencies first, and otherwise
/// declaration order (Kahn's algorithm with the smallest declaration index
/// first), so errors are reported deterministically. O(n log n + edges), so
/// a huge `types` map cannot stall the controller.
fn build_order(declared: &Map<String, Value>) -> Result<Vec<usize>, SchemaError> {
    let names: Vec<&str> = declared.keys().map(String::as_str).collect();
    // Only looked up, never iterated, so its order cannot leak into output.
    let index_of: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    // deps[i]: the declared types that type i uses. Unknown names are left
    // for resolution to report with the field's path.
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(names.len());
    // users[j]: the types that use type j.
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    for (i, spec) in declared.values().enumerate() {
        let mut used = Vec::new();
        collect_type_names(spec, &mut used);
        let mut indices: Vec<usize> = used
            .iter()
            .filter_map(|n| index_of.get(n.as_str()).copied())
            .collect();
        indices.sort_unstable();
        indices.dedup();
        // A self-reference is a cycle of one.
        if indices.contains(&i) {
            return Err(cycle_error(vec![names[i].to_owned(), names[i].to_owned()]));
        }
        for &j in &indices {
            users[j].push(i);
        }
        deps.push(indices);
    }

    let mut pending: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut ready: BinaryHeap<Reverse<usize>> = pending
        .iter()
        .enumerate()
        .filter(|(_, n)| **n == 0)
        .map(|(i, _)| Reverse(i))
        .collect();
    let mut order = Vec::with_capacity(names.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &j in &users[i] {
            pending[j] -= 1;
            if pending[j] == 0 {
                ready.push(Reverse(j));
            }
        }
    }
    if order.len() == names.len() {
        return Ok(order);
    }
    Err(cycle_error(find_cycle(&deps, &pending, &names)))
}

fn cycle_error(cycle: Vec<String>) -> SchemaError {
    let path = child_path("types", cycle.first().map_or("", String::as_str));
    SchemaError::new(&path, SchemaErrorKind::CyclicTypes { cycle })
}

/// Follows unresolved dependencies from the first type left over until a
/// type repeats; the repeated stretch is the cycle.
fn find_cycle(deps: &[Vec<usize>], pending: &[usize], names: &[&str]) -> Vec<String> {
    let Some(start) = pending.iter().position(|n| *n > 0) else {
        return Vec::new();
    };
    // Position of each type in the walk, to spot the repeat in O(1).
    let mut seen_at: Vec<Option<usize>> = vec![None; names.len()];
    let mut walk = vec![start];
    seen_at[start] = Some(0);
    let mut current = start;
    loop {
        // Every type with pending dependencies has one that is itself
        // pending, so this walk can always continue.
        let Some(&next) = deps[current].iter().find(|d| pending[**d] > 0) else {
            return walk.iter().map(|i| names[*i].to_owned()).collect();
        };
        if let Some(at) = seen_at[next] {
            let mut cycle: Vec<String> = walk[at..].iter().map(|i| names[*i].to_owned()).collect();
            cycle.push(names[next].to_owned());
            return cycle;
        }
        seen_at[next] = Some(walk.len());
        walk.push(next);
        current = next;
    }
}

/// The custom type names a type spec uses (parse errors are ignored here
/// and reported when the type is built).
fn collect_type_names(spec: &Value, out: &mut Vec<String>) {
    collect_type_names_at(spec, out, 0);
}

fn collect_type_names_at(spec: &Value, out: &mut Vec<String>, depth: usize) {
    // Too deep is reported when the type is built.
    if depth > MAX_OBJECT_NESTING {
        return;
    }
    match spec {
        Value::String(text) => {
            let type_text = text.split_once('|').map_or(text.as_str(), |(ty, _)| ty);
            if let Ok(expr) = TypeExpr::parse(type_text) {
                out.extend(expr.custom_names().into_iter().map(str::to_owned));
            }
        }
        Value::Object(fields) => {
            for child in fields.values() {
                collect_type_names_at(child, out, depth + 1);
            }
        }
        _ => {}
    }
}
