//! The CEL types of an RGD's variables: `schema` from the instance's spec
//! schema, each resource from its kind's OpenAPI schema.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use kro_cel::openapi_types::SchemaTypes;
use kro_cel::{Env, Type};

use super::structure::{NodeKind, Structure};
use crate::resolver::{Gvk, KindSchema};

/// The variable every expression may read: the instance.
pub const SCHEMA: &str = "schema";
/// The variable `readyWhen` of a collection reads: the current item.
pub const EACH: &str = "each";

/// How many typed environments a builder keeps before starting afresh.
const MAX_CACHED_ENVS: usize = 256;

/// Converted kind schemas, and environments with them declared, shared by
/// every build of one builder (whose base environment is fixed): converting
/// a Deployment's schema to CEL types, or declaring its hundreds of object
/// types, costs more than building a small RGD.
///
/// A kind's schema can change while the builder lives (a CRD upgraded on
/// the live server): its types are converted again when the resolver hands
/// out a schema that differs from the one they came from, and each
/// conversion gets a new serial number, so environments that declared the
/// old types are not reused.
#[derive(Debug, Default)]
pub struct TypeCache {
    kinds: Mutex<Kinds>,
    /// The base environment with the object types of the instance and of a
    /// set of kinds declared, by the instance's spec schema and scope and
    /// the sorted set of kinds with their conversions' serials. Declaring
    /// into a shared environment would copy its whole type table, so each
    /// combination is built once.
    envs: Mutex<HashMap<(String, Vec<KindTypesKey>), Env>>,
}

/// A kind and the serial of the conversion its types came from.
type KindTypesKey = (Gvk, u64);

/// The converted kinds, and the serial of the next conversion.
#[derive(Debug, Default)]
struct Kinds {
    by_gvk: HashMap<Gvk, ConvertedKind>,
    next_serial: u64,
}

/// A kind's types and the schema they were converted from.
#[derive(Debug)]
struct ConvertedKind {
    schema: Arc<KindSchema>,
    types: Arc<SchemaTypes>,
    serial: u64,
}

impl ConvertedKind {
    /// Whether the types still describe `schema`. Resolvers hand out the
    /// same `Arc` for an unchanged schema, so the comparison is most often
    /// a pointer check.
    fn describes(&self, schema: &Arc<KindSchema>) -> bool {
        Arc::ptr_eq(&self.schema, schema) || self.schema.schema == schema.schema
    }
}

impl TypeCache {
    /// The CEL types of objects of `gvk` and their serial, converting
    /// `schema` on first use and whenever it changed. Type names derive from
    /// the GVK, so resources of one kind share them.
    fn kind(&self, gvk: &Gvk, schema: &Arc<KindSchema>) -> (Arc<SchemaTypes>, u64) {
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(converted) = kinds.by_gvk.get(gvk).filter(|c| c.describes(schema)) {
            return (Arc::clone(&converted.types), converted.serial);
        }
        let name = format!(
            "__type_{}_{}_{}",
            gvk.group.replace(['.', '-'], "_"),
            gvk.version,
            gvk.kind
        );
        let types = Arc::new(SchemaTypes::of_resource(&name, &schema.schema));
        let serial = kinds.next_serial;
        kinds.next_serial += 1;
        kinds.by_gvk.insert(
            gvk.clone(),
            ConvertedKind {
                schema: Arc::clone(schema),
                types: Arc::clone(&types),
                serial,
            },
        );
        (types, serial)
    }

    /// `base` with the object types of an instance (known by
    /// `instance_key`) and of `kinds` declared by `declare`, which runs only
    /// the first time this combination is asked for.
    fn declared_env(
        &self,
        base: &Env,
        instance_key: String,
        kinds: Vec<KindTypesKey>,
        declare: impl FnOnce(&[KindTypesKey], &mut Env),
    ) -> Env {
        let mut envs = self.envs.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (instance_key, kinds);
        // Every edit of an RGD's schema is a new key: bound what an operator
        // that runs for months keeps.
        if envs.len() >= MAX_CACHED_ENVS && !envs.contains_key(&key) {
            envs.clear();
        }
        envs.entry(key)
            .or_insert_with_key(|(_, kinds)| {
                let mut env = base.clone();
                declare(kinds, &mut env);
                env
            })
            .clone()
    }
}

/// The typed variables of one RGD.
#[derive(Debug, Clone)]
pub struct RgdTypes {
    /// `env` with `schema`, `each` (as `dyn`) and every resource declared.
    pub env: Env,
    /// The object types of each resource, in the order of
    /// `Structure::resources`.
    pub resources: Vec<Arc<SchemaTypes>>,
    /// The type of `schema`: the instance.
    pub instance: Arc<SchemaTypes>,
}

/// The instance's `spec` schema, as the instance CRD declares it.
fn instance_spec(crd: &CustomResourceDefinition) -> JSONSchemaProps {
    crd.spec
        .versions
        .first()
        .and_then(|version| version.schema.as_ref())
        .and_then(|schema| schema.open_api_v3_schema.as_ref())
        .and_then(|root| root.properties.as_ref())
        .and_then(|properties| properties.get("spec").cloned())
        .unwrap_or_else(|| JSONSchemaProps {
            type_: Some("object".to_owned()),
            x_kubernetes_preserve_unknown_fields: Some(true),
            ..JSONSchemaProps::default()
        })
}

/// Declares the variables of `structure` in `env`: `schema` typed from the
/// instance's spec, each resource typed from its kind (a list of it for
/// collections), and `each` as `dyn` (each collection's own environment
/// narrows it).
pub fn rgd_types(env: &Env, structure: &Structure, cache: &TypeCache) -> RgdTypes {
    let converted: Vec<(Arc<SchemaTypes>, u64)> = structure
        .resources
        .iter()
        .map(|resource| cache.kind(&resource.schema.resource_type.gvk, &resource.schema))
        .collect();
    let mut kinds: Vec<KindTypesKey> = structure
        .resources
        .iter()
        .zip(&converted)
        .map(|(r, (_, serial))| (r.schema.resource_type.gvk.clone(), *serial))
        .collect();
    let resources: Vec<Arc<SchemaTypes>> = converted.into_iter().map(|(types, _)| types).collect();
    kinds.sort();
    kinds.dedup();
    let cluster_scoped = structure.instance_scope == crate::api::Scope::Cluster;
    let spec = instance_spec(&structure.instance_crd);
    let instance_key = format!(
        "{cluster_scoped}:{}",
        serde_json::to_string(&spec).unwrap_or_default()
    );
    let instance = Arc::new(SchemaTypes::of_instance(
        "__type_schema",
        &spec,
        cluster_scoped,
    ));
    let mut env = cache.declared_env(env, instance_key, kinds, |kinds, env| {
        for (gvk, _) in kinds {
            let declared = structure
                .resources
                .iter()
                .zip(&resources)
                .find(|(r, _)| &r.schema.resource_type.gvk == gvk);
            if let Some((_, types)) = declared {
                types.declare(env);
            }
        }
        instance.declare(env);
    });
    env.add_variable(SCHEMA, instance.root().clone());
    env.add_variable(EACH, Type::Dyn);
    for (resource, types) in structure.resources.iter().zip(&resources) {
        let variable = match resource.kind {
            NodeKind::Resource | NodeKind::External => types.root().clone(),
            NodeKind::Collection | NodeKind::ExternalCollection => Type::list(types.root().clone()),
        };
        env.add_variable(&resource.id, variable);
    }
    RgdTypes {
        env,
        resources,
        instance,
    }
}
