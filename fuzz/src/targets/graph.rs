//! The graph builder target: whole RGDs as JSON (read with serde_json, as
//! the operator reads them, so nesting stops at its limit), mutated
//! structurally with templates, expressions and field specs, built against
//! the built-in Kubernetes schemas and the CRDs of `examples/compat/crds`
//! in kro's environment with every gate on.

use std::sync::Arc;

use anyhow::{Context, Result};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_graph::api::ResourceGraphDefinition;
use kro_graph::builder::{BuildOptions, Builder};
use kro_graph::feature_gates::FeatureGates;
use kro_graph::resolver::{BuiltinSchemas, ChainResolver, CrdSchemas};
use serde_json::Value;

use super::{Outcome, Pool, Target, Verdict, Violation};
use crate::cel_gen::CelGenerator;
use crate::corpus::Corpus;
use crate::json_mutate::{Material, mutate_json};
use crate::rng::Rng;

/// Strings RGDs are made of, besides the corpus's templates.
const STRINGS: [&str; 16] = [
    "${schema.spec.name}",
    "${schema.metadata.name}-x",
    "${deployment.status.availableReplicas > 0}",
    "${each.name}",
    "${schema.spec.items}",
    "${lists.range(100000).map(i, schema.spec.name).join()}",
    "string | required=true",
    "integer | default=3 minimum=1",
    "[]string",
    "map[string]string",
    "${}",
    "${",
    "deployment",
    "schema",
    "Namespaced",
    "Cluster",
];

/// The graph builder target.
pub struct GraphTarget {
    builder: Builder,
    generator: CelGenerator,
    pool: Pool,
    strings: Vec<String>,
    tokens: Vec<String>,
}

impl GraphTarget {
    /// The target, seeded with the corpus's RGDs; fails if a corpus CRD
    /// does not read.
    pub fn new(corpus: &Corpus) -> Result<Self> {
        let crds = corpus
            .crds
            .iter()
            .map(|crd| serde_json::from_value::<CustomResourceDefinition>(crd.clone()))
            .collect::<Result<Vec<_>, _>>()
            .context("a CRD of examples/compat/crds does not read")?;
        let builtin = BuiltinSchemas::new();
        let object_meta = builtin
            .object_meta()
            .context("the bundled ObjectMeta schema")?;
        let resolver = ChainResolver::new()
            .with(CrdSchemas::new(&crds, &object_meta))
            .with(builtin);
        let gates = FeatureGates {
            cel_omit_function: true,
            instance_condition_events: true,
            instance_condition_metrics: true,
        };
        let env = gates.cel_env();
        let generator = CelGenerator::new(&env, &[]);
        let builder = Builder::new(Arc::new(resolver), env, BuildOptions::default());
        let mut strings: Vec<String> = STRINGS.iter().map(|s| (*s).to_owned()).collect();
        strings.extend(
            corpus
                .templates
                .iter()
                .filter(|t| t.contains("${"))
                .cloned(),
        );
        let tokens = ["${", "}", ".", "[0]", "schema.spec.", "-", "[]"]
            .map(str::to_owned)
            .to_vec();
        Ok(Self {
            builder,
            generator,
            pool: Pool::new(corpus.rgds.iter().map(Value::to_string).collect()),
            strings,
            tokens,
        })
    }
}

impl Target for GraphTarget {
    fn next_input(&mut self, rng: &mut Rng) -> String {
        let seed = self.pool.pick(rng).cloned().unwrap_or_default();
        let mut rgd: Value = serde_json::from_str(&seed).unwrap_or(Value::Null);
        let mut strings = self.strings.clone();
        strings.push(format!("${{{}}}", self.generator.expression(rng)));
        mutate_json(
            rng,
            &mut rgd,
            &Material {
                strings: &strings,
                tokens: &self.tokens,
            },
        );
        rgd.to_string()
    }

    fn run(&self, input: &str) -> Outcome {
        let Ok(rgd) = serde_json::from_str::<ResourceGraphDefinition>(input) else {
            return Ok(Verdict::Rejected);
        };
        let Ok(graph) = self.builder.build(&rgd) else {
            return Ok(Verdict::Rejected);
        };
        if let Err(e) = serde_json::to_string(&graph.instance_crd) {
            return Err(Violation(format!(
                "the instance CRD does not serialise: {e}"
            )));
        }
        Ok(Verdict::Accepted)
    }

    fn keep(&mut self, rng: &mut Rng, input: String) {
        self.pool.add(rng, input);
    }
}
