//! Logging: `tracing` events to standard error, as text or JSON lines,
//! with the level, format and time encoding the flags ask for
//! ([`crate::args::logging`]).

use std::io::IsTerminal;

use anyhow::Context;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};

use crate::args::logging::{LogLevel, TimeEncoding};
use crate::args::{LogFormat, LogSettings};

/// Installs the global subscriber with `filter` (`tracing` directives) and
/// the default time encoding; tests use it.
pub fn init(filter: &str, format: LogFormat) -> anyhow::Result<()> {
    init_with(&LogSettings {
        level: LogLevel::Filter(filter.to_owned()),
        format,
        time: None,
    })
}

/// Installs the global subscriber. Call once, before anything logs.
pub fn init_with(settings: &LogSettings) -> anyhow::Result<()> {
    let directives = settings.level.directives();
    let filter = EnvFilter::try_new(&directives)
        .with_context(|| format!("--log-level {directives:?} is not a level or filter"))?;
    // Colours only for a person at a terminal, not in collected logs.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_timer(Timer(settings.time));
    let installed = match settings.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("install the logger: {e}"))
}

/// Each line's time: a zap time encoding, or `tracing`'s own (RFC 3339
/// with microseconds).
struct Timer(Option<TimeEncoding>);

impl FormatTime for Timer {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        match self.0 {
            Some(encoding) => w.write_str(&encoding.format(jiff::Timestamp::now())),
            None => SystemTime.format_time(w),
        }
    }
}
