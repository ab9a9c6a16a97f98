//! The runtime's scenario suite (`kro_runtime::scenarios`) on
//! the local control plane, through `KubeCluster`: the same scenarios the
//! runtime runs in memory, so that the two clusters cannot drift apart
//! unnoticed.

use kro_graph::builder::Graph;
use kro_operator::cluster::KubeCluster;
use kro_runtime::scenarios::{self, Harness};
use kro_testenv::TestNamespace;

struct Kube {
    cluster: KubeCluster,
    namespace: TestNamespace,
}

impl Harness for Kube {
    type Cluster = KubeCluster;

    fn cluster(&self) -> &KubeCluster {
        &self.cluster
    }

    fn namespace(&self) -> &str {
        self.namespace.name()
    }

    async fn install(&self, graph: &Graph) {
        kro_testenv::apply_crd(
            &self.namespace.client(),
            &graph.instance_crd,
            "kro-runtime-scenarios",
        )
        .await;
    }
}

async fn kube(prefix: &str) -> Kube {
    let namespace = TestNamespace::create(prefix).await;
    Kube {
        cluster: KubeCluster::new(namespace.client()),
        namespace,
    }
}

#[tokio::test]
async fn create_update_and_steady_state() {
    scenarios::create_update_and_steady_state(&kube("rt-create").await).await;
}

#[tokio::test]
async fn include_when_toggles() {
    scenarios::include_when_toggles(&kube("rt-include").await).await;
}

#[tokio::test]
async fn drift_is_corrected() {
    scenarios::drift_is_corrected(&kube("rt-drift").await).await;
}

#[tokio::test]
async fn ready_when_gates_dependents() {
    scenarios::ready_when_gates_dependents(&kube("rt-ready").await).await;
}

#[tokio::test]
async fn collections_scale() {
    scenarios::collections_scale(&kube("rt-collections").await).await;
}

#[tokio::test]
async fn external_refs() {
    scenarios::external_refs(&kube("rt-external").await).await;
}

#[tokio::test]
async fn deletion_in_waves_from_the_inventory() {
    scenarios::deletion_in_waves_from_the_inventory(&kube("rt-deletion").await).await;
}

#[tokio::test]
async fn suspension() {
    scenarios::suspension(&kube("rt-suspension").await).await;
}

#[tokio::test]
async fn custom_conditions() {
    scenarios::custom_conditions(&kube("rt-conditions").await).await;
}

#[tokio::test]
async fn two_resources_rendering_one_object() {
    scenarios::two_resources_rendering_one_object(&kube("rt-twins").await).await;
}

#[tokio::test]
async fn deletion_releases_a_finalizer_another_manager_added() {
    scenarios::deletion_releases_a_finalizer_another_manager_added(&kube("rt-restored").await)
        .await;
}

#[tokio::test]
async fn include_when_waits_for_ready_dependencies() {
    scenarios::include_when_waits_for_ready_dependencies(&kube("rt-cautious").await).await;
}

#[tokio::test]
async fn a_resource_turned_external_is_kept() {
    scenarios::a_resource_turned_external_is_kept(&kube("rt-adopted").await).await;
}

#[tokio::test]
async fn an_unusable_inventory_stops_management() {
    scenarios::an_unusable_inventory_stops_management(&kube("rt-tampered").await).await;
}

#[tokio::test]
async fn an_unowned_object_is_left_alone_and_reported() {
    scenarios::an_unowned_object_is_left_alone_and_reported(&kube("rt-unowned").await).await;
}

#[tokio::test]
async fn adoption_and_deletion_policies_through_prune() {
    scenarios::adoption_and_deletion_policies_through_prune(&kube("rt-policies").await).await;
}

#[tokio::test]
async fn deletion_policies_through_instance_deletion() {
    scenarios::deletion_policies_through_instance_deletion(&kube("rt-policy-deletion").await).await;
}
