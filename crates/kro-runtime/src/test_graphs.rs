//! Graphs for the crate's unit tests, built with the bundled Kubernetes
//! schemas.

use std::sync::Arc;

use kro_cel::Env;
use kro_graph::api::ResourceGraphDefinition;
use kro_graph::builder::{BuildOptions, Builder, Graph};
use kro_graph::resolver::BuiltinSchemas;

const APPLICATION: &str = include_str!("../../../examples/application/rgd.yaml");

/// The graph of an RGD.
pub fn build(rgd: &ResourceGraphDefinition) -> Graph {
    build_with(rgd, Env::kro())
}

/// The graph of an RGD, its expressions compiled in `env`.
pub fn build_with(rgd: &ResourceGraphDefinition, env: Env) -> Graph {
    Builder::new(
        Arc::new(BuiltinSchemas::new()),
        env,
        BuildOptions::default(),
    )
    .build(rgd)
    .unwrap_or_else(|e| panic!("test RGD does not build: {e}"))
}

/// The graph of an RGD written in YAML.
pub fn from_yaml(yaml: &str) -> Graph {
    build(&serde_saphyr::from_str(yaml).expect("test RGD parses"))
}

/// The user's Application example.
pub fn application() -> Graph {
    from_yaml(APPLICATION)
}
