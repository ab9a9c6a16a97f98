//! The Kubernetes `cidr` library: `cidr`, `isCIDR`, `containsIP`,
//! `containsCIDR`, `ip`, `masked`, `prefixLength` and `string`.

use crate::cost::CallRule;
use std::any::Any;
use std::net::IpAddr;

use super::chain::{R, overload};
use super::ip::Ip;
use crate::decls::Env;
use crate::error::EvalError;
use crate::value::Value;
use crate::value::{Opaque, downcast, wrap};

const TYPE: &str = "net.CIDR";

/// An IP prefix; the address keeps its host bits, as in Go's `netip.Prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    /// Parses `address/bits` as the API server does.
    pub fn parse(s: &str) -> Result<Cidr, EvalError> {
        let bad = || {
            EvalError::InvalidArgument(format!(
                "network address parse error during conversion from string: {s:?}"
            ))
        };
        let (addr, bits) = s.split_once('/').ok_or_else(bad)?;
        let ip = Ip::parse(addr).map_err(|e| match e {
            EvalError::InvalidArgument(m) if m.contains("not allowed") => {
                EvalError::InvalidArgument(m)
            }
            _ => bad(),
        })?;
        // Go accepts only plain decimal without leading zeros.
        if bits.is_empty()
            || !bits.bytes().all(|b| b.is_ascii_digit())
            || (bits.len() > 1 && bits.starts_with('0'))
        {
            return Err(bad());
        }
        let bits: u8 = bits.parse().map_err(|_| bad())?;
        let max = if ip.family() == 4 { 32 } else { 128 };
        if bits > max {
            return Err(bad());
        }
        Ok(Cidr { addr: ip.0, bits })
    }

    fn max_bits(&self) -> u8 {
        match self.addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        }
    }

    /// The address with host bits cleared.
    fn network(&self) -> IpAddr {
        let host_bits = u32::from(self.max_bits() - self.bits);
        match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(host_bits).unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(host_bits).unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
        }
    }

    fn contains(&self, addr: &IpAddr) -> bool {
        if std::mem::discriminant(addr) != std::mem::discriminant(&self.addr) {
            return false;
        }
        Cidr {
            addr: *addr,
            bits: self.bits,
        }
        .network()
            == self.network()
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.bits)
    }
}

impl Opaque for Cidr {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other.as_any().downcast_ref::<Cidr>() == Some(self)
    }
    fn to_json(&self) -> Result<serde_json::Value, EvalError> {
        Ok(serde_json::Value::String(self.to_string()))
    }
    fn render(&self) -> String {
        format!("cidr({:?})", self.to_string())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn cidr(v: &Value) -> Option<&Cidr> {
    downcast::<Cidr>(v)
}

pub(crate) fn install(env: &mut Env) {
    overload(env, "cidr", &["(string) -> net.CIDR"], |a, _| match a {
        [Value::String(s)] => Some(Cidr::parse(s).map(wrap)),
        _ => None,
    });
    overload(env, "isCIDR", &["(string) -> bool"], |a, _| match a {
        [Value::String(s)] => Some(Ok(Value::Bool(Cidr::parse(s).is_ok()))),
        _ => None,
    });
    overload(env, "string", &["(net.CIDR) -> string"], |a, _| match a {
        [x] => cidr(x).map(|c| Ok(Value::from(c.to_string()))),
        _ => None,
    });
    overload(
        env,
        "containsIP",
        &["net.CIDR.(string) -> bool", "net.CIDR.(net.IP) -> bool"],
        |a, _| {
            let [c, x] = a else { return None };
            let c = cidr(c)?;
            let addr = match x {
                Value::String(s) => match Ip::parse(s) {
                    Ok(ip) => ip.0,
                    Err(e) => return Some(Err(e)),
                },
                other => downcast::<Ip>(other)?.0,
            };
            Some(Ok(Value::Bool(c.contains(&addr))))
        },
    );
    overload(
        env,
        "containsCIDR",
        &["net.CIDR.(string) -> bool", "net.CIDR.(net.CIDR) -> bool"],
        |a, _| {
            let [c, x] = a else { return None };
            let c = cidr(c)?;
            let other = match x {
                Value::String(s) => match Cidr::parse(s) {
                    Ok(o) => o,
                    Err(e) => return Some(Err(e)),
                },
                other => *cidr(other)?,
            };
            Some(Ok(Value::Bool(
                other.bits >= c.bits && c.contains(&other.addr),
            )))
        },
    );
    overload(env, "ip", &["net.CIDR.() -> net.IP"], |a, _| match a {
        [x] => cidr(x).map(|c| Ok(wrap(Ip(c.addr)))),
        _ => None,
    });
    overload(
        env,
        "masked",
        &["net.CIDR.() -> net.CIDR"],
        |a, _| match a {
            [x] => cidr(x).map(|c| {
                Ok(wrap(Cidr {
                    addr: c.network(),
                    bits: c.bits,
                }))
            }),
            _ => None,
        },
    );
    overload(
        env,
        "prefixLength",
        &["net.CIDR.() -> int"],
        |a, _| -> Option<R> {
            match a {
                [x] => cidr(x).map(|c| Ok(Value::Int(i64::from(c.bits)))),
                _ => None,
            }
        },
    );
    env.set_cost_rule("cidr", CallRule::Parses { copies: 1 });
    env.set_cost_rule("ip", CallRule::Parses { copies: 1 });
    env.set_cost_rule("string", CallRule::Converts);
    for name in [
        "isCIDR",
        "containsIP",
        "containsCIDR",
        "masked",
        "prefixLength",
    ] {
        env.set_cost_rule(name, CallRule::Scalar);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fails, truthy};

    #[test]
    fn parse_and_print() {
        truthy("isCIDR('10.0.0.0/8')");
        truthy("isCIDR('2001:db8::/32')");
        truthy("!isCIDR('10.0.0.0')");
        truthy("!isCIDR('10.0.0.0/33')");
        truthy("!isCIDR('10.0.0.0/08')");
        truthy("string(cidr('192.168.0.5/24')) == '192.168.0.5/24'");
        truthy("cidr('10.0.0.0/8') == cidr('10.0.0.0/8')");
        fails("cidr('10.0.0.0')", "parse error");
        fails("cidr('::ffff:1.2.3.4/120')", "IPv4-mapped");
    }

    #[test]
    fn accessors() {
        truthy("cidr('192.168.0.5/24').ip() == ip('192.168.0.5')");
        truthy("cidr('192.168.0.5/24').masked() == cidr('192.168.0.0/24')");
        truthy("cidr('2001:db8::1/32').masked() == cidr('2001:db8::/32')");
        truthy("cidr('192.168.0.0/24').prefixLength() == 24");
        truthy("cidr('0.0.0.0/0').masked() == cidr('0.0.0.0/0')");
    }

    #[test]
    fn containment() {
        truthy("cidr('192.168.0.0/24').containsIP('192.168.0.7')");
        truthy("cidr('192.168.0.0/24').containsIP(ip('192.168.0.7'))");
        truthy("!cidr('192.168.0.0/24').containsIP('192.168.1.7')");
        truthy("!cidr('192.168.0.0/24').containsIP('::1')");
        truthy("cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16')");
        truthy("cidr('10.0.0.0/8').containsCIDR(cidr('10.0.0.0/8'))");
        truthy("!cidr('10.1.0.0/16').containsCIDR('10.0.0.0/8')");
        fails("cidr('10.0.0.0/8').containsIP('x')", "parse error");
        fails("cidr('10.0.0.0/8').containsCIDR('x')", "parse error");
    }
}
