//! The CRD that registers `ResourceGraphDefinition` itself.
//!
//! Its OpenAPI schema carries the admission rules that the API server can
//! check before kro sees an RGD: name patterns, immutable fields of the
//! instance kind, and the one-of rules of resources and external references.
//! Everything else is validated by the graph builder, which can give richer
//! errors.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Value, json};

use super::rgd::{GROUP, KIND, VERSION};

/// A lowercase RFC 1123 label, for short names and categories.
const DNS_LABEL_PATTERN: &str = "^[a-z]([-a-z0-9]*[a-z0-9])?$";

/// The `ResourceGraphDefinition` CRD, as the operator installs it and as
/// `deploy/crds/` and the Helm chart (`charts/kro/crds/`) ship it.
pub fn resource_graph_definition_crd() -> CustomResourceDefinition {
    serde_json::from_value(crd_json())
        .unwrap_or_else(|e| unreachable!("the RGD CRD literal matches the CRD type: {e}"))
}

fn immutable(message: &str) -> Value {
    json!([{ "rule": "self == oldSelf", "message": message }])
}

fn name_list() -> Value {
    json!({
        "type": "array",
        "maxItems": 32,
        "x-kubernetes-list-type": "set",
        "items": { "type": "string", "maxLength": 63, "pattern": DNS_LABEL_PATTERN }
    })
}

fn free_form(description: &str) -> Value {
    json!({
        "type": "object",
        "description": description,
        "x-kubernetes-preserve-unknown-fields": true
    })
}

fn expressions(description: &str) -> Value {
    json!({ "type": "array", "description": description, "items": { "type": "string" } })
}

/// `spec.schema.additionalPrinterColumns`: kubectl columns of the instances.
fn printer_columns() -> Value {
    json!({
        "type": "array",
        "description": "Printer columns of the generated CRD; they replace the defaults.",
        "items": {
            "type": "object",
            "required": ["name", "type", "jsonPath"],
            "properties": {
                "name": { "type": "string" },
                "type": { "type": "string" },
                "format": { "type": "string" },
                "description": { "type": "string" },
                "priority": { "type": "integer", "format": "int32" },
                "jsonPath": { "type": "string" }
            }
        }
    })
}

fn schema_json() -> Value {
    json!({
        "type": "object",
        "description": "The instance kind: its name, version, SimpleSchema and status.",
        "required": ["apiVersion", "kind"],
        "properties": {
            "apiVersion": {
                "type": "string",
                "description": "Version of the generated CRD, such as v1alpha1.",
                "pattern": "^v[0-9]+(alpha[0-9]+|beta[0-9]+)?$",
                "x-kubernetes-validations": immutable("apiVersion is immutable")
            },
            "kind": {
                "type": "string",
                "description": "Kind of the generated CRD, UpperCamelCase.",
                "pattern": "^[A-Z][a-zA-Z0-9]{0,62}$",
                "x-kubernetes-validations": immutable("kind is immutable")
            },
            "group": {
                "type": "string",
                "description": "API group of the generated CRD.",
                "default": GROUP,
                "x-kubernetes-validations": immutable("group is immutable")
            },
            "scope": {
                "type": "string",
                "description": "Scope of the generated CRD.",
                "enum": ["Namespaced", "Cluster"],
                "default": "Namespaced",
                "x-kubernetes-validations": immutable("scope is immutable")
            },
            "spec": free_form("SimpleSchema of the instance spec."),
            "types": free_form("Named custom SimpleSchema types."),
            "status": free_form("CEL projections into the instance status, and custom conditions."),
            "additionalPrinterColumns": printer_columns(),
            "shortNames": name_list(),
            "categories": name_list(),
            "metadata": {
                "type": "object",
                "description": "Labels and annotations of the generated CRD object.",
                "properties": {
                    "labels": { "type": "object", "additionalProperties": { "type": "string" } },
                    "annotations": { "type": "object", "additionalProperties": { "type": "string" } }
                }
            }
        }
    })
}

fn resource_json() -> Value {
    json!({
        "type": "object",
        "required": ["id"],
        "x-kubernetes-validations": [{
            "rule": "has(self.template) != has(self.externalRef)",
            "message": "exactly one of template or externalRef must be provided"
        }],
        "properties": {
            "id": {
                "type": "string",
                "description": "Identifier of the resource, lowerCamelCase.",
                "pattern": "^[a-z][a-zA-Z0-9]*$"
            },
            "template": free_form("The object to create, with ${...} expressions in its values."),
            "externalRef": {
                "type": "object",
                "description": "An existing object to read instead of creating one.",
                "required": ["apiVersion", "kind", "metadata"],
                "properties": {
                    "apiVersion": { "type": "string" },
                    "kind": { "type": "string" },
                    "metadata": {
                        "type": "object",
                        "x-kubernetes-validations": [{
                            "rule": "has(self.name) != has(self.selector)",
                            "message": "exactly one of name or selector must be provided"
                        }],
                        "properties": {
                            "name": { "type": "string", "minLength": 1 },
                            "namespace": { "type": "string" },
                            "selector": free_form("A label selector choosing a collection.")
                        }
                    }
                }
            },
            "readyWhen": expressions("Boolean expressions that must hold before dependants proceed."),
            "includeWhen": expressions("Boolean expressions that must hold for the resource to exist."),
            "forEach": {
                "type": "array",
                "description": "Iterators {name: ${list expression}}; one resource per element of their product.",
                "items": {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "additionalProperties": { "type": "string" }
                }
            }
        }
    })
}

fn condition_json() -> Value {
    json!({
        "type": "object",
        "required": ["type", "status"],
        "properties": {
            "type": { "type": "string" },
            "status": { "type": "string", "enum": ["True", "False", "Unknown"] },
            "lastTransitionTime": { "type": "string", "format": "date-time" },
            "reason": { "type": "string" },
            "message": { "type": "string" },
            "observedGeneration": { "type": "integer", "format": "int64" }
        }
    })
}

fn status_json() -> Value {
    json!({
        "type": "object",
        "properties": {
            "state": { "type": "string", "enum": ["Active", "Inactive"] },
            "topologicalOrder": { "type": "array", "items": { "type": "string" } },
            "resources": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {
                        "id": { "type": "string" },
                        "dependencies": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["id"],
                                "properties": { "id": { "type": "string" } }
                            }
                        }
                    }
                }
            },
            "conditions": { "type": "array", "items": condition_json() }
        }
    })
}

fn crd_json() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": format!("resourcegraphdefinitions.{GROUP}") },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": KIND,
                "listKind": format!("{KIND}List"),
                "plural": "resourcegraphdefinitions",
                "singular": "resourcegraphdefinition",
                "shortNames": ["rgd"]
            },
            "scope": "Cluster",
            "versions": [{
                "name": VERSION,
                "served": true,
                "storage": true,
                "subresources": { "status": {} },
                "additionalPrinterColumns": [
                    { "name": "APIVERSION", "type": "string", "jsonPath": ".spec.schema.apiVersion" },
                    { "name": "KIND", "type": "string", "jsonPath": ".spec.schema.kind" },
                    { "name": "STATE", "type": "string", "jsonPath": ".status.state" },
                    { "name": "READY", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status" },
                    { "name": "TOPOLOGICALORDER", "type": "string", "priority": 1, "jsonPath": ".status.topologicalOrder" },
                    { "name": "AGE", "type": "date", "jsonPath": ".metadata.creationTimestamp" }
                ],
                "schema": { "openAPIV3Schema": {
                    "type": "object",
                    "description": "A new Kubernetes API defined as a graph of resources.",
                    "properties": {
                        "apiVersion": { "type": "string" },
                        "kind": { "type": "string" },
                        "metadata": { "type": "object" },
                        "spec": {
                            "type": "object",
                            "required": ["schema"],
                            "properties": {
                                "schema": schema_json(),
                                "resources": { "type": "array", "items": resource_json() }
                            }
                        },
                        "status": status_json()
                    }
                }}
            }]
        }
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::resource_graph_definition_crd;

    /// The shipped copies, relative to this crate: the plain manifest and
    /// the Helm chart's (Helm installs `crds/` before the templates).
    const MANIFESTS: [&str; 2] = [
        "../../deploy/crds/resourcegraphdefinitions.kro.run.yaml",
        "../../charts/kro/crds/resourcegraphdefinitions.kro.run.yaml",
    ];

    /// `deploy/crds/` and `charts/kro/crds/` must match the code, and so
    /// each other. Set `KRO_UPDATE_MANIFESTS=1` to rewrite them after
    /// changing the CRD.
    #[test]
    fn shipped_manifests_are_up_to_date() {
        let generated = format!(
            "# Generated from crates/kro-graph/src/api/crd.rs; do not edit.\n{}",
            serde_saphyr::to_string(&resource_graph_definition_crd())
                .expect("a CRD serialises to YAML")
        );
        for manifest in MANIFESTS {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(manifest);
            if std::env::var_os("KRO_UPDATE_MANIFESTS").is_some() {
                std::fs::write(&path, &generated).expect("write the manifest");
            }
            let shipped = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                shipped == generated,
                "{} is out of date: run `KRO_UPDATE_MANIFESTS=1 cargo test -p kro-graph` and commit it",
                path.display()
            );
        }
    }

    #[test]
    fn crd_names_and_scope() {
        let crd = resource_graph_definition_crd();
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some("resourcegraphdefinitions.kro.run")
        );
        assert_eq!(crd.spec.scope, "Cluster");
        assert_eq!(crd.spec.names.short_names, Some(vec!["rgd".to_owned()]));
        let version = &crd.spec.versions[0];
        let columns: Vec<_> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|column| column.name.as_str())
            .collect();
        assert_eq!(
            columns,
            [
                "APIVERSION",
                "KIND",
                "STATE",
                "READY",
                "TOPOLOGICALORDER",
                "AGE"
            ]
        );
    }
}
