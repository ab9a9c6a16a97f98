//! Functions whose name several libraries share (`indexOf` on strings and
//! lists, `isLessThan` on quantities and versions): each library chains its
//! own handler in front of the implementation already installed.

use std::sync::Arc;

use crate::decls::Env;
use crate::error::EvalError;
use crate::meter::Meter;
use crate::value::Value;

/// The result of a library function.
pub(crate) type R = Result<Value, EvalError>;

/// A library's handler for a function name shared with other libraries:
/// `None` when the arguments are not its own. Like every implementation,
/// it charges on the meter whatever it does beyond reading its arguments
/// (see [`crate::FunctionImpl`]).
pub(crate) type Handler = fn(&[Value], &mut Meter<'_>) -> Option<R>;

/// Declares `sigs` for `name` and chains `handler` in front of the
/// function's existing implementation, so that libraries sharing a name
/// (`indexOf` on strings and lists, `isLessThan` on quantities and
/// versions) each keep their own behaviour.
pub(crate) fn overload(env: &mut Env, name: &str, sigs: &[&str], handler: Handler) {
    env.declare(name, sigs);
    let previous = env.function(name).and_then(|f| f.implementation.clone());
    let owned = name.to_string();
    env.set_implementation(
        name,
        Arc::new(
            move |args: &[Value], meter: &mut Meter<'_>| match handler(args, meter) {
                Some(result) => result,
                None => match &previous {
                    Some(p) => p(args, meter),
                    None => Err(EvalError::no_overload(&owned, args)),
                },
            },
        ),
    );
}
