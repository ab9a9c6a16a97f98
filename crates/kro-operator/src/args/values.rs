//! The values of flags, written as upstream's Go flags take them:
//! numbers, bind addresses, Go durations and Go booleans.

use std::fmt;
use std::time::Duration;

use kro_graph::feature_gates::parse_go_bool;

/// Parses `--client-qps`: any number but NaN, which would make every
/// comparison with the bucket false.
pub fn parse_qps(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(qps) if !qps.is_nan() => Ok(qps),
        _ => Err(format!("{text:?} is not a number of requests per second")),
    }
}

/// Where an HTTP endpoint listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindAddress {
    /// `0`: the endpoint is off (upstream's convention).
    Disabled,
    /// `host:port`, as given to the socket layer; Go's `:port` (every
    /// interface) is written `0.0.0.0:port`.
    Listen(String),
}

impl fmt::Display for BindAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindAddress::Disabled => f.write_str("0"),
            BindAddress::Listen(address) => f.write_str(address),
        }
    }
}

/// Parses a bind address as upstream writes them: `0`, `:8080`,
/// `127.0.0.1:8080`, `[::1]:8080` or `localhost:8080`.
pub fn parse_bind_address(text: &str) -> Result<BindAddress, String> {
    if text == "0" {
        return Ok(BindAddress::Disabled);
    }
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("{text:?} is not host:port, :port or 0"))?;
    port.parse::<u16>()
        .map_err(|_| format!("{text:?} has no valid port"))?;
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    Ok(BindAddress::Listen(format!("{host}:{port}")))
}

/// Parses a Go duration: a sequence of decimal numbers with units `ns`,
/// `us` (or `µs`), `ms`, `s`, `m` and `h`, such as `200ms`, `1m30s` or
/// `1.5h`; `0` alone is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {text:?} (examples: 200ms, 15s, 1m30s)");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(invalid());
    }
    let mut rest = text;
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        if number_len == 0 {
            return Err(invalid());
        }
        let number: f64 = rest[..number_len].parse().map_err(|_| invalid())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        total += number * seconds_per_unit;
    }
    Duration::try_from_secs_f64(total).map_err(|_| invalid())
}

/// Parses the value of a boolean flag as Go's `flag` package does
/// (`--leader-elect=true`, `=1`, `=F`, ...); the bare `--leader-elect` is
/// clap's `default_missing_value`.
pub fn parse_bool(text: &str) -> Result<bool, String> {
    parse_go_bool(text).ok_or_else(|| format!("{text:?} is not true or false"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_addresses() {
        assert_eq!(parse_bind_address("0"), Ok(BindAddress::Disabled));
        assert_eq!(
            parse_bind_address("127.0.0.1:9000"),
            Ok(BindAddress::Listen("127.0.0.1:9000".into()))
        );
        assert_eq!(
            parse_bind_address("[::1]:9000"),
            Ok(BindAddress::Listen("[::1]:9000".into()))
        );
        assert!(parse_bind_address("8080").is_err());
        assert!(parse_bind_address(":http").is_err());
        assert!(parse_bind_address(":70000").is_err());
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "10", "s", "1x", "-1s", "1..5s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn go_booleans() {
        assert_eq!(parse_bool("true"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert!(parse_bool("yes").is_err());
    }
}
