//! Lists and watches that survive one unreadable object.
//!
//! kube parses a whole list (or watch event) in one go, so a single object
//! it cannot read fails the list, and a watcher over that list retries
//! forever without ever delivering the others. The usual culprit is depth:
//! serde_json refuses JSON nested more than 128 levels, while the API server
//! stores objects nested thousands deep (a template of a
//! `ResourceGraphDefinition`, a schemaless field of an instance, and the
//! `managedFields` mirroring either). Anyone who may write such an object
//! would stop the controller for everyone.
//!
//! [`Lenient<K>`] is what a controller lists and watches instead of `K`:
//! each item is first taken as raw JSON text (serde_json skips a value
//! without recursion, however deep), then read as `K` on its own. An item
//! that does not read becomes [`Lenient::Unreadable`] with whatever could
//! be salvaged (its metadata, so that it can be addressed by name, and its
//! `status`), and the others are delivered as usual.
//!
//! kube's own `DeserializeGuard` isolates type errors but not depth: it
//! buffers each item through `serde_value`, which recurses under the same
//! limit, so one deep item still fails the list.

use std::collections::BTreeMap;
use std::fmt::Debug;

use kube::Resource;
use kube::api::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// An object as listed or watched: read as `K`, or not readable.
///
/// Reads only from JSON text (serde_json's `from_str`, `from_slice` and
/// `from_reader`), which is how kube's client reads every answer.
#[derive(Debug, Clone)]
pub enum Lenient<K> {
    /// The object, read.
    Read(K),
    /// An object that could not be read as `K` (boxed: rare, and larger
    /// than most `K`).
    Unreadable(Box<Unreadable>),
}

/// What is left of an object that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    /// Its metadata, without `managedFields` (which nest as deep as the
    /// object). Empty if even that could not be read, which the API server
    /// never sends.
    pub metadata: ObjectMeta,
    /// Its `status`, if it reads as JSON: a controller may need its own
    /// last report to avoid writing it again.
    pub status: Option<Value>,
    /// Why it could not be read.
    pub error: String,
}

impl<K: DeserializeOwned> Lenient<K> {
    /// Reads one object from its JSON text.
    pub fn from_json(text: &str) -> Self {
        match serde_json::from_str::<K>(text) {
            Ok(object) => Self::Read(object),
            Err(error) => Self::Unreadable(Box::new(Unreadable::salvage(text, &error))),
        }
    }
}

impl<K> Lenient<K> {
    /// The object, if it could be read.
    pub fn read(&self) -> Option<&K> {
        match self {
            Self::Read(object) => Some(object),
            Self::Unreadable(_) => None,
        }
    }
}

/// The parts of an object [`Unreadable::salvage`] looks at, each kept as
/// raw text so that nothing deeper is parsed yet.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    metadata: BTreeMap<String, Box<RawValue>>,
    #[serde(default)]
    status: Option<Box<RawValue>>,
}

impl Unreadable {
    /// What can be read of `text`, an object that failed with `error`.
    fn salvage(text: &str, error: &serde_json::Error) -> Self {
        let envelope = serde_json::from_str::<Envelope>(text).ok();
        let metadata = envelope
            .as_ref()
            .and_then(|e| metadata_without_managed_fields(&e.metadata))
            .unwrap_or_default();
        let status = envelope
            .and_then(|e| e.status)
            .and_then(|raw| serde_json::from_str(raw.get()).ok());
        Self {
            metadata,
            status,
            error: error.to_string(),
        }
    }
}

fn metadata_without_managed_fields(fields: &BTreeMap<String, Box<RawValue>>) -> Option<ObjectMeta> {
    let kept: BTreeMap<&str, &RawValue> = fields
        .iter()
        .filter(|(name, _)| name.as_str() != "managedFields")
        .map(|(name, value)| (name.as_str(), value.as_ref()))
        .collect();
    let text = serde_json::to_string(&kept).ok()?;
    serde_json::from_str(&text).ok()
}

impl<'de, K: DeserializeOwned> Deserialize<'de> for Lenient<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Ok(Self::from_json(raw.get()))
    }
}

/// The object as read, or what is left of it (`metadata` and `status`).
impl<K: Serialize> Serialize for Lenient<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The salvaged parts of an unreadable object, as JSON.
        #[derive(Serialize)]
        struct Salvaged<'a> {
            metadata: &'a ObjectMeta,
            #[serde(skip_serializing_if = "Option::is_none")]
            status: Option<&'a Value>,
        }
        match self {
            Self::Read(object) => object.serialize(serializer),
            Self::Unreadable(u) => Salvaged {
                metadata: &u.metadata,
                status: u.status.as_ref(),
            }
            .serialize(serializer),
        }
    }
}

/// The API of `K`: a lenient list or watch is a list or watch of `K`.
impl<K: Resource> Resource for Lenient<K> {
    type DynamicType = K::DynamicType;
    type Scope = K::Scope;

    fn kind(dt: &Self::DynamicType) -> std::borrow::Cow<'_, str> {
        K::kind(dt)
    }

    fn group(dt: &Self::DynamicType) -> std::borrow::Cow<'_, str> {
        K::group(dt)
    }

    fn version(dt: &Self::DynamicType) -> std::borrow::Cow<'_, str> {
        K::version(dt)
    }

    fn plural(dt: &Self::DynamicType) -> std::borrow::Cow<'_, str> {
        K::plural(dt)
    }

    fn metadata_api() -> bool {
        K::metadata_api()
    }

    fn meta(&self) -> &ObjectMeta {
        match self {
            Self::Read(object) => object.meta(),
            Self::Unreadable(u) => &u.metadata,
        }
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Self::Read(object) => object.meta_mut(),
            Self::Unreadable(u) => &mut u.metadata,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kro_graph::api::ResourceGraphDefinition;
    use kube::ResourceExt;
    use kube::api::{DynamicObject, PartialObjectMeta};
    use kube::core::{DeserializeGuard, ObjectList, WatchEvent};
    use serde_json::json;

    /// `{"n":{"n":...{"n":1}...}}`, `depth` objects deep, built as text:
    /// building it as a `Value` would recurse.
    fn nested(depth: usize) -> String {
        let mut text = "{\"n\":".repeat(depth);
        text.push('1');
        text.push_str(&"}".repeat(depth));
        text
    }

    fn config_map(name: &str, extra: &str) -> String {
        format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","uid":"u-{name}"}}{extra}}}"#
        )
    }

    fn list(items: &[String]) -> String {
        format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMapList","metadata":{{"resourceVersion":"7"}},"items":[{}]}}"#,
            items.join(",")
        )
    }

    /// An RGD whose one template carries `extra` fields.
    fn rgd(name: &str, extra: &str) -> String {
        format!(
            r#"{{"apiVersion":"kro.run/v1alpha1","kind":"ResourceGraphDefinition","metadata":{{"name":"{name}","uid":"u-{name}"}},"spec":{{"schema":{{"apiVersion":"v1alpha1","kind":"K"}},"resources":[{{"id":"r","template":{{"apiVersion":"v1","kind":"ConfigMap"{extra}}}}}]}},"status":{{"state":"Inactive"}}}}"#
        )
    }

    #[test]
    fn one_deep_item_fails_a_plain_list_but_not_a_lenient_one() {
        let deep = rgd("deep", &format!(r#","data":{}"#, nested(130)));
        let text = list(&[rgd("a", ""), deep, rgd("b", "")]);
        let plain = serde_json::from_str::<ObjectList<ResourceGraphDefinition>>(&text);
        assert!(plain.is_err(), "the problem this module solves");

        let lenient: ObjectList<Lenient<ResourceGraphDefinition>> =
            serde_json::from_str(&text).expect("the list reads");
        assert_eq!(lenient.metadata.resource_version.as_deref(), Some("7"));
        let names: Vec<String> = lenient.items.iter().map(ResourceExt::name_any).collect();
        assert_eq!(names, ["a", "deep", "b"]);
        assert!(lenient.items[0].read().is_some());
        assert!(lenient.items[2].read().is_some());
        let Lenient::Unreadable(bad) = &lenient.items[1] else {
            panic!("the deep item reads: {:?}", lenient.items[1]);
        };
        assert_eq!(bad.metadata.uid.as_deref(), Some("u-deep"));
        assert_eq!(bad.status, Some(json!({"state": "Inactive"})));
        assert!(bad.error.contains("recursion limit"), "{}", bad.error);
    }

    #[test]
    fn kubes_deserialize_guard_does_not_isolate_depth() {
        let text = list(&[rgd("deep", &format!(r#","data":{}"#, nested(130)))]);
        let guarded =
            serde_json::from_str::<ObjectList<DeserializeGuard<ResourceGraphDefinition>>>(&text);
        assert!(guarded.is_err(), "if this reads, DeserializeGuard may do");
    }

    #[test]
    fn an_object_just_within_the_limit_reads() {
        // The depth counts from the item, not from the list around it.
        let text = list(&[rgd("d", &format!(r#","data":{}"#, nested(122)))]);
        assert!(serde_json::from_str::<ObjectList<ResourceGraphDefinition>>(&text).is_err());
        let lenient: ObjectList<Lenient<ResourceGraphDefinition>> =
            serde_json::from_str(&text).expect("the list reads");
        assert!(lenient.items[0].read().is_some());
    }

    #[test]
    fn a_type_mismatch_is_unreadable_too() {
        let text = list(&[config_map("wrong", r#","data":{"k":[1]}"#)]);
        let lenient: ObjectList<Lenient<ConfigMap>> =
            serde_json::from_str(&text).expect("the list reads");
        let Lenient::Unreadable(bad) = &lenient.items[0] else {
            panic!("a list where a string belongs reads");
        };
        assert_eq!(bad.metadata.name.as_deref(), Some("wrong"));
        assert_eq!(bad.status, None);
    }

    #[test]
    fn deep_managed_fields_leave_the_rest_of_the_metadata() {
        // A metadata-only watch sees only metadata, but `managedFields`
        // mirror the object's shape, so they are as deep as it is.
        let item = format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"m","namespace":"ns","labels":{{"a":"b"}},"managedFields":[{{"manager":"x","fieldsType":"FieldsV1","fieldsV1":{}}}]}}}}"#,
            nested(200)
        );
        let event = format!(r#"{{"type":"ADDED","object":{item}}}"#);
        let plain = serde_json::from_str::<WatchEvent<PartialObjectMeta<DynamicObject>>>(&event);
        assert!(plain.is_err());
        let lenient: WatchEvent<Lenient<PartialObjectMeta<DynamicObject>>> =
            serde_json::from_str(&event).expect("the event reads");
        let WatchEvent::Added(object) = lenient else {
            panic!("an ADDED event");
        };
        let meta = object.meta();
        assert_eq!(meta.namespace.as_deref(), Some("ns"));
        assert_eq!(
            meta.labels
                .as_ref()
                .and_then(|l| l.get("a"))
                .map(String::as_str),
            Some("b")
        );
        assert_eq!(meta.managed_fields, None);
    }

    #[test]
    fn an_item_far_deeper_than_the_limit_is_skipped_without_recursion() {
        // The API server accepts JSON nested up to 10,000 levels; reading
        // the list must not overflow the stack.
        let deep = rgd("deep", &format!(r#","data":{}"#, nested(100_000)));
        let lenient: ObjectList<Lenient<ResourceGraphDefinition>> =
            serde_json::from_str(&list(&[deep])).expect("the list reads");
        assert!(lenient.items[0].read().is_none());
        assert_eq!(lenient.items[0].meta().name.as_deref(), Some("deep"));
    }

    #[test]
    fn the_salvaged_parts_serialise() {
        let object = Lenient::<ResourceGraphDefinition>::from_json(&rgd(
            "x",
            &format!(r#","data":{}"#, nested(200)),
        ));
        assert_eq!(
            serde_json::to_value(&object).expect("serialises"),
            json!({"metadata": {"name": "x", "uid": "u-x"}, "status": {"state": "Inactive"}})
        );
        let read = Lenient::<ConfigMap>::from_json(&config_map("y", ""));
        assert_eq!(
            serde_json::to_value(&read).expect("serialises")["metadata"]["name"],
            json!("y")
        );
    }
}
