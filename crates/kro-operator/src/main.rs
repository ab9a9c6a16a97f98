//! The kro operator.
//!
//! It wires the library crates to a live API server with kube-rs: it
//! watches `ResourceGraphDefinition`s, registers the CRD of each one's
//! instance kind, and reconciles every instance with `kro-runtime`, under
//! leader election, with metrics and health endpoints. See `lib.rs` for
//! what runs today.

use std::process::ExitCode;
use std::time::Duration;

use kro_operator::args::Args;
use kro_operator::args::logging::FATAL_TARGET;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// How long the process waits, once the operator has stopped, for threads
/// of the blocking pool still at work: a reconcile cancelled at shutdown
/// stops at its next API call, or when its evaluation's deadline comes.
/// Dropping the runtime would wait for them without limit.
const BLOCKING_GRACE: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("kro-operator: start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(operator());
    runtime.shutdown_timeout(BLOCKING_GRACE);
    code
}

async fn operator() -> ExitCode {
    let args = Args::parse_command_line(std::env::args_os());
    if let Err(e) = kro_operator::telemetry::init_with(&args.logging.settings()) {
        eprintln!("kro-operator: {e:#}");
        return ExitCode::from(2);
    }
    // Upstream's flags that change nothing here are accepted, and said so.
    for warning in args.without_effect() {
        tracing::warn!("{warning}");
    }
    let shutdown = CancellationToken::new();
    if let Err(e) = stop_on_signals(shutdown.clone()) {
        tracing::error!(target: FATAL_TARGET, "{e:#}");
        return ExitCode::FAILURE;
    }
    match kro_operator::run(args, shutdown).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        // The line `--log-level=panic` keeps.
        Err(e) => {
            tracing::error!(target: FATAL_TARGET, "{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Cancels `shutdown` on the first SIGTERM or SIGINT; a second one exits
/// at once, for a person whose Ctrl-C seems to hang.
fn stop_on_signals(shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        let signal = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!("{signal}: stopping");
        shutdown.cancel();
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::warn!("second signal: exiting now");
        std::process::exit(1);
    });
    Ok(())
}
