//! The CRDs kro-schema generates, checked by a real API server: accepted
//! and Established, defaults applied as we declare them, and invalid
//! instances rejected with the offending field named.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_testenv::{TestNamespace, eventually};
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::{Api, Client};
use serde_json::{Value, json};

/// An RGD `spec.schema` that uses every type and every marker.
fn every_type_and_marker(group: &str) -> Value {
    json!({
        "apiVersion": "v1alpha1",
        "kind": "Showcase",
        "group": group,
        "shortNames": ["show"],
        "categories": ["kro-schema-test"],
        "spec": {
            "name": r#"string | required=true description="The name" pattern="^[a-z][a-z0-9-]*$" minLength=1 maxLength=20 immutable=true"#,
            "size": r#"string | enum="small,medium,large" default=medium"#,
            "replicas": "integer | default=2 minimum=1 maximum=10",
            "ratio": "float | default=0.5 minimum=0 maximum=1",
            "weight": "number | default=1.5",
            "enabled": "boolean | default=True",
            "labels": r#"map[string]string | default={"team": "core"}"#,
            "tags": r#"[]string | default=["a", "b"] minItems=1 maxItems=5 uniqueItems=true"#,
            "ports": "[]Port | listType=map listMapKey=name maxItems=4",
            "priorities": "[]integer | listType=atomic",
            "config": "object",
            "ingress": {
                "enabled": "boolean | default=false",
                "host": r#"string | default="example.com""#,
                "tls": { "secret": "string | default=tls-cert" },
            },
            "retry": "Retry",
            "even": r#"integer | default=2 validation="self % 2 == 0""#,
            "quote": r#"string | default="say \"hi\"""#,
            // Bounds on a string, as upstream writes them: accepted, and
            // they restrict numbers only.
            "code": "string | minimum=1 maximum=3 default=abcdef",
        },
        "types": {
            "Port": { "name": "string | required=true", "port": "PortNumber" },
            "PortNumber": "integer | minimum=1 maximum=65535 default=80",
            "Retry": { "attempts": "integer | default=3", "backoff": "string | default=1s" },
        },
    })
}

/// Creates the CRD for `schema`, waits for it to be Established and for the
/// kind to be served, and returns an API handle for instances.
async fn install(client: &Client, namespace: &str, schema: &Value) -> (Api<DynamicObject>, String) {
    let crd = kro_schema::instance_crd::crd_from_rgd_schema(schema, None).expect("schema converts");
    let name = crd.metadata.name.clone().expect("CRD has a name");
    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    crds.create(&PostParams::default(), &crd)
        .await
        .unwrap_or_else(|e| panic!("API server refused the CRD {name}: {e}"));
    kro_testenv::crd_established(client, &name).await;

    let group = schema["group"].as_str().expect("group");
    let gvk = GroupVersionKind::gvk(group, "v1alpha1", "Showcase");
    let resource = ApiResource::from_gvk_with_plural(&gvk, &crd.spec.names.plural);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    // Established can precede the kind being served by a moment.
    eventually("the new kind to be served", || async {
        api.list(&Default::default()).await.ok()
    })
    .await;
    (api, name)
}

fn instance(group: &str, name: &str, spec: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": format!("{group}/v1alpha1"),
        "kind": "Showcase",
        "metadata": { "name": name },
        "spec": spec,
    }))
    .expect("instance literal")
}

async fn remove_crd(client: &Client, name: &str) {
    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    let _ = crds.delete(name, &DeleteParams::default()).await;
}

#[tokio::test]
async fn every_type_and_marker_is_accepted_and_defaults_apply() {
    let ns = TestNamespace::create("schema-defaults").await;
    let client = ns.client();
    let group = format!("{}.schema.kro.run", ns.name());
    let schema = every_type_and_marker(&group);
    let (api, crd_name) = install(&client, ns.name(), &schema).await;
    assert_eq!(crd_name, format!("showcases.{group}"));

    let created = api
        .create(
            &PostParams::default(),
            &instance(
                &group,
                "omitted",
                json!({ "name": "demo", "ports": [{ "name": "http" }], "config": { "free": ["form"] } }),
            ),
        )
        .await
        .expect("a minimal instance is accepted");
    let spec = &created.data["spec"];
    assert_eq!(spec["size"], "medium");
    assert_eq!(spec["replicas"], 2);
    assert_eq!(spec["ratio"], 0.5);
    assert_eq!(spec["weight"], 1.5);
    assert_eq!(spec["enabled"], true);
    assert_eq!(spec["labels"], json!({ "team": "core" }));
    assert_eq!(spec["tags"], json!(["a", "b"]));
    assert_eq!(spec["even"], 2);
    assert_eq!(spec["quote"], "say \"hi\"");
    assert_eq!(spec["code"], "abcdef");
    assert_eq!(
        spec["config"],
        json!({ "free": ["form"] }),
        "object keeps unknown fields"
    );
    // Nested defaults reach through objects the instance omitted.
    assert_eq!(
        spec["ingress"],
        json!({ "enabled": false, "host": "example.com", "tls": { "secret": "tls-cert" } })
    );
    assert_eq!(spec["retry"], json!({ "attempts": 3, "backoff": "1s" }));
    // Defaults from a custom alias inside a list item.
    assert_eq!(spec["ports"], json!([{ "name": "http", "port": 80 }]));

    // Whatever the author set is kept.
    let created = api
        .create(
            &PostParams::default(),
            &instance(
                &group,
                "explicit",
                json!({ "name": "other", "replicas": 7, "ingress": { "host": "a.b" } }),
            ),
        )
        .await
        .expect("instance accepted");
    assert_eq!(created.data["spec"]["replicas"], 7);
    assert_eq!(
        created.data["spec"]["ingress"],
        json!({ "enabled": false, "host": "a.b", "tls": { "secret": "tls-cert" } })
    );

    remove_crd(&client, &crd_name).await;
}

#[tokio::test]
async fn invalid_instances_are_rejected_naming_the_field() {
    let ns = TestNamespace::create("schema-reject").await;
    let client = ns.client();
    let group = format!("{}.schema.kro.run", ns.name());
    let schema = every_type_and_marker(&group);
    let (api, crd_name) = install(&client, ns.name(), &schema).await;

    let rejected = |name: &'static str, spec: Value| {
        let api = api.clone();
        let object = instance(&group, name, spec);
        async move {
            match api.create(&PostParams::default(), &object).await {
                Ok(_) => panic!("instance {name} should have been rejected"),
                Err(e) => e.to_string(),
            }
        }
    };
    let cases = [
        (
            "bad-enum",
            json!({ "name": "a", "size": "huge" }),
            "spec.size",
            "Unsupported value",
        ),
        (
            "bad-minimum",
            json!({ "name": "a", "replicas": 0 }),
            "spec.replicas",
            "greater than or equal to 1",
        ),
        (
            "bad-pattern",
            json!({ "name": "Not_Valid" }),
            "spec.name",
            "should match",
        ),
        (
            "bad-required",
            json!({ "size": "small" }),
            "spec.name",
            "Required value",
        ),
        (
            "bad-max-items",
            json!({ "name": "a", "tags": ["1", "2", "3", "4", "5", "6"] }),
            "spec.tags",
            "must have at most 5 items",
        ),
        (
            "bad-set",
            json!({ "name": "a", "tags": ["x", "x"] }),
            "spec.tags[1]",
            "Duplicate value",
        ),
        (
            "bad-validation",
            json!({ "name": "a", "even": 3 }),
            "spec.even",
            "validation failed",
        ),
        (
            "bad-port",
            json!({ "name": "a", "ports": [{ "name": "p", "port": 70000 }] }),
            "spec.ports[0].port",
            "less than or equal to 65535",
        ),
    ];
    for (name, spec, field, hint) in cases {
        let message = rejected(name, spec).await;
        assert!(
            message.contains(field) && message.contains(hint),
            "{name}: expected the rejection to name {field} ({hint}), got: {message}"
        );
    }

    // Immutability is enforced on update.
    api.create(
        &PostParams::default(),
        &instance(&group, "fixed", json!({ "name": "first" })),
    )
    .await
    .expect("valid instance");
    let patch = json!({ "spec": { "name": "second" } });
    let error = api
        .patch("fixed", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect_err("changing an immutable field is rejected")
        .to_string();
    assert!(
        error.contains("spec.name") && error.contains("field is immutable"),
        "unexpected rejection: {error}"
    );

    remove_crd(&client, &crd_name).await;
}

/// We refuse `immutable` inside the items of a list that is not a map list
/// because the API server refuses the CRD; this pins that it does, and
/// that the map-list form we accept is fine.
#[tokio::test]
async fn transition_rules_need_correlatable_list_items() {
    let ns = TestNamespace::create("schema-transition").await;
    let client = ns.client();
    let group = format!("{}.schema.kro.run", ns.name());
    // Bounded lengths and sizes keep the rule within the API server's CEL
    // cost budget, which it also enforces at CRD creation.
    let types = json!({
        "Item": { "name": "string | required=true maxLength=64", "id": "string | immutable=true maxLength=64" },
    });
    let schema = |spec: Value| json!({ "apiVersion": "v1alpha1", "kind": "Showcase", "group": group, "spec": spec, "types": types });

    let refused =
        kro_schema::instance_crd::crd_from_rgd_schema(&schema(json!({ "items": "[]Item" })), None)
            .expect_err("kro-schema refuses it first");
    assert!(refused.to_string().contains("listType=map"), "{refused}");

    // Build the same CRD by hand (a map list made atomic) and offer it.
    let crd = kro_schema::instance_crd::crd_from_rgd_schema(
        &schema(json!({ "items": "[]Item | listType=map listMapKey=name maxItems=16" })),
        None,
    )
    .expect("the map-list form is accepted");
    let mut atomic = crd.clone();
    let items = atomic.spec.versions[0]
        .schema
        .as_mut()
        .and_then(|s| s.open_api_v3_schema.as_mut())
        .and_then(|root| root.properties.as_mut())
        .and_then(|p| p.get_mut("spec"))
        .and_then(|spec| spec.properties.as_mut())
        .and_then(|p| p.get_mut("items"))
        .expect("spec.items");
    items.x_kubernetes_list_type = Some("atomic".to_owned());
    items.x_kubernetes_list_map_keys = None;
    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    let error = crds
        .create(&PostParams::default(), &atomic)
        .await
        .expect_err("the API server refuses oldSelf under an atomic list")
        .to_string();
    assert!(error.contains("oldSelf"), "unexpected refusal: {error}");

    let name = crd.metadata.name.clone().expect("name");
    crds.create(&PostParams::default(), &crd)
        .await
        .unwrap_or_else(|e| panic!("the map-list form is refused: {e}"));
    remove_crd(&client, &name).await;
}
