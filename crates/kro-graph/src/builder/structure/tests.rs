use serde_json::{Value, json};

use super::*;
use crate::builder::test_support::error_lines;
use crate::resolver::BuiltinSchemas;

const APPLICATION: &str = include_str!("../../../../../examples/application/rgd.yaml");

fn rgd(schema: Value, resources: Value) -> ResourceGraphDefinition {
    serde_json::from_value(json!({
        "metadata": { "name": "test" },
        "spec": { "schema": schema, "resources": resources }
    }))
    .unwrap()
}

fn namespaced() -> Value {
    json!({ "apiVersion": "v1alpha1", "kind": "Widget", "spec": { "name": "string" } })
}

fn config_map(name: &str) -> Value {
    json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": name } })
}

fn check(rgd: &ResourceGraphDefinition) -> Result<Structure, BuildErrors> {
    check_structure(rgd, &BuiltinSchemas::new(), &BuildOptions::default())
}

/// The errors as `path: message` lines.
fn errors(rgd: &ResourceGraphDefinition) -> Vec<String> {
    error_lines(&check(rgd).expect_err("the RGD is invalid"))
}

#[test]
fn the_application_example_passes() {
    let rgd: ResourceGraphDefinition = serde_saphyr::from_str(APPLICATION).unwrap();
    let structure = check(&rgd).unwrap();
    assert_eq!(structure.rgd, "my-application");
    assert_eq!(
        structure.instance_crd.metadata.name.as_deref(),
        Some("applications.kro.run")
    );
    let ids: Vec<_> = structure
        .resources
        .iter()
        .map(|r| (r.id.as_str(), r.kind))
        .collect();
    assert_eq!(
        ids,
        [
            ("deployment", NodeKind::Resource),
            ("service", NodeKind::Resource),
            ("ingress", NodeKind::Resource)
        ]
    );
    let deployment = &structure.resources[0];
    assert_eq!(deployment.schema.resource_type.plural, "deployments");
    let paths: Vec<String> = deployment
        .templates
        .iter()
        .map(|t| t.path.to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "metadata.name",
            "spec.selector.matchLabels.app",
            "spec.template.metadata.labels.app",
            "spec.template.spec.containers[0].name",
            "spec.template.spec.containers[0].image",
        ]
    );
    assert_eq!(
        structure.resources[2].include_when[0].source,
        "schema.spec.ingress.enabled"
    );
}

#[test]
fn ids_must_be_valid_and_unique() {
    let r = rgd(
        namespaced(),
        json!([
            { "id": "cm", "template": config_map("a") },
            { "id": "cm", "template": config_map("b") },
            { "id": "Bad-Id", "template": config_map("c") },
            { "id": "schema", "template": config_map("d") }
        ]),
    );
    assert_eq!(
        errors(&r),
        [
            "spec.resources[1].id: found resources with duplicate id \"cm\"",
            "spec.resources[2].id: naming convention violation: id Bad-Id is not a valid KRO resource id: must be lower camelCase",
            "spec.resources[3].id: naming convention violation: id schema is a reserved keyword in KRO",
        ]
    );
}

#[test]
fn template_and_external_ref_are_exclusive() {
    let r = rgd(
        namespaced(),
        json!([
            { "id": "both", "template": config_map("a"),
              "externalRef": { "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "x" } } },
            { "id": "neither" },
            { "id": "iterated", "forEach": [{ "x": "${[1]}" }],
              "externalRef": { "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "x" } } },
            { "id": "ambiguous",
              "externalRef": { "apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": { "name": "x", "selector": { "matchLabels": { "a": "b" } } } } }
        ]),
    );
    assert_eq!(
        errors(&r),
        [
            "spec.resources[0]: exactly one of template or externalRef must be provided",
            "spec.resources[1]: exactly one of template or externalRef must be provided",
            "spec.resources[2].forEach: cannot use externalRef with forEach",
            "spec.resources[3].externalRef.metadata: externalRef.metadata must set exactly one of name or selector",
        ]
    );
}

#[test]
fn objects_need_literal_api_version_kind_and_metadata() {
    let r = rgd(
        namespaced(),
        json!([
            { "id": "a", "template": { "kind": "ConfigMap", "metadata": {} } },
            { "id": "b", "template": { "apiVersion": "v1", "kind": 3, "metadata": [] } },
            { "id": "c", "template": { "apiVersion": "${schema.spec.v}", "kind": "ConfigMap" } },
            { "id": "d", "template": { "apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {} } }
        ]),
    );
    assert_eq!(
        errors(&r),
        [
            "spec.resources[0].template.apiVersion: apiVersion field not found",
            "spec.resources[1].template.kind: kind must be a string",
            "spec.resources[1].template.metadata: metadata must be a map",
            "spec.resources[2].template.apiVersion: apiVersion must be a literal string, without expressions",
            "spec.resources[2].template.metadata: metadata field not found",
            "spec.resources[3].template.apiVersion: schema not found for example.com/v1, Kind=Gadget",
        ]
    );
}

#[test]
fn scope_rules() {
    let namespace_with_namespace = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "n", "namespace": "x" } });
    let r = rgd(
        namespaced(),
        json!([{ "id": "ns", "template": namespace_with_namespace }]),
    );
    assert_eq!(
        errors(&r),
        [
            "spec.resources[0].template.metadata.namespace: Namespace is cluster-scoped and must not set metadata.namespace"
        ]
    );

    let cluster = json!({ "apiVersion": "v1alpha1", "kind": "Widget", "scope": "Cluster" });
    let selector_ref =
        json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "selector": {} } });
    let mut placed = config_map("b");
    placed["metadata"]["namespace"] = json!("${schema.spec.target}");
    let r = rgd(
        cluster,
        json!([
            { "id": "homeless", "template": config_map("a") },
            { "id": "placed", "template": placed },
            { "id": "everywhere", "externalRef": selector_ref }
        ]),
    );
    assert_eq!(
        errors(&r),
        [
            "spec.resources[0].template.metadata.namespace: ConfigMap is namespaced and the instance is cluster-scoped: metadata.namespace must be set"
        ]
    );
}

#[test]
fn kro_labels_and_annotations_are_reserved() {
    let mut template = config_map("a");
    template["metadata"]["labels"] = json!({ "kro.run/owned": "true", "app": "x" });
    template["metadata"]["annotations"] = json!({ "internal.kro.run/x": "y" });
    let r = rgd(namespaced(), json!([{ "id": "cm", "template": template }]));
    assert_eq!(
        errors(&r),
        [
            "spec.resources[0].template.metadata.labels[\"kro.run/owned\"]: labels with prefix \"kro.run/\" are reserved for internal use: \"kro.run/owned\"",
            "spec.resources[0].template.metadata.annotations[\"internal.kro.run/x\"]: annotations with prefix \"internal.kro.run/\" are reserved for internal use: \"internal.kro.run/x\"",
        ]
    );
}

#[test]
fn lifecycle_annotations_become_the_resource_policies() {
    let mut adopted = config_map("a");
    adopted["metadata"]["annotations"] = json!({
        "lifecycle.kro.run/adoption-policy": "adopt",
        "lifecycle.kro.run/deletion-policy": "orphan",
        "example.com/other": "${schema.spec.name}",
    });
    let mut retained = config_map("b");
    retained["metadata"]["annotations"] = json!({ "lifecycle.kro.run/deletion-policy": "retain" });
    let r = rgd(
        namespaced(),
        json!([
            { "id": "adopted", "template": adopted },
            { "id": "retained", "template": retained },
            { "id": "plain", "template": config_map("c") },
            { "id": "read", "externalRef": config_map("d") },
        ]),
    );
    let structure = check(&r).expect("valid");
    let policies: Vec<_> = structure
        .resources
        .iter()
        .map(|r| {
            r.lifecycle
                .map(|l| (l.adoption.as_str(), l.deletion.as_str()))
        })
        .collect();
    assert_eq!(
        policies,
        [
            Some(("adopt", "orphan")),
            Some(("never", "retain")),
            Some(("never", "delete")),
            None
        ]
    );
}

#[test]
fn lifecycle_annotations_are_literal_known_and_only_on_templates() {
    let mut template = config_map("a");
    template["metadata"]["annotations"] = json!({
        "lifecycle.kro.run/adoption-policy": "${schema.spec.name}",
        "lifecycle.kro.run/deletion-policy": "keep",
        "lifecycle.kro.run/deletion-polcy": "retain",
    });
    let mut numeric = config_map("b");
    numeric["metadata"]["annotations"] = json!({ "lifecycle.kro.run/adoption-policy": true });
    let mut external = config_map("c");
    external["metadata"]["annotations"] = json!({ "lifecycle.kro.run/deletion-policy": "orphan" });
    let r = rgd(
        namespaced(),
        json!([
            { "id": "cm", "template": template },
            { "id": "numeric", "template": numeric },
            { "id": "read", "externalRef": external },
        ]),
    );
    assert_eq!(
        errors(&r),
        [
            "spec.resources[0].template.metadata.annotations[\"lifecycle.kro.run/adoption-policy\"]: lifecycle.kro.run/adoption-policy must be a literal string, without expressions: the policy is the RGD author's, the same for every instance",
            "spec.resources[0].template.metadata.annotations[\"lifecycle.kro.run/deletion-policy\"]: lifecycle.kro.run/deletion-policy: unknown value \"keep\"; expected one of delete, orphan, retain",
            "spec.resources[0].template.metadata.annotations[\"lifecycle.kro.run/deletion-polcy\"]: unknown lifecycle annotation \"lifecycle.kro.run/deletion-polcy\"; kro knows lifecycle.kro.run/adoption-policy and lifecycle.kro.run/deletion-policy",
            "spec.resources[1].template.metadata.annotations[\"lifecycle.kro.run/adoption-policy\"]: lifecycle.kro.run/adoption-policy must be a literal string, without expressions: the policy is the RGD author's, the same for every instance",
            "spec.resources[2].externalRef.metadata.annotations[\"lifecycle.kro.run/deletion-policy\"]: lifecycle.kro.run/deletion-policy is meaningless on an externalRef: kro only reads the object, it never adopts, orphans or deletes it",
        ]
    );
    let found = check(&r).expect_err("invalid");
    let located: Vec<_> = found
        .0
        .iter()
        .map(|e| (e.rgd.as_str(), e.resource.as_deref()))
        .collect();
    assert_eq!(located[0], ("test", Some("cm")));
    assert_eq!(located[4], ("test", Some("read")));
}

#[test]
fn conditions_must_be_standalone_and_templates_must_scan() {
    let mut template = config_map("a");
    template["data"] = json!({ "x": "${a(${b})}" });
    let r = rgd(
        namespaced(),
        json!([{ "id": "cm", "template": template,
                 "includeWhen": ["${schema.spec.on}", "on: ${schema.spec.on}"],
                 "readyWhen": ["${cm.data"] }]),
    );
    let found = errors(&r);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found[0]
            .starts_with("spec.resources[0].template.data.x: nested expressions are not allowed"),
        "{}",
        found[0]
    );
    assert_eq!(
        found[1],
        "spec.resources[0].includeWhen[1]: only standalone expressions are allowed here: the value must be exactly one ${...}"
    );
    assert!(
        found[2].starts_with("spec.resources[0].readyWhen[0]: unterminated expression"),
        "{}",
        found[2]
    );
}

#[test]
fn for_each_rules() {
    let r = rgd(
        namespaced(),
        json!([
            { "id": "cm", "template": config_map("a"),
              "forEach": [ { "zone": "${schema.spec.zones}", "extra": "${[1]}" },
                           { "zone": "${[1]}" }, { "zone": "${[2]}" },
                           { "item": "${[3]}" }, { "other": "${[4]}" }, { "zone2": "list" } ] },
            { "id": "other", "template": config_map("b") }
        ]),
    );
    assert_eq!(
        errors(&r),
        [
            "spec.resources[0].forEach[0]: each forEach entry must have exactly one iterator, found 2",
            "spec.resources[0].forEach[2].zone: forEach iterator \"zone\" is declared more than once",
            "spec.resources[0].forEach[3].item: forEach iterator name \"item\" is a reserved keyword",
            "spec.resources[0].forEach[4].other: forEach iterator \"other\" has the same name as a resource",
            "spec.resources[0].forEach[5].zone2: only standalone expressions are allowed here: the value must be exactly one ${...}",
        ]
    );
    let two = rgd(
        namespaced(),
        json!([{ "id": "cm", "template": config_map("a"), "forEach": [{ "a": "${[1]}" }, { "b": "${[2]}" }] }]),
    );
    let structure = check(&two).unwrap();
    assert_eq!(structure.resources[0].kind, NodeKind::Collection);
    let limited = check_structure(
        &two,
        &BuiltinSchemas::new(),
        &BuildOptions {
            max_collection_dimensions: 1,
        },
    );
    assert_eq!(
        limited.unwrap_err().0[0].kind.to_string(),
        "forEach cannot have more than 1 dimensions, found 2"
    );
}

#[test]
fn schema_errors_and_resource_errors_are_reported_together() {
    let r = rgd(
        json!({ "apiVersion": "v1alpha1", "kind": "Widget", "spec": { "name": "strin" } }),
        json!([{ "id": "Cm", "template": config_map("a") }]),
    );
    let all = check(&r).unwrap_err();
    assert_eq!(all.0.len(), 2);
    assert_eq!(all.0[0].path.as_ref().unwrap().to_string(), "spec.schema");
    let text = all.to_string();
    assert!(
        text.starts_with("resourcegraphdefinition \"test\", spec.schema: "),
        "{text}"
    );
    assert!(
        text.contains(
            "\nresourcegraphdefinition \"test\", resource \"Cm\", spec.resources[0].id: "
        ),
        "{text}"
    );
}

#[test]
fn referenced_kinds_are_sorted_and_unique() {
    let rgd: ResourceGraphDefinition = serde_json::from_value(json!({
        "metadata": { "name": "x" },
        "spec": {
            "schema": { "apiVersion": "v1alpha1", "kind": "X" },
            "resources": [
                { "id": "a", "template": { "apiVersion": "apps/v1", "kind": "Deployment" } },
                { "id": "b", "template": { "apiVersion": "v1", "kind": "ConfigMap" } },
                { "id": "c", "externalRef": { "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": "n" } } },
                { "id": "d", "template": { "apiVersion": "${x}", "kind": 3 } }
            ]
        }
    }))
    .expect("parses");
    assert_eq!(
        referenced_kinds(&rgd),
        [
            Gvk::new("", "v1", "ConfigMap"),
            Gvk::new("apps", "v1", "Deployment"),
        ]
    );
}
