//! The instance CRD the builder generates for the Application example, on a
//! real API server: it is accepted, and the status kro would write (typed
//! from the projections) is stored as written.

use std::sync::Arc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_cel::Env;
use kro_graph::api::ResourceGraphDefinition;
use kro_graph::builder::{BuildOptions, Builder};
use kro_graph::resolver::BuiltinSchemas;
use kro_testenv::{TestNamespace, eventually};
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use serde_json::json;

const APPLICATION: &str = include_str!("../../../examples/application/rgd.yaml");

#[tokio::test]
async fn the_application_instance_crd_is_accepted_and_stores_its_status() {
    let ns = TestNamespace::create("instance-crd").await;
    let client = ns.client();
    // CRDs are cluster-scoped: a group of this test's own.
    let group = format!("{}.kro.run", ns.name());
    let mut rgd: ResourceGraphDefinition =
        serde_saphyr::from_str(APPLICATION).expect("example parses");
    rgd.spec.schema.group = Some(group.clone());
    let builder = Builder::new(
        Arc::new(BuiltinSchemas::new()),
        Env::kro(),
        BuildOptions::default(),
    );
    let graph = builder.build(&rgd).expect("the example builds");
    let crd = graph.instance_crd;
    let name = crd.metadata.name.clone().expect("named");

    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    crds.create(&PostParams::default(), &crd)
        .await
        .expect("the API server accepts the CRD");
    kro_testenv::crd_established(&client, &name).await;

    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(&group, "v1alpha1", "Application"));
    let apps: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns.name(), &resource);
    let instance = json!({
        "apiVersion": format!("{group}/v1alpha1"), "kind": "Application",
        "metadata": { "name": "demo" }, "spec": { "name": "demo" }
    });
    let created = eventually("the Application kind to be served", || async {
        apps.patch(
            "demo",
            &PatchParams::apply("test"),
            &Patch::Apply(&instance),
        )
        .await
        .ok()
    })
    .await;
    assert_eq!(
        created.data["spec"]["image"], "nginx",
        "the schema default is applied"
    );
    assert_eq!(created.data["spec"]["ingress"]["enabled"], false);

    let status = json!({ "status": {
        "availableReplicas": 3,
        "deploymentConditions": [{ "type": "Available", "status": "True",
                                   "lastTransitionTime": "2026-01-01T00:00:00Z", "reason": "MinimumReplicasAvailable" }],
        "state": "ACTIVE"
    }});
    let written = apps
        .patch_status("demo", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("the status kro writes is valid");
    assert_eq!(written.data["status"]["availableReplicas"], 3);
    assert_eq!(
        written.data["status"]["deploymentConditions"][0]["reason"],
        "MinimumReplicasAvailable"
    );

    crds.delete(&name, &Default::default())
        .await
        .expect("delete the CRD");
}
