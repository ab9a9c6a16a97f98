//! The static cost of an RGD as a whole: the worst cases of all its
//! expressions added up, refused above `Limits::static_total_cost_limit`,
//! as the API server bounds the validation rules of a CRD together besides
//! each rule alone.

use kro_cel::Limits;
use kro_cel::template::FieldPath;

use super::Errors;
use super::dependencies::CompiledExpression;
use crate::error::{BuildErrorKind, BuildErrors};

/// How many of the costliest expressions the error names.
const NAMED: usize = 3;

/// Refuses `expressions` (all those of the RGD `rgd`) when their worst
/// cases add up to more than `limits` allow.
pub(crate) fn check_total_cost<'a>(
    rgd: &str,
    expressions: impl Iterator<Item = &'a CompiledExpression>,
    limits: &Limits,
) -> Result<(), BuildErrors> {
    let Some(limit) = limits.static_total_cost_limit else {
        return Ok(());
    };
    let mut all: Vec<&CompiledExpression> = expressions.collect();
    let total = all
        .iter()
        .map(|e| e.worst_case)
        .fold(0u64, u64::saturating_add);
    if total <= limit {
        return Ok(());
    }
    all.sort_by_key(|e| std::cmp::Reverse(e.worst_case));
    let costliest = all
        .iter()
        .take(NAMED)
        .map(|e| format!("`${{{}}}` at {} ({})", e.source, e.path, e.worst_case))
        .collect();
    let mut errors = Errors::new(rgd);
    errors.push(
        None,
        FieldPath::root().key("spec"),
        BuildErrorKind::TotalCost {
            total,
            limit,
            costliest,
        },
    );
    Err(errors.into_errors())
}
