//! Literals in fields of the string formats CEL types on its own (`byte`,
//! `date-time`): the builder accepts them as the strings they are in the
//! API, while an expression written into such a field keeps its CEL type.

use std::sync::Arc;

use kro_cel::Env;
use kro_graph::api::ResourceGraphDefinition;
use kro_graph::builder::{BuildOptions, Builder};
use kro_graph::error::BuildErrors;
use kro_graph::resolver::BuiltinSchemas;

/// An RGD with a Secret, a ConfigMap and a Lease; `secret_data` is the
/// value of the Secret's `data.password`.
fn rgd(secret_data: &str) -> ResourceGraphDefinition {
    let text = format!(
        r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: database
spec:
  schema:
    apiVersion: v1alpha1
    kind: Database
    spec:
      name: string
  resources:
    - id: secret
      template:
        apiVersion: v1
        kind: Secret
        metadata:
          name: ${{schema.spec.name}}
        data:
          password: {secret_data}
    - id: config
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${{schema.spec.name}}
        binaryData:
          blob: AAEC
    - id: lease
      template:
        apiVersion: coordination.k8s.io/v1
        kind: Lease
        metadata:
          name: ${{schema.spec.name}}
        spec:
          acquireTime: "2024-01-02T03:04:05.000000Z"
"#
    );
    serde_saphyr::from_str(&text).expect("an RGD")
}

fn build(rgd: &ResourceGraphDefinition) -> Result<(), BuildErrors> {
    let builder = Builder::new(
        Arc::new(BuiltinSchemas::new()),
        Env::kro(),
        BuildOptions::default(),
    );
    builder.build(rgd).map(drop)
}

#[test]
fn a_secret_with_literal_data_builds() {
    if let Err(errors) = build(&rgd("cG9zdGdyZXM=")) {
        panic!("literal byte and date-time fields are refused:\n{errors}");
    }
}

#[test]
fn a_string_expression_into_secret_data_is_still_refused() {
    let errors = build(&rgd("${schema.spec.name}")).expect_err("a string is not bytes");
    let message = errors.to_string();
    assert!(
        message.contains("spec.resources[0].template.data.password")
            && message.contains("\"bytes\""),
        "{message}"
    );
}
