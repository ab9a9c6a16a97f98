//! The runtime's scenario suite on the in-memory cluster.

use kro_graph::builder::Graph;
use kro_runtime::cluster::MemoryCluster;
use kro_runtime::scenarios::{self, Harness};

struct Memory {
    cluster: MemoryCluster,
}

impl Harness for Memory {
    type Cluster = MemoryCluster;

    fn cluster(&self) -> &MemoryCluster {
        &self.cluster
    }

    fn namespace(&self) -> &str {
        "default"
    }

    // Every type is served in memory.
    async fn install(&self, _graph: &Graph) {}
}

fn memory() -> Memory {
    Memory {
        cluster: MemoryCluster::new(),
    }
}

#[tokio::test]
async fn create_update_and_steady_state() {
    scenarios::create_update_and_steady_state(&memory()).await;
}

#[tokio::test]
async fn include_when_toggles() {
    scenarios::include_when_toggles(&memory()).await;
}

#[tokio::test]
async fn drift_is_corrected() {
    scenarios::drift_is_corrected(&memory()).await;
}

#[tokio::test]
async fn ready_when_gates_dependents() {
    scenarios::ready_when_gates_dependents(&memory()).await;
}

#[tokio::test]
async fn collections_scale() {
    scenarios::collections_scale(&memory()).await;
}

#[tokio::test]
async fn external_refs() {
    scenarios::external_refs(&memory()).await;
}

#[tokio::test]
async fn deletion_in_waves_from_the_inventory() {
    scenarios::deletion_in_waves_from_the_inventory(&memory()).await;
}

#[tokio::test]
async fn suspension() {
    scenarios::suspension(&memory()).await;
}

#[tokio::test]
async fn custom_conditions() {
    scenarios::custom_conditions(&memory()).await;
}

#[tokio::test]
async fn two_resources_rendering_one_object() {
    scenarios::two_resources_rendering_one_object(&memory()).await;
}

#[tokio::test]
async fn deletion_releases_a_finalizer_another_manager_added() {
    scenarios::deletion_releases_a_finalizer_another_manager_added(&memory()).await;
}

#[tokio::test]
async fn include_when_waits_for_ready_dependencies() {
    scenarios::include_when_waits_for_ready_dependencies(&memory()).await;
}

#[tokio::test]
async fn a_resource_turned_external_is_kept() {
    scenarios::a_resource_turned_external_is_kept(&memory()).await;
}

#[tokio::test]
async fn an_unusable_inventory_stops_management() {
    scenarios::an_unusable_inventory_stops_management(&memory()).await;
}

#[tokio::test]
async fn an_unowned_object_is_left_alone_and_reported() {
    scenarios::an_unowned_object_is_left_alone_and_reported(&memory()).await;
}

#[tokio::test]
async fn adoption_and_deletion_policies_through_prune() {
    scenarios::adoption_and_deletion_policies_through_prune(&memory()).await;
}

#[tokio::test]
async fn deletion_policies_through_instance_deletion() {
    scenarios::deletion_policies_through_instance_deletion(&memory()).await;
}
