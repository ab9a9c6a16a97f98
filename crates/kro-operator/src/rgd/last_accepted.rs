//! The last accepted spec of an RGD, kept on the instance CRD it produced,
//! so that a restarted operator can serve an RGD whose newest spec does not
//! build (and so finalize its instances' deletions).
//!
//! The spec and the RGD generation it came from are written as one
//! annotation of the CRD, in the same server-side apply as the CRD itself:
//! the two cannot disagree, and the annotation changes only when a spec
//! was accepted and its CRD applied. A spec whose JSON is small is stored
//! as it is (readable with `kubectl`); a larger one is gzipped and base64
//! encoded behind a `gzip:` prefix. One whose encoding would still take
//! more than [`MAX_STORED`] bytes (half of what all the annotations of an
//! object may take together) is not stored: the CRD is applied without the
//! annotation, which removes an older one, since it would no longer match.
//!
//! When the newest spec is not served, the RGD controller falls back here:
//! to the graph in memory, else to the stored spec, built again with the
//! same builder (feature gates and limits included) and served, its
//! generation named in `ControllerReady`.
//!
//! Why the CRD: the operator owns it, it exists exactly as long as
//! instances can, it is read anyway at startup, and it needs no new kind
//! nor any other object to clean up.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_graph::api::ConditionSet;
use kro_graph::api::metadata::{OWNED, RGD_NAME};
use kro_graph::api::{API_VERSION, KIND, ResourceGraphDefinition, ResourceGraphDefinitionSpec};
use kube::api::{ListParams, ObjectMeta};
use kube::runtime::controller::Action;
use kube::{Api, Client, Resource, ResourceExt};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::status::CONTROLLER_READY;
use super::{Built, RgdContext};
use crate::dynamic::Handler;
use crate::lenient::Lenient;

/// The annotation of the instance CRD that holds the last accepted spec.
pub const ANNOTATION: &str = "internal.kro.run/last-accepted-spec";

/// Specs whose JSON is longer than this are compressed.
pub const COMPRESS_ABOVE: usize = 8 * 1024;

/// The largest stored value, in bytes.
pub const MAX_STORED: usize = 128 * 1024;

/// The largest spec a stored value may expand to: far more than any spec
/// that compresses below [`MAX_STORED`] in practice, and a bound on what
/// a hand-edited value can make the operator allocate.
const MAX_EXPANDED: u64 = 16 * 1024 * 1024;

/// The prefix of a compressed value.
const GZIP_PREFIX: &str = "gzip:";

/// What is stored: the spec and the RGD generation it was accepted at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastAccepted {
    /// The RGD's `metadata.generation` when the spec was accepted.
    pub generation: i64,
    /// The spec.
    pub spec: ResourceGraphDefinitionSpec,
}

impl LastAccepted {
    /// The RGD `rgd_name` with this spec, to build a graph from.
    pub fn rgd(&self, rgd_name: &str) -> ResourceGraphDefinition {
        ResourceGraphDefinition {
            api_version: API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            metadata: ObjectMeta {
                name: Some(rgd_name.to_owned()),
                ..ObjectMeta::default()
            },
            spec: self.spec.clone(),
            status: None,
        }
    }
}

/// Why a spec is not stored, or a stored one cannot be read.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The spec could not be encoded or decoded as JSON.
    #[error("the stored spec is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Compressing or decompressing failed.
    #[error("the stored spec cannot be decompressed: {0}")]
    Gzip(#[from] std::io::Error),
    /// The compressed value is not base64.
    #[error("the stored spec is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The spec is too large to store, even compressed.
    #[error("the spec takes {size} bytes compressed, more than the {MAX_STORED} that are stored")]
    TooLarge {
        /// The size of the encoded value.
        size: usize,
    },
    /// The value expands beyond [`MAX_EXPANDED`].
    #[error("the stored spec expands beyond {MAX_EXPANDED} bytes")]
    TooLargeExpanded,
}

/// The annotation value storing `accepted`.
pub fn encode(accepted: &LastAccepted) -> Result<String, StoreError> {
    let json = serde_json::to_string(accepted)?;
    if json.len() <= COMPRESS_ABOVE {
        return Ok(json);
    }
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(json.as_bytes())?;
    let value = format!("{GZIP_PREFIX}{}", STANDARD.encode(encoder.finish()?));
    if value.len() > MAX_STORED {
        return Err(StoreError::TooLarge { size: value.len() });
    }
    Ok(value)
}

/// The stored value `value` read back.
pub fn decode(value: &str) -> Result<LastAccepted, StoreError> {
    let Some(compressed) = value.strip_prefix(GZIP_PREFIX) else {
        return Ok(serde_json::from_str(value)?);
    };
    let bytes = STANDARD.decode(compressed)?;
    let mut json = Vec::new();
    GzDecoder::new(bytes.as_slice())
        .take(MAX_EXPANDED + 1)
        .read_to_end(&mut json)?;
    if json.len() as u64 > MAX_EXPANDED {
        return Err(StoreError::TooLargeExpanded);
    }
    Ok(serde_json::from_slice(&json)?)
}

/// Stores `accepted` on `crd`, the CRD about to be applied. A spec too
/// large to store is logged and left out.
pub fn annotate(crd: &mut CustomResourceDefinition, rgd_name: &str, accepted: &LastAccepted) {
    match encode(accepted) {
        Ok(value) => {
            crd.metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(ANNOTATION.to_owned(), value);
        }
        Err(e) => tracing::warn!(
            rgd = %rgd_name,
            "the accepted spec is not kept on the CRD, so a restarted operator cannot serve it \
             while a newer spec is invalid: {e}"
        ),
    }
}

/// The spec stored on `crd`, if any.
pub fn stored(crd: &CustomResourceDefinition) -> Option<Result<LastAccepted, StoreError>> {
    let value = crd.metadata.annotations.as_ref()?.get(ANNOTATION)?;
    Some(decode(value))
}

/// The instance CRD the operator generated for RGD `rgd_name`, found by
/// its labels (the newest spec may name another kind); the first by name
/// if, against the rules, several carry them.
pub async fn instance_crd(
    client: &Client,
    rgd_name: &str,
) -> Result<Option<CustomResourceDefinition>, kube::Error> {
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    let selector = format!("{OWNED}=true,{RGD_NAME}={rgd_name}");
    let mut crds = api
        .list(&ListParams::default().labels(&selector))
        .await?
        .items;
    crds.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(crds.into_iter().next())
}

impl RgdContext {
    /// Serves the last accepted graph of an RGD whose newest spec is not
    /// served (refused, unreadable, or its CRD not applied), as
    /// [`Self::keep_last_accepted_served`] does, and says in `ControllerReady` which
    /// generation is served, when not the current one. A failure to read
    /// the CRD makes the RGD be looked at again soon; otherwise `action`
    /// stands.
    pub(super) async fn fall_back(
        &self,
        object: &Lenient<ResourceGraphDefinition>,
        set: &mut ConditionSet<'_>,
        now: &str,
        action: Action,
    ) -> Action {
        let served = match self.keep_last_accepted_served(object).await {
            Ok(served) => served,
            Err(retry) => return retry,
        };
        let generation = object.meta().generation.unwrap_or_default();
        if let Some(served) = served.filter(|served| *served != generation) {
            set.set_true_with_reason(
                CONTROLLER_READY,
                "LastAcceptedGraph",
                &format!("serving the last accepted graph, of generation {served}"),
                now,
            );
        }
        action
    }

    /// Keeps the last accepted graph of an RGD served: the one served
    /// already, else the one stored on its instance CRD. Returns the RGD
    /// generation served, if any, or the action to take when the CRD could
    /// not be read.
    pub(super) async fn keep_last_accepted_served(
        &self,
        object: &Lenient<ResourceGraphDefinition>,
    ) -> Result<Option<i64>, Action> {
        let name = object.name_any();
        Ok(match self.dynamic.served_for(&name) {
            Some(handler) => Some(handler.rgd_generation),
            None => match instance_crd(&self.client, &name).await {
                Ok(Some(crd)) => self.serve_stored(object, &crd).await,
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!(rgd = %name, "cannot read the instance CRD: {e}");
                    return Err(Action::requeue(self.config.progress_delay));
                }
            },
        })
    }

    /// Builds the spec stored on `crd` and serves it; returns the RGD
    /// generation it was accepted at. Nothing is served when none is
    /// stored, it cannot be read or built, or it no longer produces this
    /// CRD's kind.
    pub(super) async fn serve_stored(
        &self,
        object: &Lenient<ResourceGraphDefinition>,
        crd: &CustomResourceDefinition,
    ) -> Option<i64> {
        let name = object.name_any();
        let accepted = match stored(crd)? {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(rgd = %name, "the spec stored on the instance CRD: {e}");
                return None;
            }
        };
        let graph = match self.build(&accepted.rgd(&name)).await {
            Ok(Built::Graph(graph)) => graph,
            Ok(Built::Invalid(invalid)) => {
                tracing::warn!(rgd = %name, generation = accepted.generation,
                    "the last accepted spec no longer builds: {}", invalid.message);
                return None;
            }
            Err(e) => {
                tracing::warn!(rgd = %name, "{e}");
                return None;
            }
        };
        if graph.instance_crd.metadata.name != crd.metadata.name {
            tracing::warn!(rgd = %name, crd = ?crd.metadata.name,
                "the last accepted spec no longer produces its CRD");
            return None;
        }
        let uid = object.meta().uid.clone().unwrap_or_default();
        let registered =
            self.dynamic
                .register(Handler::new(&name, &uid, accepted.generation, graph));
        tracing::info!(rgd = %name, generation = accepted.generation, ?registered,
            "serving the last accepted graph, stored on the instance CRD");
        Some(accepted.generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(resources: usize) -> ResourceGraphDefinitionSpec {
        let resources: Vec<serde_json::Value> = (0..resources)
            .map(|i| {
                json!({ "id": format!("config{i}"), "template": {
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": format!("${{schema.metadata.name}}-{i}") },
                    "data": { "from": "kro" } } })
            })
            .collect();
        serde_json::from_value(json!({
            "schema": { "apiVersion": "v1alpha1", "kind": "Note", "spec": { "text": "string" } },
            "resources": resources,
        }))
        .expect("a spec")
    }

    #[test]
    fn a_small_spec_is_stored_as_json() {
        let accepted = LastAccepted {
            generation: 3,
            spec: spec(1),
        };
        let value = encode(&accepted).expect("encodes");
        assert!(value.starts_with("{\"generation\":3,\"spec\":"), "{value}");
        assert_eq!(decode(&value).expect("decodes"), accepted);
    }

    #[test]
    fn a_large_spec_is_compressed_and_reads_back() {
        let accepted = LastAccepted {
            generation: 7,
            spec: spec(200),
        };
        let value = encode(&accepted).expect("encodes");
        assert!(value.starts_with(GZIP_PREFIX));
        assert!(value.len() < serde_json::to_string(&accepted).expect("json").len() / 4);
        assert_eq!(decode(&value).expect("decodes"), accepted);
        assert_eq!(encode(&accepted).expect("encodes"), value, "deterministic");
    }

    #[test]
    fn a_spec_too_large_even_compressed_is_refused() {
        // Pseudo-random letters (xorshift) compress to about 60 %.
        let mut accepted = LastAccepted {
            generation: 1,
            spec: spec(1),
        };
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let noise: String = (0..300_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'a' + u8::try_from(state % 26).unwrap_or(0))
            })
            .collect();
        if let Some(template) = accepted.spec.resources[0].template.as_mut() {
            template["data"]["noise"] = json!(noise);
        }
        assert!(matches!(
            encode(&accepted),
            Err(StoreError::TooLarge { .. })
        ));
        let mut crd = CustomResourceDefinition::default();
        annotate(&mut crd, "notes", &accepted);
        assert!(stored(&crd).is_none(), "left out");
    }

    #[test]
    fn damaged_values_are_errors() {
        assert!(matches!(decode("{"), Err(StoreError::Json(_))));
        assert!(matches!(decode("gzip:***"), Err(StoreError::Base64(_))));
        assert!(matches!(
            decode(&format!("{GZIP_PREFIX}{}", STANDARD.encode(b"plain"))),
            Err(StoreError::Gzip(_))
        ));
    }

    #[test]
    fn the_rgd_to_build_has_the_name_and_the_spec() {
        let accepted = LastAccepted {
            generation: 2,
            spec: spec(1),
        };
        let mut crd = CustomResourceDefinition::default();
        annotate(&mut crd, "notes", &accepted);
        let read = stored(&crd).expect("stored").expect("readable");
        let rgd = read.rgd("notes");
        assert_eq!(rgd.metadata.name.as_deref(), Some("notes"));
        assert_eq!(rgd.spec, accepted.spec);
    }
}
