//! kro's feature gates (`--feature-gates Name=true|false,...`), parsed in
//! one place so that the operator and the `kro` CLI accept the same names,
//! defaults and syntax, and refuse the same mistakes: an RGD that uses a
//! gated feature then validates offline as it does on the cluster.
//!
//! The gates live here, below both binaries, because the one that changes
//! what an RGD may say (`CELOmitFunction`) configures the CEL environment
//! the graph builder checks expressions with.

use kro_cel::{Env, KroOptions};

/// The help text of `--feature-gates`, shared by every binary that takes it.
pub const HELP: &str = "Feature gates, `Name=true|false,...`. Known: `CELOmitFunction` \
     (the `omit()` CEL function, default false) and `InstanceConditionEvents` (Kubernetes \
     events on instance condition changes, default false)";

/// The feature gates kro knows, each off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeatureGates {
    /// `CELOmitFunction`: declare the `omit()` CEL function.
    pub cel_omit_function: bool,
    /// `InstanceConditionEvents`: publish a Kubernetes event when an
    /// instance condition changes (the operator's; offline there are no
    /// events).
    pub instance_condition_events: bool,
}

impl FeatureGates {
    /// kro's CEL environment with these gates: the one RGD expressions are
    /// checked and evaluated in.
    pub fn cel_env(&self) -> Env {
        Env::kro_with(KroOptions {
            omit: self.cel_omit_function,
        })
    }
}

/// Parses `Name=bool,...`. Unknown gates are refused, as component-base
/// does, so that a typo does not silently leave a feature off.
pub fn parse_feature_gates(text: &str) -> Result<FeatureGates, String> {
    let mut gates = FeatureGates::default();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, value) = entry
            .split_once('=')
            .ok_or_else(|| format!("feature gate {entry:?} is not Name=true|false"))?;
        let value: bool = value
            .trim()
            .parse()
            .map_err(|_| format!("feature gate {name}: {value:?} is not true or false"))?;
        match name.trim() {
            "InstanceConditionEvents" => gates.instance_condition_events = value,
            "CELOmitFunction" => gates.cel_omit_function = value,
            other => return Err(format!("unknown feature gate {other:?}")),
        }
    }
    Ok(gates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_gates() {
        assert_eq!(
            parse_feature_gates("InstanceConditionEvents=true, CELOmitFunction=false"),
            Ok(FeatureGates {
                cel_omit_function: false,
                instance_condition_events: true
            })
        );
        assert_eq!(parse_feature_gates(""), Ok(FeatureGates::default()));
        assert!(parse_feature_gates("Nope=true").is_err());
        assert!(parse_feature_gates("CELOmitFunction").is_err());
        assert!(parse_feature_gates("CELOmitFunction=yes").is_err());
    }

    #[test]
    fn the_omit_gate_declares_omit() {
        assert!(FeatureGates::default().cel_env().function("omit").is_none());
        let gates = FeatureGates {
            cel_omit_function: true,
            ..FeatureGates::default()
        };
        assert!(gates.cel_env().function("omit").is_some());
    }
}
