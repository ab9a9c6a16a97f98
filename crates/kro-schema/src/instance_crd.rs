//! The `CustomResourceDefinition` that registers an RGD's instance kind.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition, CustomResourceDefinitionNames,
    CustomResourceDefinitionSpec, CustomResourceDefinitionVersion, CustomResourceSubresourceStatus,
    CustomResourceSubresources, CustomResourceValidation, JSONSchemaProps, JSONSchemaPropsOrArray,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::error::{SchemaError, json_kind};
use crate::pluralize::pluralize;

/// The API group used when an RGD names none.
pub const DEFAULT_GROUP: &str = "kro.run";

/// Errors in the parts of `spec.schema` that name the kind.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CrdError {
    /// `kind` is not UpperCamelCase, or too long.
    #[error(
        "kind `{0}` is not a valid kind name: it must be UpperCamelCase (a capital letter, then letters and digits) and at most 63 characters"
    )]
    InvalidKind(String),
    /// `apiVersion` is not `v1`, `v1alpha1`, `v2beta3`...
    #[error("apiVersion `{0}` is not valid: expected v<N>, v<N>alpha<M> or v<N>beta<M>")]
    InvalidApiVersion(String),
    /// `scope` is neither `Namespaced` nor `Cluster`.
    #[error("scope `{0}` is not valid: expected Namespaced or Cluster")]
    InvalidScope(String),
    /// `group` is not a lowercase DNS subdomain.
    #[error("group `{0}` is not valid: expected a lowercase DNS subdomain like example.com")]
    InvalidGroup(String),
    /// A short name or category is not a lowercase DNS label.
    #[error("{field} entry `{value}` is not valid: expected a lowercase DNS label")]
    InvalidName {
        /// `shortNames` or `categories`.
        field: &'static str,
        /// The offending entry.
        value: String,
    },
    /// A piece of `spec.schema` has the wrong shape.
    #[error("schema.{field}: {reason}")]
    Malformed {
        /// Which piece.
        field: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The SimpleSchema of `spec` or `types` is invalid.
    #[error(transparent)]
    Schema(#[from] SchemaError),
}

/// Whether instances live in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// One instance per namespace and name (the default).
    #[default]
    Namespaced,
    /// Cluster-wide instances.
    Cluster,
}

impl Scope {
    /// The CRD spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Namespaced => "Namespaced",
            Scope::Cluster => "Cluster",
        }
    }
}

/// Everything about the instance kind except its schemas: the naming parts
/// of an RGD's `spec.schema`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstanceKind {
    /// API group; [`DEFAULT_GROUP`] when the RGD gives none.
    pub group: String,
    /// The single version, like `v1alpha1`.
    pub api_version: String,
    /// UpperCamelCase kind.
    pub kind: String,
    /// Namespaced or cluster-scoped.
    pub scope: Scope,
    /// `kubectl` short names.
    pub short_names: Vec<String>,
    /// Categories (`kubectl get all` style).
    pub categories: Vec<String>,
    /// Printer columns; when empty, kro's State/Ready/Age are used.
    pub printer_columns: Vec<CustomResourceColumnDefinition>,
    /// Labels for the CRD object itself.
    pub labels: BTreeMap<String, String>,
    /// Annotations for the CRD object itself.
    pub annotations: BTreeMap<String, String>,
}

impl InstanceKind {
    /// Reads the naming parts of an RGD's `spec.schema` (`apiVersion`,
    /// `kind`, `group`, `scope`, `shortNames`, `categories`,
    /// `additionalPrinterColumns`, `metadata.labels`/`annotations`) and
    /// validates them.
    pub fn from_rgd_schema(schema: &Value) -> Result<InstanceKind, CrdError> {
        let Value::Object(map) = schema else {
            return Err(CrdError::Malformed {
                field: "",
                reason: format!("expected a map, found {}", json_kind(schema)),
            });
        };
        let fields = SchemaFields(map);
        let scope = match fields.string("scope")?.as_deref() {
            None | Some("Namespaced") => Scope::Namespaced,
            Some("Cluster") => Scope::Cluster,
            Some(other) => return Err(CrdError::InvalidScope(other.to_owned())),
        };
        let printer_columns = fields.printer_columns()?;
        let kind = InstanceKind {
            // The RGD CRD defaults the group; an explicit empty one means
            // the same.
            group: fields
                .string("group")?
                .filter(|g| !g.is_empty())
                .unwrap_or_else(|| DEFAULT_GROUP.to_owned()),
            api_version: fields.string("apiVersion")?.unwrap_or_default(),
            kind: fields.string("kind")?.unwrap_or_default(),
            scope,
            short_names: fields.strings("shortNames")?,
            categories: fields.strings("categories")?,
            printer_columns,
            labels: fields.metadata_map("labels")?,
            annotations: fields.metadata_map("annotations")?,
        };
        kind.validate()?;
        Ok(kind)
    }

    /// Checks the kind, version, group, short names and categories.
    pub fn validate(&self) -> Result<(), CrdError> {
        if !is_valid_kind(&self.kind) {
            return Err(CrdError::InvalidKind(self.kind.clone()));
        }
        if !is_valid_version(&self.api_version) {
            return Err(CrdError::InvalidApiVersion(self.api_version.clone()));
        }
        let group_ok = !self.group.is_empty()
            && self.group.len() <= 253
            && self.group.split('.').all(is_dns_label);
        if !group_ok {
            return Err(CrdError::InvalidGroup(self.group.clone()));
        }
        for (field, values) in [
            ("shortNames", &self.short_names),
            ("categories", &self.categories),
        ] {
            if let Some(bad) = values
                .iter()
                .find(|v| !is_dns_label(v) || !v.starts_with(|c: char| c.is_ascii_lowercase()))
            {
                return Err(CrdError::InvalidName {
                    field,
                    value: bad.clone(),
                });
            }
        }
        Ok(())
    }

    /// Lower-case plural, as in the CRD's name and REST paths.
    pub fn plural(&self) -> String {
        pluralize(&self.kind.to_ascii_lowercase())
    }

    /// Lower-case singular.
    pub fn singular(&self) -> String {
        self.kind.to_ascii_lowercase()
    }

    /// The CRD's name, `<plural>.<group>`.
    pub fn crd_name(&self) -> String {
        format!("{}.{}", self.plural(), self.group)
    }
}

fn is_valid_kind(kind: &str) -> bool {
    let mut chars = kind.chars();
    kind.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

fn is_valid_version(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let suffix = &rest[digits..];
    if suffix.is_empty() {
        return true;
    }
    let number = suffix
        .strip_prefix("alpha")
        .or_else(|| suffix.strip_prefix("beta"));
    number.is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn is_dns_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// kro's printer columns, used when the author gives none.
pub fn default_printer_columns() -> Vec<CustomResourceColumnDefinition> {
    let column = |name: &str, type_: &str, json_path: &str, description: &str| {
        CustomResourceColumnDefinition {
            name: name.to_owned(),
            type_: type_.to_owned(),
            json_path: json_path.to_owned(),
            description: Some(description.to_owned()),
            priority: Some(0),
            format: None,
        }
    };
    vec![
        column(
            "State",
            "string",
            ".status.state",
            "The state of the instance",
        ),
        column(
            "Ready",
            "string",
            ".status.conditions[?(@.type==\"Ready\")].status",
            "Whether the instance is ready",
        ),
        column(
            "Age",
            "date",
            ".metadata.creationTimestamp",
            "Age of the instance",
        ),
    ]
}

/// The naming parts of an RGD's `spec.schema`, read one field at a time;
/// an absent or null field reads as empty.
struct SchemaFields<'a>(&'a serde_json::Map<String, Value>);

impl SchemaFields<'_> {
    fn malformed(field: &'static str, reason: String) -> CrdError {
        CrdError::Malformed { field, reason }
    }

    fn present(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|value| !value.is_null())
    }

    fn string(&self, field: &'static str) -> Result<Option<String>, CrdError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Self::malformed(
                field,
                format!("expected a string, found {}", json_kind(other)),
            )),
        }
    }

    fn strings(&self, field: &'static str) -> Result<Vec<String>, CrdError> {
        match self.present(field) {
            None => Ok(Vec::new()),
            Some(value) => serde_json::from_value(value.clone())
                .map_err(|_| Self::malformed(field, "expected a list of strings".to_owned())),
        }
    }

    fn printer_columns(&self) -> Result<Vec<CustomResourceColumnDefinition>, CrdError> {
        const FIELD: &str = "additionalPrinterColumns";
        match self.present(FIELD) {
            None => Ok(Vec::new()),
            Some(value) => serde_json::from_value(value.clone())
                .map_err(|e| Self::malformed(FIELD, format!("expected printer columns: {e}"))),
        }
    }

    /// `metadata.<key>`, a map of strings.
    fn metadata_map(&self, key: &'static str) -> Result<BTreeMap<String, String>, CrdError> {
        match self.0.get("metadata").and_then(|m| m.get(key)) {
            None | Some(Value::Null) => Ok(BTreeMap::new()),
            Some(value) => serde_json::from_value(value.clone()).map_err(|_| {
                Self::malformed("metadata", format!("{key} must map strings to strings"))
            }),
        }
    }
}

fn string_schema() -> JSONSchemaProps {
    JSONSchemaProps {
        type_: Some("string".to_owned()),
        ..JSONSchemaProps::default()
    }
}

/// The schema of `status.conditions` that kro writes.
pub fn conditions_schema() -> JSONSchemaProps {
    let mut properties = BTreeMap::new();
    for name in ["type", "status", "reason", "message", "lastTransitionTime"] {
        properties.insert(name.to_owned(), string_schema());
    }
    properties.insert(
        "observedGeneration".to_owned(),
        JSONSchemaProps {
            type_: Some("integer".to_owned()),
            ..JSONSchemaProps::default()
        },
    );
    JSONSchemaProps {
        type_: Some("array".to_owned()),
        items: Some(JSONSchemaPropsOrArray::Schema(Box::new(JSONSchemaProps {
            type_: Some("object".to_owned()),
            properties: Some(properties),
            ..JSONSchemaProps::default()
        }))),
        ..JSONSchemaProps::default()
    }
}

/// The schema of an instance's `status`: `status` (or an empty object) with
/// `state` and `conditions` added unless it declares them.
fn instance_status_schema(status: Option<JSONSchemaProps>) -> JSONSchemaProps {
    let mut status = status.unwrap_or_default();
    status.type_ = Some("object".to_owned());
    let status_properties = status.properties.get_or_insert_with(BTreeMap::new);
    status_properties
        .entry("state".to_owned())
        .or_insert_with(string_schema);
    status_properties
        .entry("conditions".to_owned())
        .or_insert_with(conditions_schema);
    status
}

/// Replaces the status schema of an instance CRD made by [`synthesize_crd`]
/// (kro infers it from the status expressions once they are type-checked,
/// after the CRD is made), adding `state` and `conditions` as it does.
pub fn set_status_schema(crd: &mut CustomResourceDefinition, status: JSONSchemaProps) {
    let root = crd
        .spec
        .versions
        .iter_mut()
        .filter_map(|version| version.schema.as_mut())
        .filter_map(|schema| schema.open_api_v3_schema.as_mut());
    for root in root {
        root.properties.get_or_insert_with(BTreeMap::new).insert(
            "status".to_owned(),
            instance_status_schema(Some(status.clone())),
        );
    }
}

/// Builds the instance CRD from the kind, the OpenAPI schema of `spec`
/// (from [`crate::openapi::to_json_schema`]) and that of `status` (inferred
/// from the RGD's status expressions; `None` when it has none).
///
/// `status.state` and `status.conditions` are added unless the status
/// schema already declares them: the author's declaration wins in the
/// schema, kro still writes its own values.
pub fn synthesize_crd(
    kind: &InstanceKind,
    spec: JSONSchemaProps,
    status: Option<JSONSchemaProps>,
) -> Result<CustomResourceDefinition, CrdError> {
    kind.validate()?;
    let root = root_schema(spec, instance_status_schema(status));
    let non_empty = |values: &Vec<String>| (!values.is_empty()).then(|| values.clone());
    let printer_columns = if kind.printer_columns.is_empty() {
        default_printer_columns()
    } else {
        kind.printer_columns.clone()
    };
    Ok(CustomResourceDefinition {
        metadata: ObjectMeta {
            name: Some(kind.crd_name()),
            labels: (!kind.labels.is_empty()).then(|| kind.labels.clone()),
            annotations: (!kind.annotations.is_empty()).then(|| kind.annotations.clone()),
            ..ObjectMeta::default()
        },
        spec: CustomResourceDefinitionSpec {
            group: kind.group.clone(),
            names: CustomResourceDefinitionNames {
                kind: kind.kind.clone(),
                list_kind: Some(format!("{}List", kind.kind)),
                plural: kind.plural(),
                singular: Some(kind.singular()),
                short_names: non_empty(&kind.short_names),
                categories: non_empty(&kind.categories),
            },
            scope: kind.scope.as_str().to_owned(),
            versions: vec![CustomResourceDefinitionVersion {
                name: kind.api_version.clone(),
                served: true,
                storage: true,
                schema: Some(CustomResourceValidation {
                    open_api_v3_schema: Some(root),
                }),
                subresources: Some(CustomResourceSubresources {
                    status: Some(CustomResourceSubresourceStatus(Value::Object(
                        serde_json::Map::new(),
                    ))),
                    scale: None,
                }),
                additional_printer_columns: Some(printer_columns),
                ..CustomResourceDefinitionVersion::default()
            }],
            ..CustomResourceDefinitionSpec::default()
        },
        status: None,
    })
}

/// The schema of a whole instance: `apiVersion`, `kind`, `metadata`, and
/// the given `spec` and `status`.
fn root_schema(spec: JSONSchemaProps, status: JSONSchemaProps) -> JSONSchemaProps {
    let mut properties = BTreeMap::new();
    properties.insert("apiVersion".to_owned(), string_schema());
    properties.insert("kind".to_owned(), string_schema());
    properties.insert(
        "metadata".to_owned(),
        JSONSchemaProps {
            type_: Some("object".to_owned()),
            ..JSONSchemaProps::default()
        },
    );
    properties.insert("spec".to_owned(), spec);
    properties.insert("status".to_owned(), status);
    JSONSchemaProps {
        type_: Some("object".to_owned()),
        properties: Some(properties),
        ..JSONSchemaProps::default()
    }
}

/// Parses a whole RGD `spec.schema` (naming parts, `spec` and `types`) and
/// builds the instance CRD with the given status schema.
pub fn crd_from_rgd_schema(
    schema: &Value,
    status: Option<JSONSchemaProps>,
) -> Result<CustomResourceDefinition, CrdError> {
    let kind = InstanceKind::from_rgd_schema(schema)?;
    let spec = crate::parse_spec(schema.get("spec"), schema.get("types"))?;
    synthesize_crd(&kind, crate::openapi::to_json_schema(&spec), status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd_json(schema: Value) -> Value {
        let crd = crd_from_rgd_schema(&schema, None).unwrap_or_else(|e| panic!("{e}"));
        serde_json::to_value(crd).expect("CRD serialises")
    }

    #[test]
    fn a_status_schema_set_later_keeps_kros_fields() {
        let mut crd =
            crd_from_rgd_schema(&json!({ "apiVersion": "v1alpha1", "kind": "Widget" }), None)
                .unwrap();
        let status = JSONSchemaProps {
            type_: Some("object".to_owned()),
            properties: Some(BTreeMap::from([("ready".to_owned(), string_schema())])),
            ..JSONSchemaProps::default()
        };
        set_status_schema(&mut crd, status);
        let json = serde_json::to_value(crd).unwrap();
        let properties = &json["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
            ["properties"];
        assert_eq!(properties["ready"]["type"], "string");
        assert_eq!(properties["state"]["type"], "string");
        assert_eq!(properties["conditions"]["type"], "array");
    }

    #[test]
    fn names_follow_the_kind() {
        let crd = crd_json(json!({ "apiVersion": "v1alpha1", "kind": "Policy" }));
        assert_eq!(crd["metadata"]["name"], "policies.kro.run");
        assert_eq!(
            crd["spec"]["names"],
            json!({ "kind": "Policy", "listKind": "PolicyList", "plural": "policies", "singular": "policy" })
        );
        assert_eq!(crd["spec"]["group"], "kro.run");
        assert_eq!(crd["spec"]["scope"], "Namespaced");

        let crd = crd_json(json!({
            "apiVersion": "v1", "kind": "Leaf", "group": "trees.example.com", "scope": "Cluster",
            "shortNames": ["lf"], "categories": ["garden", "all"],
        }));
        assert_eq!(crd["metadata"]["name"], "leaves.trees.example.com");
        assert_eq!(crd["spec"]["names"]["shortNames"], json!(["lf"]));
        assert_eq!(crd["spec"]["names"]["categories"], json!(["garden", "all"]));
        assert_eq!(crd["spec"]["scope"], "Cluster");

        let crd = crd_json(json!({ "apiVersion": "v1", "kind": "Validated" }));
        assert_eq!(crd["spec"]["names"]["plural"], "validateds");
    }

    #[test]
    fn one_served_storage_version_with_status_subresource() {
        let crd = crd_json(json!({ "apiVersion": "v2beta1", "kind": "App" }));
        let versions = crd["spec"]["versions"].as_array().expect("versions");
        assert_eq!(versions.len(), 1);
        assert_eq!(versions[0]["name"], "v2beta1");
        assert_eq!(versions[0]["served"], true);
        assert_eq!(versions[0]["storage"], true);
        assert_eq!(versions[0]["subresources"], json!({ "status": {} }));
    }

    #[test]
    fn default_printer_columns_unless_given() {
        let crd = crd_json(json!({ "apiVersion": "v1", "kind": "App" }));
        let columns = &crd["spec"]["versions"][0]["additionalPrinterColumns"];
        let names: Vec<&str> = columns
            .as_array()
            .expect("columns")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, ["State", "Ready", "Age"]);
        assert_eq!(
            columns[1]["jsonPath"],
            ".status.conditions[?(@.type==\"Ready\")].status"
        );
        assert_eq!(columns[2]["type"], "date");

        let crd = crd_json(json!({
            "apiVersion": "v1", "kind": "App",
            "additionalPrinterColumns": [{ "name": "Image", "type": "string", "jsonPath": ".spec.image" }],
        }));
        assert_eq!(
            crd["spec"]["versions"][0]["additionalPrinterColumns"],
            json!([{ "name": "Image", "type": "string", "jsonPath": ".spec.image" }])
        );
    }

    #[test]
    fn root_schema_and_status_fields() {
        let crd = crd_json(json!({
            "apiVersion": "v1", "kind": "App",
            "spec": { "name": "string | required=true" },
            "metadata": { "labels": { "team": "a" }, "annotations": { "note": "b" } },
        }));
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        assert_eq!(root["type"], "object");
        assert_eq!(
            root["properties"]["apiVersion"],
            json!({ "type": "string" })
        );
        assert_eq!(root["properties"]["metadata"], json!({ "type": "object" }));
        assert_eq!(root["properties"]["spec"]["required"], json!(["name"]));
        assert_eq!(
            root["properties"]["status"]["properties"]["state"],
            json!({ "type": "string" })
        );
        let condition = &root["properties"]["status"]["properties"]["conditions"]["items"];
        assert_eq!(
            condition["properties"]["observedGeneration"],
            json!({ "type": "integer" })
        );
        assert_eq!(
            condition["properties"]["reason"],
            json!({ "type": "string" })
        );
        assert_eq!(crd["metadata"]["labels"], json!({ "team": "a" }));
        assert_eq!(crd["metadata"]["annotations"], json!({ "note": "b" }));
    }

    #[test]
    fn declared_status_fields_win() {
        let kind = InstanceKind::from_rgd_schema(&json!({ "apiVersion": "v1", "kind": "App" }))
            .expect("kind");
        let status: JSONSchemaProps = serde_json::from_value(json!({
            "type": "object",
            "properties": { "state": { "type": "integer" }, "url": { "type": "string" } },
        }))
        .expect("status schema");
        let crd = synthesize_crd(&kind, JSONSchemaProps::default(), Some(status)).expect("crd");
        let crd = serde_json::to_value(crd).expect("json");
        let status =
            &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"];
        assert_eq!(status["properties"]["state"], json!({ "type": "integer" }));
        assert_eq!(status["properties"]["url"], json!({ "type": "string" }));
        assert_eq!(status["properties"]["conditions"]["type"], "array");
    }

    #[test]
    fn invalid_naming_parts_are_refused() {
        let err = |schema: Value| {
            InstanceKind::from_rgd_schema(&schema)
                .expect_err("should fail")
                .to_string()
        };
        assert_eq!(
            err(json!({ "apiVersion": "v1", "kind": "myApp" })),
            "kind `myApp` is not a valid kind name: it must be UpperCamelCase (a capital letter, then letters and digits) and at most 63 characters"
        );
        assert_eq!(
            err(json!({ "apiVersion": "1", "kind": "App" })),
            "apiVersion `1` is not valid: expected v<N>, v<N>alpha<M> or v<N>beta<M>"
        );
        assert_eq!(
            err(json!({ "apiVersion": "v1gamma1", "kind": "App" })),
            "apiVersion `v1gamma1` is not valid: expected v<N>, v<N>alpha<M> or v<N>beta<M>"
        );
        assert_eq!(
            err(json!({ "apiVersion": "v1", "kind": "App", "scope": "Global" })),
            "scope `Global` is not valid: expected Namespaced or Cluster"
        );
        assert_eq!(
            err(json!({ "apiVersion": "v1", "kind": "App", "group": "Kro.run" })),
            "group `Kro.run` is not valid: expected a lowercase DNS subdomain like example.com"
        );
        assert_eq!(
            err(json!({ "apiVersion": "v1", "kind": "App", "shortNames": ["A"] })),
            "shortNames entry `A` is not valid: expected a lowercase DNS label"
        );
        assert_eq!(
            err(json!({ "apiVersion": "v1", "kind": "App", "categories": "all" })),
            "schema.categories: expected a list of strings"
        );
    }

    #[test]
    fn spec_errors_come_through_with_their_path() {
        let err = crd_from_rgd_schema(
            &json!({ "apiVersion": "v1", "kind": "App", "spec": { "a": { "b": "integer | default=x" } } }),
            None,
        )
        .expect_err("bad default");
        assert_eq!(
            err.to_string(),
            "spec.a.b: marker `default`: expected a 64-bit integer, got `x`"
        );
    }
}
