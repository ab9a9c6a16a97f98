//! The `ResourceGraphDefinition` object.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceColumnDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Condition;

/// The API group of `ResourceGraphDefinition`.
pub const GROUP: &str = "kro.run";
/// The API version of `ResourceGraphDefinition`.
pub const VERSION: &str = "v1alpha1";
/// The kind.
pub const KIND: &str = "ResourceGraphDefinition";
/// `apiVersion` of `ResourceGraphDefinition` objects.
pub const API_VERSION: &str = "kro.run/v1alpha1";

fn api_version() -> String {
    API_VERSION.to_owned()
}

fn kind() -> String {
    KIND.to_owned()
}

/// A definition of a new Kubernetes API (the instance kind) as a graph of
/// resources. Cluster-scoped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGraphDefinition {
    /// Always `kro.run/v1alpha1`; kept so that serialised objects are
    /// complete Kubernetes objects.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Always `ResourceGraphDefinition`.
    #[serde(default = "kind")]
    pub kind: String,
    /// Standard object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// What the author defines.
    pub spec: ResourceGraphDefinitionSpec,
    /// What the operator reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ResourceGraphDefinitionStatus>,
}

/// `spec` of a `ResourceGraphDefinition`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGraphDefinitionSpec {
    /// The instance kind: its name, version, SimpleSchema and status.
    pub schema: Schema,
    /// The resources one instance creates or reads, in declaration order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
}

/// Whether instances live in a namespace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// Instances live in a namespace (the default).
    #[default]
    Namespaced,
    /// Instances are cluster-wide.
    Cluster,
}

/// `spec.schema`: the instance kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    /// The version of the generated CRD, such as `v1alpha1`.
    pub api_version: String,
    /// The kind of the generated CRD, UpperCamelCase.
    pub kind: String,
    /// The API group of the generated CRD; `kro.run` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The scope of the generated CRD; `Namespaced` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// The SimpleSchema of the instance's `spec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<Value>,
    /// Named custom SimpleSchema types usable in `spec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Value>,
    /// CEL projections into the instance's `status`, and custom conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
    /// Printer columns of the generated CRD; when given, they replace kro's
    /// default columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_printer_columns: Vec<CustomResourceColumnDefinition>,
    /// Short names of the generated CRD.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub short_names: Vec<String>,
    /// Categories of the generated CRD.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Labels and annotations for the generated CRD object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<SchemaMetadata>,
}

impl Schema {
    /// The API group of the instance kind, with the default applied.
    pub fn group_or_default(&self) -> &str {
        self.group.as_deref().unwrap_or(GROUP)
    }

    /// The scope of the instance kind, with the default applied.
    pub fn scope_or_default(&self) -> Scope {
        self.scope.unwrap_or_default()
    }
}

/// `spec.schema.metadata`: metadata for the generated CRD object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaMetadata {
    /// Labels of the generated CRD.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations of the generated CRD.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// One entry of `spec.resources`: a template to create, or an existing
/// object to read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// The resource's identifier, lowerCamelCase; expressions refer to the
    /// resource by it.
    pub id: String,
    /// The object to create, with `${...}` expressions in its values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
    /// An existing object to read instead of creating one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<ExternalRef>,
    /// Boolean expressions that must all hold before dependants proceed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ready_when: Vec<String>,
    /// Boolean expressions that must all hold for the resource to exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_when: Vec<String>,
    /// Iterators, each `{name: "${list expression}"}`; the resource is
    /// created once per element of their cartesian product.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub for_each: Vec<IndexMap<String, String>>,
}

/// `externalRef`: an object kro reads but does not manage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalRef {
    /// API version of the referenced object.
    pub api_version: String,
    /// Kind of the referenced object.
    pub kind: String,
    /// Which object(s): by name, or by label selector.
    pub metadata: ExternalRefMetadata,
}

/// `externalRef.metadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalRefMetadata {
    /// The referenced object's name (exactly one of name and selector).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its namespace; the instance's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A label selector choosing a collection of objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Annotations: meaningless on an object kro only reads. Kept so that
    /// lifecycle annotations put here by mistake are refused rather than
    /// silently dropped (the RGD CRD does not declare the field, so the
    /// API server prunes it before the operator reads the RGD).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// `status.state` of an RGD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RgdState {
    /// The graph is valid, its CRD is ready and its instances are served.
    Active,
    /// Anything else.
    Inactive,
}

/// `status` of a `ResourceGraphDefinition`, written by the operator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGraphDefinitionStatus {
    /// `Active` when the graph is accepted and its kind is served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<RgdState>,
    /// Resource ids in creation order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topological_order: Vec<String>,
    /// The dependencies of each resource that has any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceInfo>,
    /// `GraphAccepted`, `KindReady`, `ControllerReady` and `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// One entry of `status.resources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceInfo {
    /// The resource id.
    pub id: String,
    /// The resources it depends on.
    #[serde(default)]
    pub dependencies: Vec<ResourceDependency>,
}

/// One dependency in `status.resources[].dependencies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDependency {
    /// The id of the resource depended on.
    pub id: String,
}

impl k8s_openapi::Resource for ResourceGraphDefinition {
    const API_VERSION: &'static str = API_VERSION;
    const GROUP: &'static str = GROUP;
    const KIND: &'static str = KIND;
    const VERSION: &'static str = VERSION;
    const URL_PATH_SEGMENT: &'static str = "resourcegraphdefinitions";
    type Scope = k8s_openapi::ClusterResourceScope;
}

impl k8s_openapi::Metadata for ResourceGraphDefinition {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}
