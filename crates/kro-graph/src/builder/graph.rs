//! The builder's entry point and its result.

use std::sync::Arc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_cel::Env;
use kro_cel::openapi_types::SchemaTypes;
use kro_schema::kinds::{Gvk, ResourceType};

use super::BuildOptions;
use super::dependencies::{CompiledExpression, infer_dependencies};
use super::status::{InstanceStatus, compile_status};
use super::structure::{ResourceStructure, check_structure};
use super::total_cost::check_total_cost;
use super::types::{TypeCache, rgd_types};
use crate::api::{ResourceGraphDefinition, Scope};
use crate::dag::DependencyGraph;
use crate::error::BuildErrors;
use crate::resolver::SchemaResolver;

/// One resource of a built graph.
#[derive(Debug, Clone)]
pub struct GraphResource {
    /// What the structural checks found.
    pub structure: ResourceStructure,
    /// Its compiled expressions.
    pub expressions: Vec<CompiledExpression>,
    /// The resources it depends on, in declaration order.
    pub dependencies: Vec<String>,
    /// The CEL types of its kind: observed objects converted with them
    /// compare `set` and `map` lists as the API server does.
    pub types: Arc<SchemaTypes>,
}

impl GraphResource {
    /// The served kind of the objects it creates or reads.
    pub fn resource_type(&self) -> &ResourceType {
        &self.structure.schema.resource_type
    }
}

/// A validated RGD, ready to reconcile instances with.
#[derive(Debug, Clone)]
pub struct Graph {
    /// The RGD's name.
    pub rgd: String,
    /// The instance CRD.
    pub instance_crd: CustomResourceDefinition,
    /// Whether instances are cluster-scoped.
    pub instance_scope: Scope,
    /// The served kind of the instances, from the instance CRD.
    pub instance_type: ResourceType,
    /// The resources, in declaration order.
    pub resources: Vec<GraphResource>,
    /// The dependency graph.
    pub dependencies: DependencyGraph,
    /// Resource ids in creation order (`status.topologicalOrder`).
    pub topological_order: Vec<String>,
    /// How the instance's status is computed.
    pub status: InstanceStatus,
    /// The CEL types of `schema` (the instance), to convert instances
    /// with: a `float` field written `1` must read as a double.
    pub instance_types: Arc<SchemaTypes>,
}

impl Graph {
    /// The resource with id `id`.
    pub fn resource(&self, id: &str) -> Option<&GraphResource> {
        self.resources.iter().find(|r| r.structure.id == id)
    }
}

/// The served kind a CRD registers, at its first version (the one an
/// instance CRD is synthesised with).
fn crd_type(crd: &CustomResourceDefinition) -> ResourceType {
    let spec = &crd.spec;
    let version = spec
        .versions
        .first()
        .map(|v| v.name.as_str())
        .unwrap_or_default();
    ResourceType::new(
        Gvk::new(&spec.group, version, &spec.names.kind),
        &spec.names.plural,
        spec.scope == "Namespaced",
    )
}

/// Builds graphs from RGDs. Holds what every build shares: the schema
/// resolver, the CEL environment and the limits.
#[derive(Clone)]
pub struct Builder {
    resolver: Arc<dyn SchemaResolver>,
    env: Env,
    options: BuildOptions,
    types: Arc<TypeCache>,
}

impl Builder {
    /// A builder resolving kinds with `resolver` and compiling expressions
    /// in `env` (normally `Env::kro()`; kro's variables are added to it).
    pub fn new(resolver: Arc<dyn SchemaResolver>, env: Env, options: BuildOptions) -> Self {
        Self {
            resolver,
            env,
            options,
            types: Arc::default(),
        }
    }

    /// Validates `rgd` and builds its graph, or returns every independent
    /// problem found. Stops after a step that found problems, since later
    /// steps depend on its results.
    pub fn build(&self, rgd: &ResourceGraphDefinition) -> Result<Graph, BuildErrors> {
        let structure = check_structure(rgd, self.resolver.as_ref(), &self.options)?;
        let types = rgd_types(&self.env, &structure, &self.types);
        let dependencies = infer_dependencies(&structure, &types);
        let status = compile_status(&structure, rgd.spec.schema.status.as_ref(), &types.env);
        let (dependencies, status) = match (dependencies, status) {
            (Ok(dependencies), Ok(status)) => (dependencies, status),
            (dependencies, status) => {
                let mut errors = Vec::new();
                errors.extend(dependencies.err().into_iter().flat_map(|e| e.0));
                errors.extend(status.err().into_iter().flat_map(|e| e.0));
                return Err(BuildErrors(errors));
            }
        };
        let status_expressions = status
            .fields
            .iter()
            .flat_map(|field| &field.expressions)
            .chain(&status.conditions);
        check_total_cost(
            &structure.rgd,
            dependencies
                .expressions
                .iter()
                .flatten()
                .chain(status_expressions),
            &self.env.limits(),
        )?;
        // The status schema the projections' types give.
        let mut instance_crd = structure.instance_crd;
        kro_schema::instance_crd::set_status_schema(
            &mut instance_crd,
            super::status_schema::status_schema(&types.env, &status),
        );
        let graph = dependencies.graph;
        let topological_order = graph
            .topological_order()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let resources = structure
            .resources
            .into_iter()
            .zip(dependencies.expressions)
            .zip(types.resources.iter().cloned())
            .map(|((structure, expressions), types)| {
                let dependencies = graph
                    .dependencies(&structure.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                GraphResource {
                    structure,
                    expressions,
                    dependencies,
                    types,
                }
            })
            .collect();
        Ok(Graph {
            rgd: structure.rgd,
            instance_type: crd_type(&instance_crd),
            instance_crd,
            instance_scope: structure.instance_scope,
            resources,
            dependencies: graph,
            topological_order,
            status,
            instance_types: types.instance,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::BuildErrorKind;
    use crate::resolver::BuiltinSchemas;

    const APPLICATION: &str = include_str!("../../../../examples/application/rgd.yaml");

    fn builder() -> Builder {
        Builder::new(
            Arc::new(BuiltinSchemas::new()),
            Env::standard(),
            BuildOptions::default(),
        )
    }

    #[test]
    fn builds_the_application_example() {
        let rgd: ResourceGraphDefinition = serde_saphyr::from_str(APPLICATION).unwrap();
        let graph = builder().build(&rgd).unwrap();
        assert_eq!(
            graph.topological_order,
            ["deployment", "service", "ingress"]
        );
        let dependencies: Vec<(&str, Vec<String>)> = graph
            .resources
            .iter()
            .map(|r| (r.structure.id.as_str(), r.dependencies.clone()))
            .collect();
        assert_eq!(
            dependencies,
            [
                ("deployment", vec![]),
                ("service", vec!["deployment".to_owned()]),
                ("ingress", vec!["service".to_owned()]),
            ]
        );
        let status: Vec<String> = graph
            .status
            .fields
            .iter()
            .map(|f| f.path.to_string())
            .collect();
        assert_eq!(status, ["deploymentConditions", "availableReplicas"]);
        assert_eq!(graph.status.dependencies, ["deployment"]);
        assert_eq!(graph.instance_crd.spec.names.kind, "Application");
        assert_eq!(
            graph.instance_type,
            ResourceType::new(
                Gvk::new("kro.run", "v1alpha1", "Application"),
                "applications",
                true
            )
        );
        let deployment = graph.resource("deployment").unwrap();
        assert_eq!(deployment.resource_type().to_string(), "deployments.apps");
        assert!(graph.resource("nope").is_none());
    }

    #[test]
    fn reports_expression_and_status_errors_together() {
        let rgd: ResourceGraphDefinition = serde_json::from_value(json!({
            "metadata": { "name": "broken" },
            "spec": {
                "schema": { "apiVersion": "v1alpha1", "kind": "Broken", "status": { "fixed": "TCP" } },
                "resources": [{ "id": "cm", "template": {
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": "${schema.spec.name" }, "data": { "x": "${nope(1)}" } } }]
            }
        }))
        .unwrap();
        let structural = builder().build(&rgd).unwrap_err();
        assert_eq!(
            structural.0.len(),
            1,
            "structural errors stop the build: {structural}"
        );

        let mut fixed = rgd.clone();
        if let Some(template) = fixed.spec.resources[0].template.as_mut() {
            template["metadata"]["name"] = json!("${schema.spec.name}");
        }
        let errors = builder().build(&fixed).unwrap_err();
        let paths: Vec<String> = errors
            .0
            .iter()
            .map(|e| e.path.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(
            paths,
            [
                "spec.resources[0].template.data.x",
                "spec.schema.status.fixed"
            ]
        );
    }

    /// An RGD whose ConfigMap `config` has `data` and whose instance spec
    /// has `spec`.
    fn config_rgd(
        name: &str,
        spec: serde_json::Value,
        data: serde_json::Value,
    ) -> ResourceGraphDefinition {
        serde_json::from_value(json!({
            "metadata": { "name": name },
            "spec": {
                "schema": { "apiVersion": "v1alpha1", "kind": "Costly", "spec": spec },
                "resources": [{ "id": "config", "template": {
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": "${schema.metadata.name}" }, "data": data } }]
            }
        }))
        .unwrap()
    }

    #[test]
    fn an_expression_that_can_blow_up_is_refused_where_it_is() {
        let pairs = "string(schema.spec.names.all(a, schema.spec.names.exists(b, a == b)))";
        let rgd = config_rgd(
            "costly",
            json!({ "names": "[]string", "few": "[]string | maxItems=8" }),
            json!({
                "pairs": format!("${{{pairs}}}"),
                "bounded": "${string(schema.spec.few.all(a, schema.spec.few.exists(b, a == b)))}"
            }),
        );
        let Err(errors) = builder().build(&rgd) else {
            panic!("a nested loop over an unbounded list accepted");
        };
        assert_eq!(errors.0.len(), 1, "{errors}");
        let error = &errors.0[0];
        assert_eq!(error.rgd, "costly");
        assert_eq!(error.resource.as_deref(), Some("config"));
        assert_eq!(
            error.path.as_ref().map(ToString::to_string).as_deref(),
            Some("spec.resources[0].template.data.pairs")
        );
        assert_eq!(error.expression.as_deref(), Some(pairs));
        let BuildErrorKind::Cost(kro_cel::StaticCostError::TooCostly {
            estimate,
            limit,
            unbounded,
        }) = &error.kind
        else {
            panic!("{error}");
        };
        assert!(estimate > limit, "{estimate} {limit}");
        assert_eq!(*limit, kro_cel::DEFAULT_STATIC_COST_LIMIT);
        let text = error.to_string();
        for needle in [
            "resourcegraphdefinition \"costly\", resource \"config\", spec.resources[0].template.data.pairs",
            "above the static limit of 1,000,000,000",
            "schema.spec.names (no maxItems)",
            "Add maxItems",
        ] {
            assert!(text.contains(needle), "{needle:?} not in {text}");
        }
        assert!(
            unbounded
                .iter()
                .all(|u| u.path.starts_with("schema.spec.names")),
            "{unbounded:?}"
        );
    }

    #[test]
    fn the_worst_cases_of_an_rgd_add_up_to_a_limit() {
        // Each loop alone is accepted; twenty of them are not.
        let data: serde_json::Map<String, serde_json::Value> = (0..20)
            .map(|i| {
                let src = format!(
                    "${{string(schema.spec.names.all(n, lists.range(60).all(i, n != '{i}')))}}"
                );
                (format!("k{i}"), json!(src))
            })
            .collect();
        let rgd = config_rgd("many", json!({ "names": "[]string" }), json!(data));
        let Err(errors) = builder().build(&rgd) else {
            panic!("twenty loops accepted");
        };
        assert_eq!(errors.0.len(), 1, "{errors}");
        let error = &errors.0[0];
        assert_eq!(error.resource, None);
        assert!(
            matches!(error.kind, BuildErrorKind::TotalCost { total, limit, .. } if total > limit),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains("spec.resources[0].template.data.k"),
            "{error}"
        );
        let fewer: serde_json::Map<String, serde_json::Value> = data.into_iter().take(2).collect();
        builder()
            .build(&config_rgd(
                "fewer",
                json!({ "names": "[]string" }),
                json!(fewer),
            ))
            .unwrap();
    }
}
