//! Kinds defined by CustomResourceDefinitions, such as the CRDs of other
//! operators or of other RGDs' instance kinds (RGD chaining).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};

use kro_schema::kinds::ResourceType;

use super::{Gvk, KindSchema, ResolveError, SchemaResolver};

/// Resolves the kinds of a set of CRDs, offline.
#[derive(Debug, Clone, Default)]
pub struct CrdSchemas {
    kinds: BTreeMap<Gvk, Arc<KindSchema>>,
}

impl CrdSchemas {
    /// Indexes every served version of every CRD. A CRD's schema leaves out
    /// the fields every object has; they are added from `object_meta` (see
    /// [`super::BuiltinSchemas::object_meta`]) so that expressions such as
    /// `${db.metadata.name}` are typed.
    pub fn new<'a>(
        crds: impl IntoIterator<Item = &'a CustomResourceDefinition>,
        object_meta: &JSONSchemaProps,
    ) -> Self {
        let mut kinds = BTreeMap::new();
        for crd in crds {
            let spec = &crd.spec;
            for version in spec.versions.iter().filter(|v| v.served) {
                let gvk = Gvk::new(&spec.group, &version.name, &spec.names.kind);
                let schema = version
                    .schema
                    .as_ref()
                    .and_then(|s| s.open_api_v3_schema.clone())
                    .unwrap_or_else(|| JSONSchemaProps {
                        type_: Some("object".to_owned()),
                        x_kubernetes_preserve_unknown_fields: Some(true),
                        ..JSONSchemaProps::default()
                    });
                let kind = KindSchema {
                    resource_type: ResourceType::new(
                        gvk.clone(),
                        &spec.names.plural,
                        spec.scope == "Namespaced",
                    ),
                    schema: with_object_fields(schema, object_meta),
                };
                kinds.insert(gvk, Arc::new(kind));
            }
        }
        Self { kinds }
    }

    /// The kinds known, in order.
    pub fn kinds(&self) -> impl Iterator<Item = &Gvk> {
        self.kinds.keys()
    }
}

/// Adds `apiVersion`, `kind` and `metadata` to an object schema where the
/// author left them out, as the API server does when it serves the CRD.
fn with_object_fields(
    mut schema: JSONSchemaProps,
    object_meta: &JSONSchemaProps,
) -> JSONSchemaProps {
    let string = || JSONSchemaProps {
        type_: Some("string".to_owned()),
        ..JSONSchemaProps::default()
    };
    let properties = schema.properties.get_or_insert_with(BTreeMap::new);
    properties
        .entry("apiVersion".to_owned())
        .or_insert_with(string);
    properties.entry("kind".to_owned()).or_insert_with(string);
    let metadata = properties.entry("metadata".to_owned()).or_default();
    // A CRD may only say `metadata: {type: object}` (or constrain name and
    // generateName); the full ObjectMeta is what the API server serves.
    if metadata.properties.as_ref().is_none_or(|p| p.is_empty()) {
        *metadata = object_meta.clone();
    }
    schema
}

impl SchemaResolver for CrdSchemas {
    fn resolve(&self, gvk: &Gvk) -> Result<Arc<KindSchema>, ResolveError> {
        self.kinds
            .get(gvk)
            .cloned()
            .ok_or_else(|| ResolveError::UnknownKind { gvk: gvk.clone() })
    }
}
