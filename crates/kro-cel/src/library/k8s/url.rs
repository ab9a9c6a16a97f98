//! The Kubernetes `url` library: `url`, `isURL` and the accessors
//! `getScheme`, `getHost`, `getHostname`, `getPort`, `getEscapedPath` and
//! `getQuery`.
//!
//! Parsing follows Go's `net/url` as the API server uses it: the string
//! must be an absolute URI (`https://host/path`) or an absolute path
//! (`/path`); hosts and paths are kept as written, not normalised (unlike
//! the WHATWG rules of the `url` crate), so accessors return what the API
//! server returns.

use crate::cost::CallRule;
use std::any::Any;
use std::sync::Arc;

use super::chain::{R, overload};
use crate::decls::Env;
use crate::error::EvalError;
use crate::meter::Meter;
use crate::value::{Key, Map, Value};
use crate::value::{Opaque, downcast, wrap};

const TYPE: &str = "kubernetes.URL";

/// A parsed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    raw: String,
    scheme: String,
    host: String,
    path: String,
    query: String,
}

impl Url {
    /// Parses an absolute URI or an absolute path.
    pub fn parse(s: &str) -> Result<Url, EvalError> {
        let err = |why: String| {
            EvalError::InvalidArgument(format!(
                "URL parse error during conversion from string: parse {s:?}: {why}"
            ))
        };
        if s.is_empty() {
            return Err(err("empty url".into()));
        }
        if s.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(err("net/url: invalid control character in URL".into()));
        }
        let without_fragment = s.split_once('#').map_or(s, |(before, _)| before);
        let (scheme, rest) = split_scheme(without_fragment).map_err(err)?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, q.to_string()),
            None => (rest, String::new()),
        };
        if !rest.starts_with('/') {
            if scheme.is_empty() {
                return Err(err("invalid URI for request".into()));
            }
            // An opaque URI such as `mailto:someone@example.com`.
            return Ok(Url {
                raw: s.to_string(),
                scheme,
                host: String::new(),
                path: String::new(),
                query,
            });
        }
        let (host, path) = match rest.strip_prefix("//").filter(|_| !scheme.is_empty()) {
            Some(authority_and_path) => {
                let end = authority_and_path
                    .find('/')
                    .unwrap_or(authority_and_path.len());
                let (authority, path) = authority_and_path.split_at(end);
                let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                check_host(host).map_err(err)?;
                (host.to_string(), path.to_string())
            }
            None => (String::new(), rest.to_string()),
        };
        check_escapes(&path).map_err(err)?;
        Ok(Url {
            raw: s.to_string(),
            scheme,
            host,
            path,
            query,
        })
    }

    /// The host without port and brackets.
    fn hostname(&self) -> &str {
        let (host, _) = split_host_port(&self.host);
        host.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
    }

    fn port(&self) -> &str {
        split_host_port(&self.host).1
    }

    /// The path with characters that need it percent-encoded.
    fn escaped_path(&self) -> String {
        let mut out = String::with_capacity(self.path.len());
        for c in self.path.chars() {
            if c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%".contains(c) {
                out.push(c);
            } else {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
        out
    }

    /// The query as a map from keys to every value given, in order.
    /// Malformed pairs are skipped, as Go's `URL.Query` does.
    fn query_map(&self) -> Map {
        let mut out: indexmap::IndexMap<String, Vec<Value>> = indexmap::IndexMap::new();
        for pair in self.query.split('&') {
            if pair.is_empty() || pair.contains(';') {
                continue;
            }
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (Some(k), Some(v)) = (query_unescape(k), query_unescape(v)) else {
                continue;
            };
            out.entry(k).or_default().push(Value::from(v));
        }
        out.into_iter()
            .map(|(k, v)| (Key::String(Arc::from(k)), Value::list(v)))
            .collect()
    }
}

/// Splits `scheme:rest`; a string with no scheme is all rest.
fn split_scheme(s: &str) -> Result<(String, &str), String> {
    for (i, c) in s.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return Err("missing protocol scheme".into()),
            ':' => return Ok((s[..i].to_string(), &s[i + 1..])),
            _ => return Ok((String::new(), s)),
        }
    }
    Ok((String::new(), s))
}

fn check_host(host: &str) -> Result<(), String> {
    // Go refuses characters that cannot appear in a host, escaped or not.
    if let Some(c) = host.chars().find(|c| {
        c.is_ascii() && !(c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:[]%".contains(*c))
    }) {
        return Err(format!(
            "invalid character {:?} in host name",
            c.to_string()
        ));
    }
    let port = if let Some(rest) = host.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return Err("missing ']' in host".into());
        };
        &rest[end + 1..]
    } else {
        match host.rfind(':') {
            Some(i) => &host[i..],
            None => "",
        }
    };
    let valid =
        port.is_empty() || (port.starts_with(':') && port[1..].bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        return Err(format!("invalid port {port:?} after host"));
    }
    Ok(())
}

fn check_escapes(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let ok = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                let end = (i + 3).min(b.len());
                return Err(format!(
                    "invalid URL escape {:?}",
                    String::from_utf8_lossy(&b[i..end])
                ));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

fn split_host_port(host: &str) -> (&str, &str) {
    let colon = match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => i,
        _ => return (host, ""),
    };
    let port = &host[colon + 1..];
    if port.bytes().all(|b| b.is_ascii_digit()) {
        (&host[..colon], port)
    } else {
        (host, "")
    }
}

/// `+` is a space and `%XX` a byte; `None` for a bad escape or non-UTF-8.
fn query_unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

impl Opaque for Url {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other
            .as_any()
            .downcast_ref::<Url>()
            .is_some_and(|o| o.raw == self.raw)
    }
    fn to_json(&self) -> Result<serde_json::Value, EvalError> {
        Ok(serde_json::Value::String(self.raw.clone()))
    }
    fn render(&self) -> String {
        format!("url({:?})", self.raw)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A string accessor: the part is reserved on the meter, then copied.
fn part(a: &[Value], m: &mut Meter<'_>, f: fn(&Url) -> &str) -> Option<R> {
    let [x] = a else { return None };
    let u = downcast::<Url>(x)?;
    let text = f(u);
    Some(m.reserve_string(text.len()).map(|()| Value::from(text)))
}

pub(crate) fn install(env: &mut Env) {
    overload(
        env,
        "url",
        &["(string) -> kubernetes.URL"],
        |a, m| match a {
            // The URL keeps the string and its parts: twice its size at most.
            [Value::String(s)] => Some(
                m.reserve_string(s.len())
                    .and_then(|()| m.reserve_bytes(s.len()))
                    .and_then(|()| Url::parse(s))
                    .map(wrap),
            ),
            _ => None,
        },
    );
    overload(env, "isURL", &["(string) -> bool"], |a, _| match a {
        [Value::String(s)] => Some(Ok(Value::Bool(Url::parse(s).is_ok()))),
        _ => None,
    });
    overload(env, "string", &["(kubernetes.URL) -> string"], |a, m| {
        part(a, m, |u| &u.raw)
    });
    overload(
        env,
        "getScheme",
        &["kubernetes.URL.() -> string"],
        |a, m| part(a, m, |u| &u.scheme),
    );
    overload(env, "getHost", &["kubernetes.URL.() -> string"], |a, m| {
        part(a, m, |u| &u.host)
    });
    overload(
        env,
        "getHostname",
        &["kubernetes.URL.() -> string"],
        |a, m| part(a, m, Url::hostname),
    );
    overload(env, "getPort", &["kubernetes.URL.() -> string"], |a, m| {
        part(a, m, Url::port)
    });
    overload(
        env,
        "getEscapedPath",
        &["kubernetes.URL.() -> string"],
        escaped_path,
    );
    overload(
        env,
        "getQuery",
        &["kubernetes.URL.() -> map(string, list(string))"],
        query,
    );
    // The URL keeps its text and the bytes it parsed.
    env.set_cost_rule("url", CallRule::Parses { copies: 2 });
    env.set_cost_rule("isURL", CallRule::Scalar);
    env.set_cost_rule("string", CallRule::Converts);
    let part = |times| CallRule::Copies {
        times,
        per: 1,
        plus: 0,
        keeps_length: false,
    };
    for name in ["getScheme", "getHost", "getHostname", "getPort"] {
        env.set_cost_rule(name, part(1));
    }
    // Escaping makes three bytes of one at most.
    env.set_cost_rule("getEscapedPath", part(3));
    env.set_cost_rule("getQuery", CallRule::Query);
}

/// `getEscapedPath()`: escaping turns a byte into three at most, reserved first.
fn escaped_path(a: &[Value], m: &mut Meter<'_>) -> Option<R> {
    let [x] = a else { return None };
    let u = downcast::<Url>(x)?;
    Some(
        m.reserve_string(u.path.len().saturating_mul(3))
            .map(|()| Value::from(u.escaped_path())),
    )
}

/// `getQuery()`: a map and a list per `&`-separated pair at most, and the
/// query's bytes, reserved first.
fn query(a: &[Value], m: &mut Meter<'_>) -> Option<R> {
    let [x] = a else { return None };
    let u = downcast::<Url>(x)?;
    let pairs = u.query.split('&').count();
    Some(
        m.reserve_map(pairs)
            .and_then(|()| m.reserve_list(pairs))
            .and_then(|()| m.reserve_bytes(u.query.len()))
            .map(|()| Value::Map(Arc::new(u.query_map()))),
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fails, truthy};

    #[test]
    fn parse() {
        truthy("isURL('https://user:pass@example.com:80/path?query=val#fragment')");
        truthy("isURL('/absolute-path')");
        truthy("isURL('mailto:someone@example.com')");
        truthy("!isURL('../relative-path')");
        truthy("!isURL('example.com')");
        truthy("!isURL('https://a:b:c/')");
        truthy("!isURL('')");
        truthy("!isURL(':nope')");
        truthy("!isURL('https://[::1/')");
        truthy("!isURL('/bad%zzescape')");
        truthy("!isURL('https://exa mple.com/')");
        truthy("!isURL('https://a<b/')");
        fails("url('../relative-path')", "invalid URI for request");
        fails("url('https://a:b:c/')", "invalid port");
    }

    #[test]
    fn accessors() {
        truthy("url('https://example.com:80/').getScheme() == 'https'");
        truthy("url('https://example.com:80/').getHost() == 'example.com:80'");
        truthy("url('https://example.com:80/').getHostname() == 'example.com'");
        truthy("url('https://example.com:80/').getPort() == '80'");
        truthy("url('https://example.com/').getPort() == ''");
        truthy("url('https://[::1]:80/').getHost() == '[::1]:80'");
        truthy("url('https://[::1]:80/').getHostname() == '::1'");
        truthy("url('https://[::1]/').getPort() == ''");
        truthy(
            "url('https://example.com/path with spaces/').getEscapedPath() == '/path%20with%20spaces/'",
        );
        truthy("url('https://example.com/a%20b').getEscapedPath() == '/a%20b'");
        truthy("url('/absolute-path').getHost() == ''");
        truthy("url('/absolute-path').getEscapedPath() == '/absolute-path'");
        truthy(
            "url('https://example.com/path?k1=a&k2=b&k2=c').getQuery() == {'k1': ['a'], 'k2': ['b', 'c']}",
        );
        truthy(
            "url('https://example.com/?a=x+y&b=%21&bad=%zz&semi=1;2').getQuery() == {'a': ['x y'], 'b': ['!']}",
        );
        truthy("url('https://example.com/').getQuery() == {}");
        truthy("string(url('https://example.com/x')) == 'https://example.com/x'");
        truthy("url('https://example.com/x') == url('https://example.com/x')");
    }
}
