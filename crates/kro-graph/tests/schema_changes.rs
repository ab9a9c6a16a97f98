//! One builder, a kind whose schema changes between builds (a CRD upgraded
//! on the live server while the operator runs): the next build checks
//! literals and types expressions against the new schema, not the one the
//! builder converted first.

use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_cel::Env;
use kro_graph::api::ResourceGraphDefinition;
use kro_graph::builder::{BuildOptions, Builder};
use kro_graph::resolver::{
    BuiltinSchemas, ChainResolver, CrdSchemas, Gvk, KindSchema, ResolveError, SchemaResolver,
};
use serde_json::json;

/// A resolver whose CRD kinds can be replaced, as the live server's are.
/// Clones share the kinds.
#[derive(Clone, Default)]
struct Upgradable {
    crds: Arc<Mutex<CrdSchemas>>,
}

impl Upgradable {
    fn install(&self, crd: &CustomResourceDefinition) {
        let object_meta = BuiltinSchemas::new()
            .object_meta()
            .expect("the bundled ObjectMeta");
        *self.crds.lock().unwrap_or_else(PoisonError::into_inner) =
            CrdSchemas::new([crd], &object_meta);
    }
}

impl SchemaResolver for Upgradable {
    fn resolve(&self, gvk: &Gvk) -> Result<Arc<KindSchema>, ResolveError> {
        self.crds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .resolve(gvk)
    }
}

/// The Widget CRD, whose spec has the string fields `fields`.
fn widget_crd(fields: &[&str]) -> CustomResourceDefinition {
    let properties: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .map(|field| ((*field).to_owned(), json!({ "type": "string" })))
        .collect();
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": "widgets.example.com" },
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": { "plural": "widgets", "singular": "widget", "kind": "Widget",
                       "listKind": "WidgetList" },
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": { "openAPIV3Schema": { "type": "object", "properties": {
                    "spec": { "type": "object", "properties": properties }
                } } }
            }]
        }
    }))
    .expect("CRD literal")
}

/// An RGD that writes `spec.colour` of a Widget and reads it back into
/// its status.
fn painted() -> ResourceGraphDefinition {
    serde_json::from_value(json!({
        "apiVersion": "kro.run/v1alpha1",
        "kind": "ResourceGraphDefinition",
        "metadata": { "name": "painted" },
        "spec": {
            "schema": {
                "apiVersion": "v1alpha1", "kind": "Painted",
                "spec": { "colour": "string" },
                "status": { "colour": "${widget.spec.colour}" }
            },
            "resources": [{ "id": "widget", "template": {
                "apiVersion": "example.com/v1", "kind": "Widget",
                "metadata": { "name": "${schema.metadata.name}" },
                "spec": { "size": "small", "colour": "${schema.spec.colour}" } } }]
        }
    }))
    .expect("RGD literal")
}

#[test]
fn a_kind_whose_schema_changed_is_typed_again() {
    let upgradable = Upgradable::default();
    upgradable.install(&widget_crd(&["size"]));
    let resolver = ChainResolver::new()
        .with(upgradable.clone())
        .with(BuiltinSchemas::new());
    let builder = Builder::new(Arc::new(resolver), Env::kro(), BuildOptions::default());

    let refused = builder
        .build(&painted())
        .expect_err("the Widget has no colour yet");
    assert!(refused.to_string().contains("colour"), "{refused}");

    upgradable.install(&widget_crd(&["size", "colour"]));
    let graph = builder
        .build(&painted())
        .unwrap_or_else(|e| panic!("the upgraded Widget has a colour: {e}"));
    assert!(graph.resource("widget").is_some());

    upgradable.install(&widget_crd(&["size"]));
    assert!(
        builder.build(&painted()).is_err(),
        "and a downgrade is seen too"
    );
}
