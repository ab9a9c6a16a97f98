//! The logging flags: ours (`--log-level`, `--log-format`) and the ones
//! upstream's binary takes from controller-runtime's zap logger
//! (`--zap-log-level`, `--zap-encoder`, `--zap-devel`,
//! `--zap-time-encoding`, `--zap-stacktrace-level`), resolved into one
//! [`LogSettings`] for `crate::telemetry`.
//!
//! Zap's levels are mapped to `tracing`'s: `debug`, `info` and `error` are
//! the same words; a number N above 0 is zap's verbosity N (level -N),
//! `debug` for 1 and `trace` beyond; and `panic`, which in zap hides even
//! the error a failing operator exits with, keeps exactly those errors
//! here (Rust prints panics itself).

use clap::ValueEnum;
use jiff::Timestamp;
use tracing_subscriber::EnvFilter;

use super::values::parse_bool;

/// The target of the log line an operator that stops on an error writes
/// last: the one line `--log-level=panic` keeps.
pub const FATAL_TARGET: &str = "kro_operator::fatal";

/// Which log lines are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogLevel {
    /// `tracing` directives: a level (`off`, `error`, `warn`, `info`,
    /// `debug`, `trace`) or a list such as `info,kro_operator=debug`.
    Filter(String),
    /// Zap's `panic`: only the error the operator stops with.
    FatalOnly,
}

impl LogLevel {
    /// The `tracing` filter directives.
    pub fn directives(&self) -> String {
        match self {
            LogLevel::Filter(directives) => directives.clone(),
            LogLevel::FatalOnly => format!("off,{FATAL_TARGET}=error"),
        }
    }
}

/// Parses `--log-level`: zap's levels (below) or `tracing` directives.
pub fn parse_log_level(text: &str) -> Result<LogLevel, String> {
    if let Some(level) = zap_level(text) {
        return level;
    }
    EnvFilter::try_new(text)
        .map(|_| LogLevel::Filter(text.to_owned()))
        .map_err(|e| format!("{text:?} is not a log level or filter: {e}"))
}

/// Parses `--zap-log-level`: `debug`, `info`, `error`, `panic` (any case)
/// or a verbosity above 0, as controller-runtime does.
pub fn parse_zap_log_level(text: &str) -> Result<LogLevel, String> {
    zap_level(text).unwrap_or_else(|| {
        Err(format!(
            "{text:?} is not debug, info, error, panic or a number above 0 \
             (--log-level also takes warn, trace and tracing filters)"
        ))
    })
}

/// A zap level, if `text` is written as one: `None` for other words, so
/// that `--log-level` reads them as `tracing` directives.
fn zap_level(text: &str) -> Option<Result<LogLevel, String>> {
    let word = text.trim().to_ascii_lowercase();
    match word.as_str() {
        "debug" | "info" | "error" => return Some(Ok(LogLevel::Filter(word))),
        "panic" => return Some(Ok(LogLevel::FatalOnly)),
        _ => {}
    }
    let verbosity: i64 = word.parse().ok()?;
    Some(match verbosity {
        1 => Ok(LogLevel::Filter("debug".to_owned())),
        2.. => Ok(LogLevel::Filter("trace".to_owned())),
        _ => Err(format!(
            "{text:?}: zap's numeric levels are verbosities from 1 (debug) up; \
             `off` writes no logs"
        )),
    })
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (zap's `console`).
    Text,
    /// One JSON object per line.
    Json,
}

/// Parses `--zap-encoder`: `json` or `console`, any case.
pub fn parse_zap_encoder(text: &str) -> Result<LogFormat, String> {
    match text.to_ascii_lowercase().as_str() {
        "json" => Ok(LogFormat::Json),
        "console" => Ok(LogFormat::Text),
        _ => Err(format!("{text:?} is not json or console")),
    }
}

/// How each line's time is written: zap's time encodings, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeEncoding {
    /// Seconds since 1970, with a fraction.
    Epoch,
    /// Milliseconds since 1970, with a fraction.
    Millis,
    /// Nanoseconds since 1970.
    Nanos,
    /// `2026-01-02T15:04:05.000Z`.
    Iso8601,
    /// `2026-01-02T15:04:05Z`.
    Rfc3339,
    /// `2026-01-02T15:04:05.123456789Z`, trailing zeros left out.
    Rfc3339Nano,
}

/// Parses `--zap-time-encoding` as controller-runtime does, any case;
/// `nano`, which its help text names, is taken for `nanos`.
pub fn parse_time_encoding(text: &str) -> Result<TimeEncoding, String> {
    match text.to_ascii_lowercase().as_str() {
        "epoch" => Ok(TimeEncoding::Epoch),
        "millis" => Ok(TimeEncoding::Millis),
        "nanos" | "nano" => Ok(TimeEncoding::Nanos),
        "iso8601" => Ok(TimeEncoding::Iso8601),
        "rfc3339" => Ok(TimeEncoding::Rfc3339),
        "rfc3339nano" => Ok(TimeEncoding::Rfc3339Nano),
        _ => Err(format!(
            "{text:?} is not epoch, millis, nanos, iso8601, rfc3339 or rfc3339nano"
        )),
    }
}

impl TimeEncoding {
    /// `time` written in this encoding.
    pub fn format(self, time: Timestamp) -> String {
        // An f64 holds nanoseconds since 1970 to within a microsecond or
        // so: ample for a log line.
        let nanos = time.as_nanosecond() as f64;
        match self {
            TimeEncoding::Epoch => (nanos / 1e9).to_string(),
            TimeEncoding::Millis => (nanos / 1e6).to_string(),
            TimeEncoding::Nanos => time.as_nanosecond().to_string(),
            TimeEncoding::Iso8601 => time.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            TimeEncoding::Rfc3339 => time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            TimeEncoding::Rfc3339Nano => time.strftime("%Y-%m-%dT%H:%M:%S%.fZ").to_string(),
        }
    }
}

/// Parses `--zap-stacktrace-level`: `info`, `error` or `panic`, any case.
pub fn parse_stacktrace_level(text: &str) -> Result<String, String> {
    let word = text.to_ascii_lowercase();
    match word.as_str() {
        "info" | "error" | "panic" => Ok(word),
        _ => Err(format!("{text:?} is not info, error or panic")),
    }
}

/// What the logging flags ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Which lines.
    pub level: LogLevel,
    /// In which format.
    pub format: LogFormat,
    /// With which time encoding; `None`: RFC 3339 with microseconds, UTC.
    pub time: Option<TimeEncoding>,
}

/// The logging flags, ours and zap's.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Logging")]
pub struct LogFlags {
    /// Which lines are logged: a level (`error`, `warn`, `info`, `debug`,
    /// `trace`, `off`), `tracing` directives such as
    /// `info,kro_operator=debug`, or one of zap's levels (`panic`: only the
    /// error the operator stops with; a number N above 0: zap's verbosity
    /// N, `debug` for 1 and `trace` beyond). Default: `info`, or `debug`
    /// with `--zap-devel`.
    #[arg(long, value_name = "LEVEL", value_parser = parse_log_level, conflicts_with = "zap_log_level")]
    pub log_level: Option<LogLevel>,

    /// Log format. Default: `text`, or `json` with `--zap-devel=false`.
    #[arg(long, value_enum, conflicts_with = "zap_encoder")]
    pub log_format: Option<LogFormat>,

    /// Upstream's (controller-runtime's) name of `--log-level`, with zap's
    /// levels only: `debug`, `info`, `error`, `panic` or a number above 0.
    #[arg(long, value_name = "LEVEL", value_parser = parse_zap_log_level)]
    pub zap_log_level: Option<LogLevel>,

    /// Upstream's name of `--log-format`: `console` (text) or `json`.
    #[arg(long, value_name = "ENCODER", value_parser = parse_zap_encoder)]
    pub zap_encoder: Option<LogFormat>,

    /// Zap's development mode. Here it sets the defaults of the level
    /// (`debug` when true, `info` when false) and of the format (`text`
    /// when true, `json` when false); zap's stack traces on warnings have
    /// no counterpart.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_bool)]
    pub zap_devel: Option<bool>,

    /// How each line's time is written: `epoch`, `millis`, `nanos`,
    /// `iso8601`, `rfc3339` or `rfc3339nano`, always in UTC. Default:
    /// RFC 3339 with microseconds.
    #[arg(long, value_name = "ENCODING", value_parser = parse_time_encoding)]
    pub zap_time_encoding: Option<TimeEncoding>,

    /// Accepted for upstream's command lines, without effect: log lines
    /// carry no stack traces here (errors are logged with their causes).
    #[arg(long, value_name = "LEVEL", value_parser = parse_stacktrace_level)]
    pub zap_stacktrace_level: Option<String>,
}

impl LogFlags {
    /// The settings these flags ask for, defaults filled in.
    pub fn settings(&self) -> LogSettings {
        let level = self
            .log_level
            .clone()
            .or_else(|| self.zap_log_level.clone());
        let development = self.zap_devel;
        LogSettings {
            level: level.unwrap_or_else(|| {
                LogLevel::Filter(
                    if development == Some(true) {
                        "debug"
                    } else {
                        "info"
                    }
                    .to_owned(),
                )
            }),
            format: self
                .log_format
                .or(self.zap_encoder)
                .unwrap_or(if development == Some(false) {
                    LogFormat::Json
                } else {
                    LogFormat::Text
                }),
            time: self.zap_time_encoding,
        }
    }

    /// A warning for each flag given that changes nothing here (or less
    /// than upstream's would).
    pub fn without_effect(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.zap_devel == Some(true) {
            warnings.push(
                "--zap-devel only sets the default log level (debug) and format (text) here; \
                 zap's stack traces on warnings have no counterpart"
                    .to_owned(),
            );
        }
        if let Some(level) = &self.zap_stacktrace_level {
            warnings.push(format!(
                "--zap-stacktrace-level={level} has no effect: log lines carry no stack traces \
                 here (errors are logged with their causes)"
            ));
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(text: &str) -> LogLevel {
        LogLevel::Filter(text.to_owned())
    }

    #[test]
    fn zap_levels_map_to_tracing_levels() {
        for (zap, ours) in [
            ("debug", filter("debug")),
            ("INFO", filter("info")),
            ("Error", filter("error")),
            ("panic", LogLevel::FatalOnly),
            ("1", filter("debug")),
            ("2", filter("trace")),
            ("10", filter("trace")),
        ] {
            assert_eq!(parse_zap_log_level(zap), Ok(ours.clone()), "{zap}");
            assert_eq!(parse_log_level(zap), Ok(ours), "{zap}");
        }
        for bad in ["0", "-1", "warn", "verbose", ""] {
            assert!(parse_zap_log_level(bad).is_err(), "{bad}");
        }
        // Numbers are zap's verbosities, never tracing's numeric levels.
        assert!(parse_log_level("0").is_err());
        assert!(parse_log_level("-3").is_err());
        assert_eq!(parse_log_level("warn"), Ok(filter("warn")));
        assert_eq!(
            parse_log_level("info,kro_operator=debug"),
            Ok(filter("info,kro_operator=debug"))
        );
        assert!(parse_log_level("kro_operator=loud").is_err());
    }

    /// `panic` keeps the line a failing operator exits with, and nothing
    /// else.
    #[test]
    fn panic_keeps_the_fatal_error() {
        let directives = LogLevel::FatalOnly.directives();
        let filter = EnvFilter::try_new(&directives).expect("valid directives");
        let text = filter.to_string();
        assert!(text.contains("kro_operator::fatal=error"), "{text}");
        assert!(text.contains("off"), "{text}");
    }

    #[test]
    fn encoders_and_time_encodings() {
        assert_eq!(parse_zap_encoder("console"), Ok(LogFormat::Text));
        assert_eq!(parse_zap_encoder("JSON"), Ok(LogFormat::Json));
        assert!(parse_zap_encoder("text").is_err());
        let time: Timestamp = "2026-01-02T15:04:05.120Z".parse().expect("a timestamp");
        for (name, written) in [
            ("epoch", "1767366245.12"),
            ("millis", "1767366245120"),
            ("nanos", "1767366245120000000"),
            ("nano", "1767366245120000000"),
            ("ISO8601", "2026-01-02T15:04:05.120Z"),
            ("rfc3339", "2026-01-02T15:04:05Z"),
            ("rfc3339nano", "2026-01-02T15:04:05.12Z"),
        ] {
            let encoding = parse_time_encoding(name).expect(name);
            assert_eq!(encoding.format(time), written, "{name}");
        }
        let whole: Timestamp = "2026-01-02T15:04:05Z".parse().expect("a timestamp");
        assert_eq!(
            TimeEncoding::Rfc3339Nano.format(whole),
            "2026-01-02T15:04:05Z"
        );
        assert!(parse_time_encoding("unix").is_err());
        assert_eq!(parse_stacktrace_level("Error"), Ok("error".to_owned()));
        assert!(parse_stacktrace_level("debug").is_err());
    }

    /// `--zap-devel` sets the defaults it sets in zap, and only those.
    #[test]
    fn development_mode_sets_defaults() {
        let settings = |flags: LogFlags| flags.settings();
        assert_eq!(
            settings(LogFlags::default()),
            LogSettings {
                level: filter("info"),
                format: LogFormat::Text,
                time: None
            }
        );
        let devel = LogFlags {
            zap_devel: Some(true),
            ..LogFlags::default()
        };
        assert_eq!(settings(devel.clone()).level, filter("debug"));
        assert_eq!(settings(devel.clone()).format, LogFormat::Text);
        assert_eq!(devel.without_effect().len(), 1);
        let production = LogFlags {
            zap_devel: Some(false),
            ..LogFlags::default()
        };
        assert_eq!(settings(production.clone()).level, filter("info"));
        assert_eq!(settings(production.clone()).format, LogFormat::Json);
        assert!(production.without_effect().is_empty());
        // Upstream's chart: production mode, but the level and encoder
        // given.
        let chart = LogFlags {
            zap_devel: Some(false),
            zap_log_level: Some(LogLevel::FatalOnly),
            zap_encoder: Some(LogFormat::Text),
            ..LogFlags::default()
        };
        assert_eq!(
            settings(chart),
            LogSettings {
                level: LogLevel::FatalOnly,
                format: LogFormat::Text,
                time: None
            }
        );
    }
}
