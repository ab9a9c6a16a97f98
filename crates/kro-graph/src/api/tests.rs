use super::{ResourceGraphDefinition, Scope};

const APPLICATION: &str = include_str!("../../../../examples/application/rgd.yaml");

#[test]
fn reads_the_application_example() {
    let rgd: ResourceGraphDefinition =
        serde_saphyr::from_str(APPLICATION).expect("the example parses");
    assert_eq!(rgd.metadata.name.as_deref(), Some("my-application"));
    assert_eq!(rgd.spec.schema.kind, "Application");
    assert_eq!(rgd.spec.schema.group_or_default(), "kro.run");
    assert_eq!(rgd.spec.schema.scope_or_default(), Scope::Namespaced);
    let ids: Vec<_> = rgd.spec.resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["deployment", "service", "ingress"]);
    assert_eq!(
        rgd.spec.resources[2].include_when,
        ["${schema.spec.ingress.enabled}"]
    );
}

#[test]
fn round_trips_through_json_with_api_version_and_kind() {
    let rgd: ResourceGraphDefinition =
        serde_saphyr::from_str(APPLICATION).expect("the example parses");
    let json = serde_json::to_value(&rgd).expect("serialises");
    assert_eq!(json["apiVersion"], "kro.run/v1alpha1");
    assert_eq!(json["kind"], "ResourceGraphDefinition");
    let back: ResourceGraphDefinition = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, rgd);
}

#[test]
fn for_each_keeps_iterator_order() {
    let rgd: ResourceGraphDefinition = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "x" },
        "spec": {
            "schema": { "apiVersion": "v1alpha1", "kind": "X" },
            "resources": [{
                "id": "pods",
                "forEach": [{ "zone": "${schema.spec.zones}" }, { "arch": "${schema.spec.arches}" }],
                "template": {}
            }]
        }
    }))
    .expect("deserialises");
    let names: Vec<_> = rgd.spec.resources[0]
        .for_each
        .iter()
        .flat_map(|it| it.keys())
        .collect();
    assert_eq!(names, ["zone", "arch"]);
}
