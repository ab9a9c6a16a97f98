//! [`LiveSchemas`]: kind schemas read from the API server's `/openapi/v3`.
//!
//! [`SchemaResolver::resolve`] is synchronous: the graph builder runs
//! without I/O (and, in the operator, on a blocking thread). So the
//! operator fetches first, with [`LiveSchemas::prefetch`] for the kinds an
//! RGD names, and the resolver then answers from memory only.
//!
//! The API server publishes one OpenAPI v3 document per group version.
//! Its index (`GET /openapi/v3`) gives each document's URL with a `?hash=`
//! of its content, so a refreshed index says which documents changed
//! without a watch: only those are fetched again. That covers CRDs that
//! other operators install or change, and the instance CRDs of other RGDs
//! (chaining), which reach `/openapi/v3` a moment after they are
//! Established.
//!
//! A document is read one component schema at a time: a CRD schema nested
//! deeper than the JSON reader's limit (an RGD can define one) leaves only
//! its own kind unknown, not every kind of its group version (`kro.run`
//! holds most instance kinds).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use kro_graph::resolver::{
    BuiltinSchemas, ChainResolver, DocumentError, Gvk, KindSchema, OpenApiDocument, ResolveError,
    SchemaResolver,
};
use kube::Client;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use thiserror::Error;

/// How long a fetched index is trusted before [`LiveSchemas::prefetch`]
/// asks again, when every requested kind is already known.
pub const INDEX_TTL: Duration = Duration::from_secs(2);

/// Why schemas could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FetchError {
    /// The API server did not answer a GET.
    #[error("GET {path}: {message}")]
    Request {
        /// The path asked for.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The index has an unexpected shape.
    #[error("the OpenAPI v3 index has no usable paths")]
    Index,
    /// A document could not be parsed.
    #[error(transparent)]
    Document(#[from] DocumentError),
}

/// One fetched document and the URL (with its hash) it came from.
struct Fetched {
    url: String,
    document: Arc<OpenApiDocument>,
}

#[derive(Default)]
struct State {
    /// When the index was fetched, and its entries: group-version path
    /// (`api/v1`, `apis/apps/v1`) to `serverRelativeURL`.
    index: Option<(Instant, BTreeMap<String, String>)>,
    /// Documents by group-version path.
    documents: HashMap<String, Fetched>,
    /// Kinds resolved from `documents` (inlining `$ref`s is not free).
    kinds: HashMap<Gvk, Arc<KindSchema>>,
}

struct Inner {
    client: Client,
    index_ttl: Duration,
    state: RwLock<State>,
    documents_fetched: AtomicU64,
    index_fetches: AtomicU64,
}

/// A [`SchemaResolver`] over the live API server's OpenAPI v3 documents.
/// Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct LiveSchemas {
    inner: Arc<Inner>,
}

/// The path of a group version's document under `/openapi/v3/`.
fn group_version_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

impl LiveSchemas {
    /// A resolver that trusts a fetched index for [`INDEX_TTL`].
    pub fn new(client: Client) -> Self {
        Self::with_index_ttl(client, INDEX_TTL)
    }

    /// A resolver that trusts a fetched index for `index_ttl` (zero: ask
    /// for it on every prefetch).
    pub fn with_index_ttl(client: Client, index_ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                index_ttl,
                state: RwLock::new(State::default()),
                documents_fetched: AtomicU64::new(0),
                index_fetches: AtomicU64::new(0),
            }),
        }
    }

    /// A chain that asks the live server first and the bundled Kubernetes
    /// 1.36 schemas second, so built-in kinds still resolve when a fetch
    /// failed.
    pub fn with_builtin_fallback(&self) -> ChainResolver {
        ChainResolver::new()
            .with(self.clone())
            .with(BuiltinSchemas::new())
    }

    /// How many group-version documents have been fetched.
    pub fn documents_fetched(&self) -> u64 {
        self.inner.documents_fetched.load(Ordering::Relaxed)
    }

    /// How many times the index has been fetched.
    pub fn index_fetches(&self) -> u64 {
        self.inner.index_fetches.load(Ordering::Relaxed)
    }

    /// Makes the next [`prefetch`](Self::prefetch) fetch the index again,
    /// whatever its age: a CRD changed, so a document's hash may have.
    pub fn expire_index(&self) {
        self.write().index = None;
    }

    // A poisoned lock still holds a consistent cache: every update is a
    // single insert or remove.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes the documents of `gvks` current, so that [`resolve`] can
    /// answer for them.
    ///
    /// The index is fetched again when it is older than the TTL or when a
    /// requested kind is not in the cached documents (a CRD may have just
    /// appeared); then every requested document whose URL changed is
    /// fetched. A kind the server does not serve is not an error here:
    /// `resolve` reports it.
    ///
    /// [`resolve`]: SchemaResolver::resolve
    pub async fn prefetch(&self, gvks: &[Gvk]) -> Result<(), FetchError> {
        let wanted: BTreeSet<String> = gvks
            .iter()
            .map(|gvk| group_version_path(&gvk.group, &gvk.version))
            .collect();
        let stale = {
            let state = self.read();
            let fresh = state
                .index
                .as_ref()
                .is_some_and(|(at, _)| at.elapsed() < self.inner.index_ttl);
            let known = gvks.iter().all(|gvk| {
                state
                    .documents
                    .get(&group_version_path(&gvk.group, &gvk.version))
                    .is_some_and(|fetched| fetched.document.kinds().any(|k| k == gvk))
            });
            !(fresh && known)
        };
        if stale {
            let index = self.fetch_index().await?;
            self.write().index = Some((Instant::now(), index));
        }

        for path in wanted {
            let url = {
                let state = self.read();
                let url = state
                    .index
                    .as_ref()
                    .and_then(|(_, index)| index.get(&path).cloned());
                let current = state.documents.get(&path).map(|f| f.url.clone());
                match url {
                    Some(url) if current.as_ref() != Some(&url) => Some(url),
                    Some(_) => continue,
                    None => None,
                }
            };
            match url {
                Some(url) => {
                    let document = self.fetch_document(&path, &url).await?;
                    let mut state = self.write();
                    state
                        .kinds
                        .retain(|gvk, _| group_version_path(&gvk.group, &gvk.version) != path);
                    state.documents.insert(path, Fetched { url, document });
                }
                // No longer served: forget it, so that resolve says so.
                None => {
                    let mut state = self.write();
                    state.documents.remove(&path);
                    state
                        .kinds
                        .retain(|gvk, _| group_version_path(&gvk.group, &gvk.version) != path);
                }
            }
        }
        Ok(())
    }

    async fn get(&self, path: &str) -> Result<Value, FetchError> {
        let text = self.get_text(path).await?;
        serde_json::from_str(&text).map_err(|e| FetchError::Request {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    async fn get_text(&self, path: &str) -> Result<String, FetchError> {
        let failed = |message: String| FetchError::Request {
            path: path.to_owned(),
            message,
        };
        let request = http::Request::get(path)
            .body(Vec::new())
            .map_err(|e| failed(e.to_string()))?;
        self.inner
            .client
            .request_text(request)
            .await
            .map_err(|e| failed(e.to_string()))
    }

    async fn fetch_index(&self) -> Result<BTreeMap<String, String>, FetchError> {
        self.inner.index_fetches.fetch_add(1, Ordering::Relaxed);
        let index = self.get("/openapi/v3").await?;
        let paths = index
            .get("paths")
            .and_then(Value::as_object)
            .ok_or(FetchError::Index)?;
        Ok(paths
            .iter()
            .filter_map(|(path, entry)| {
                let url = entry.get("serverRelativeURL")?.as_str()?;
                Some((path.clone(), url.to_owned()))
            })
            .collect())
    }

    async fn fetch_document(
        &self,
        path: &str,
        url: &str,
    ) -> Result<Arc<OpenApiDocument>, FetchError> {
        self.inner.documents_fetched.fetch_add(1, Ordering::Relaxed);
        let text = self.get_text(url).await?;
        let name = path.to_owned();
        // The core document is several megabytes: parse it off the async
        // threads.
        tokio::task::spawn_blocking(move || {
            let json = read_document(&name, &text)?;
            OpenApiDocument::parse(&name, json).map_err(FetchError::from)
        })
        .await
        .map_err(|e| FetchError::Request {
            path: path.to_owned(),
            message: format!("parse task: {e}"),
        })?
        .map(Arc::new)
    }
}

/// The parts of an OpenAPI document [`OpenApiDocument`] reads, with each
/// component schema still raw text.
#[derive(Deserialize)]
struct RawDocument {
    paths: Option<Value>,
    components: Option<RawComponents>,
}

#[derive(Deserialize)]
struct RawComponents {
    #[serde(default)]
    schemas: BTreeMap<String, Box<RawValue>>,
}

/// The `paths` and `components.schemas` of the document `text` (fetched
/// from `path`), leaving out, with a warning, each component schema that
/// cannot be read.
fn read_document(path: &str, text: &str) -> Result<Value, FetchError> {
    let raw: RawDocument = serde_json::from_str(text).map_err(|e| FetchError::Request {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let mut document = serde_json::Map::new();
    if let Some(paths) = raw.paths {
        document.insert("paths".to_owned(), paths);
    }
    if let Some(components) = raw.components {
        let mut schemas = serde_json::Map::new();
        for (name, schema) in components.schemas {
            match serde_json::from_str(schema.get()) {
                Ok(schema) => {
                    schemas.insert(name, schema);
                }
                Err(e) => tracing::warn!(
                    document = %path,
                    component = %name,
                    "leaving out a schema that cannot be read: {e}"
                ),
            }
        }
        let components = serde_json::Map::from_iter([("schemas".to_owned(), schemas.into())]);
        document.insert("components".to_owned(), components.into());
    }
    Ok(document.into())
}

impl SchemaResolver for LiveSchemas {
    fn resolve(&self, gvk: &Gvk) -> Result<Arc<KindSchema>, ResolveError> {
        let path = group_version_path(&gvk.group, &gvk.version);
        let document = {
            let state = self.read();
            if let Some(kind) = state.kinds.get(gvk) {
                return Ok(Arc::clone(kind));
            }
            state
                .documents
                .get(&path)
                .map(|fetched| Arc::clone(&fetched.document))
        };
        let unknown = || ResolveError::UnknownKind { gvk: gvk.clone() };
        // Inlining happens outside the lock; the result is cached only if
        // no prefetch replaced the document meanwhile.
        let kind = Arc::new(
            document
                .as_ref()
                .ok_or_else(unknown)?
                .kind_schema(gvk)
                .ok_or_else(unknown)??,
        );
        let mut state = self.write();
        let current = state.documents.get(&path).is_some_and(|fetched| {
            document
                .as_ref()
                .is_some_and(|d| Arc::ptr_eq(d, &fetched.document))
        });
        if current {
            state.kinds.insert(gvk.clone(), Arc::clone(&kind));
        }
        Ok(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::{OpenApiDocument, group_version_path, read_document};
    use kro_graph::resolver::Gvk;

    #[test]
    fn group_version_paths() {
        assert_eq!(group_version_path("", "v1"), "api/v1");
        assert_eq!(group_version_path("apps", "v1"), "apis/apps/v1");
    }

    /// A group-version document serving `kinds`, each with a `spec` whose
    /// one field nests `depth` objects deep.
    fn document(kinds: &[(&str, usize)]) -> String {
        let mut paths = Vec::new();
        let mut schemas = Vec::new();
        for (kind, depth) in kinds {
            let plural = kind.to_lowercase();
            paths.push(format!(
                r#""/apis/g.test/v1/{plural}":{{"get":{{"x-kubernetes-action":"list","x-kubernetes-group-version-kind":{{"group":"g.test","version":"v1","kind":"{kind}"}}}}}}"#
            ));
            let nested = format!(
                "{}{{\"type\":\"string\"}}{}",
                r#"{"type":"object","properties":{"f":"#.repeat(*depth),
                "}}".repeat(*depth)
            );
            schemas.push(format!(
                r#""test.{kind}":{{"type":"object","x-kubernetes-group-version-kind":[{{"group":"g.test","version":"v1","kind":"{kind}"}}],"properties":{{"spec":{nested}}}}}"#
            ));
        }
        format!(
            r#"{{"openapi":"3.0.0","paths":{{{}}},"components":{{"schemas":{{{}}}}}}}"#,
            paths.join(","),
            schemas.join(",")
        )
    }

    #[test]
    fn a_schema_too_deep_to_read_leaves_only_its_kind_unknown() {
        let text = document(&[("Shallow", 3), ("Deep", 70)]);
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
        let json = read_document("apis/g.test/v1", &text).expect("the document reads");
        let parsed = OpenApiDocument::parse("apis/g.test/v1", json).expect("it parses");
        let kinds: Vec<&Gvk> = parsed.kinds().collect();
        assert_eq!(kinds, [&Gvk::new("g.test", "v1", "Shallow")]);
    }

    #[test]
    fn a_document_that_is_not_json_is_an_error() {
        assert!(read_document("apis/g.test/v1", "{").is_err());
    }
}
