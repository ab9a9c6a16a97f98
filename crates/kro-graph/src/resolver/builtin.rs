//! The built-in Kubernetes kinds, from the OpenAPI documents bundled into
//! this crate (see `data/README.md`).

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};

use flate2::read::GzDecoder;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;

use super::{DocumentError, Gvk, KindSchema, OpenApiDocument, ResolveError, SchemaResolver};

/// The Kubernetes minor version the bundled schemas come from.
pub const KUBERNETES_VERSION: &str = "1.36";

/// The component that describes object metadata in every document.
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

macro_rules! bundled {
    ($($file:literal),* $(,)?) => {
        /// (file name, gzip-compressed OpenAPI v3 document)
        const DOCUMENTS: &[(&str, &[u8])] = &[$(
            ($file, include_bytes!(concat!("../../../../data/kubernetes-openapi/v1.36/", $file))),
        )*];
    };
}

bundled![
    "api__v1.json.gz",
    "apis__admissionregistration.k8s.io__v1.json.gz",
    "apis__apiextensions.k8s.io__v1.json.gz",
    "apis__apiregistration.k8s.io__v1.json.gz",
    "apis__apps__v1.json.gz",
    "apis__authentication.k8s.io__v1.json.gz",
    "apis__authorization.k8s.io__v1.json.gz",
    "apis__autoscaling__v1.json.gz",
    "apis__autoscaling__v2.json.gz",
    "apis__batch__v1.json.gz",
    "apis__certificates.k8s.io__v1.json.gz",
    "apis__coordination.k8s.io__v1.json.gz",
    "apis__discovery.k8s.io__v1.json.gz",
    "apis__events.k8s.io__v1.json.gz",
    "apis__flowcontrol.apiserver.k8s.io__v1.json.gz",
    "apis__networking.k8s.io__v1.json.gz",
    "apis__node.k8s.io__v1.json.gz",
    "apis__policy__v1.json.gz",
    "apis__rbac.authorization.k8s.io__v1.json.gz",
    "apis__resource.k8s.io__v1.json.gz",
    "apis__scheduling.k8s.io__v1.json.gz",
    "apis__storage.k8s.io__v1.json.gz",
];

/// The group and version a bundled file describes: `apis__apps__v1.json.gz`
/// is `("apps", "v1")`, `api__v1.json.gz` is `("", "v1")`.
fn group_version(file: &str) -> Option<(&str, &str)> {
    let stem = file.strip_suffix(".json.gz")?;
    let parts: Vec<&str> = stem.split("__").collect();
    match parts.as_slice() {
        ["api", version] => Some(("", version)),
        ["apis", group, version] => Some((group, version)),
        _ => None,
    }
}

/// Resolves the built-in Kubernetes kinds without a cluster.
///
/// Documents are decompressed and parsed on first use, one group version at
/// a time, and resolved kinds are cached; both caches belong to this value,
/// so share one `BuiltinSchemas` (it is `Send + Sync`) to share the work.
pub struct BuiltinSchemas {
    documents: Vec<OnceLock<Result<OpenApiDocument, ResolveError>>>,
    resolved: Mutex<HashMap<Gvk, Arc<KindSchema>>>,
}

impl Default for BuiltinSchemas {
    fn default() -> Self {
        Self::new()
    }
}

impl BuiltinSchemas {
    /// A resolver over the bundled documents; nothing is parsed yet.
    pub fn new() -> Self {
        Self {
            documents: DOCUMENTS.iter().map(|_| OnceLock::new()).collect(),
            resolved: Mutex::new(HashMap::new()),
        }
    }

    fn document(&self, index: usize) -> Result<&OpenApiDocument, ResolveError> {
        let (file, compressed) = DOCUMENTS[index];
        self.documents[index]
            .get_or_init(|| {
                let mut json = Vec::new();
                GzDecoder::new(compressed)
                    .read_to_end(&mut json)
                    .map_err(|e| DocumentError {
                        source_name: file.to_owned(),
                        message: format!("decompress: {e}"),
                    })?;
                let value = serde_json::from_slice(&json).map_err(|e| DocumentError {
                    source_name: file.to_owned(),
                    message: e.to_string(),
                })?;
                Ok(OpenApiDocument::parse(file, value)?)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The schema of `metadata` in every Kubernetes object.
    pub fn object_meta(&self) -> Result<JSONSchemaProps, ResolveError> {
        let core = DOCUMENTS
            .iter()
            .position(|(file, _)| group_version(file) == Some(("", "v1")))
            .ok_or_else(|| DocumentError {
                source_name: "bundled schemas".to_owned(),
                message: "the core v1 document is missing".to_owned(),
            })?;
        Ok(self.document(core)?.component_schema(OBJECT_META)?)
    }
}

impl SchemaResolver for BuiltinSchemas {
    fn resolve(&self, gvk: &Gvk) -> Result<Arc<KindSchema>, ResolveError> {
        let cached = self
            .resolved
            .lock()
            .ok()
            .and_then(|cache| cache.get(gvk).cloned());
        if let Some(kind) = cached {
            return Ok(kind);
        }
        let unknown = || ResolveError::UnknownKind { gvk: gvk.clone() };
        let index = DOCUMENTS
            .iter()
            .position(|(file, _)| {
                group_version(file) == Some((gvk.group.as_str(), gvk.version.as_str()))
            })
            .ok_or_else(unknown)?;
        let kind = Arc::new(
            self.document(index)?
                .kind_schema(gvk)
                .ok_or_else(unknown)??,
        );
        if let Ok(mut cache) = self.resolved.lock() {
            cache.insert(gvk.clone(), Arc::clone(&kind));
        }
        Ok(kind)
    }
}

#[cfg(test)]
pub(super) fn bundled_files() -> Vec<&'static str> {
    DOCUMENTS.iter().map(|(file, _)| *file).collect()
}
