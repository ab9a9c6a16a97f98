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
pub const HELP: &str = "Feature gates, `Name=true|false,...`. Known, all alpha and off by \
     default: `CELOmitFunction` (the `omit()` CEL function), `InstanceConditionEvents` \
     (Kubernetes events on instance condition changes) and `InstanceConditionMetrics` (a \
     gauge of how long each instance condition has had its status, and a log line per \
     change). `AllAlpha` sets every gate not named; `AllBeta` names none, as no gate is beta";

/// The feature gates kro knows, each alpha and off by default, as
/// upstream's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeatureGates {
    /// `CELOmitFunction`: declare the `omit()` CEL function.
    pub cel_omit_function: bool,
    /// `InstanceConditionEvents`: publish a Kubernetes event when an
    /// instance condition changes (the operator's; offline there are no
    /// events).
    pub instance_condition_events: bool,
    /// `InstanceConditionMetrics`: the gauge
    /// `instance_condition_current_status_seconds` and a debug log line per
    /// condition change (the operator's; offline there are neither).
    pub instance_condition_metrics: bool,
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

/// Parses `Name=bool,...` as Kubernetes' component-base does: booleans in
/// Go's spellings (`true`, `1`, `t`, `TRUE`, ...), and `AllAlpha=bool`
/// setting every gate the text does not name (all of kro's are alpha;
/// `AllBeta` is accepted and sets none). Unknown gates are refused, so
/// that a typo does not silently leave a feature off.
pub fn parse_feature_gates(text: &str) -> Result<FeatureGates, String> {
    let (mut omit, mut events, mut metrics, mut all_alpha) = (None, None, None, None);
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, value) = entry
            .split_once('=')
            .ok_or_else(|| format!("feature gate {entry:?} is not Name=true|false"))?;
        let value = parse_go_bool(value.trim())
            .ok_or_else(|| format!("feature gate {name}: {value:?} is not true or false"))?;
        let gate = match name.trim() {
            "CELOmitFunction" => &mut omit,
            "InstanceConditionEvents" => &mut events,
            "InstanceConditionMetrics" => &mut metrics,
            "AllAlpha" => &mut all_alpha,
            "AllBeta" => continue,
            other => return Err(format!("unknown feature gate {other:?}")),
        };
        *gate = Some(value);
    }
    let unnamed = all_alpha.unwrap_or(false);
    Ok(FeatureGates {
        cel_omit_function: omit.unwrap_or(unnamed),
        instance_condition_events: events.unwrap_or(unnamed),
        instance_condition_metrics: metrics.unwrap_or(unnamed),
    })
}

/// A boolean as Go's `strconv.ParseBool` reads it, the syntax of upstream's
/// flags and feature gates.
pub fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_gates() {
        assert_eq!(
            parse_feature_gates("InstanceConditionEvents=true, CELOmitFunction=false"),
            Ok(FeatureGates {
                instance_condition_events: true,
                ..FeatureGates::default()
            })
        );
        assert_eq!(parse_feature_gates(""), Ok(FeatureGates::default()));
        assert!(parse_feature_gates("Nope=true").is_err());
        assert!(parse_feature_gates("CELOmitFunction").is_err());
        assert!(parse_feature_gates("CELOmitFunction=yes").is_err());
    }

    /// Upstream's gate, and component-base's syntax: Go booleans and
    /// `AllAlpha`, which the gates named in the same text override.
    #[test]
    fn upstream_syntax() {
        assert_eq!(
            parse_feature_gates("InstanceConditionMetrics=1,CELOmitFunction=F"),
            Ok(FeatureGates {
                instance_condition_metrics: true,
                ..FeatureGates::default()
            })
        );
        assert_eq!(
            parse_feature_gates("CELOmitFunction=false,AllAlpha=true,AllBeta=false"),
            Ok(FeatureGates {
                cel_omit_function: false,
                instance_condition_events: true,
                instance_condition_metrics: true,
            })
        );
        assert_eq!(
            parse_feature_gates("AllAlpha=false"),
            Ok(FeatureGates::default())
        );
        for yes in ["1", "t", "T", "true", "TRUE", "True"] {
            assert_eq!(parse_go_bool(yes), Some(true), "{yes}");
        }
        for no in ["0", "f", "F", "false", "FALSE", "False"] {
            assert_eq!(parse_go_bool(no), Some(false), "{no}");
        }
        assert_eq!(parse_go_bool("yes"), None);
        assert_eq!(parse_go_bool("tRUE"), None);
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
