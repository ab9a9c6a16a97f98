//! The Kubernetes `ip` library: `ip`, `isIP`, `ip.isCanonical`, `string`
//! and the address predicates, with the API server's rules (no zones, no
//! IPv4-mapped IPv6 addresses, no leading zeros).

use crate::cost::CallRule;
use std::any::Any;
use std::net::IpAddr;

use super::chain::{R, overload};
use crate::decls::Env;
use crate::error::EvalError;
use crate::value::Value;
use crate::value::{Opaque, downcast, wrap};

const TYPE: &str = "net.IP";

/// An IP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip(pub IpAddr);

impl Ip {
    /// Parses an address as the API server does.
    pub fn parse(s: &str) -> Result<Ip, EvalError> {
        if s.contains('%') {
            return Err(EvalError::InvalidArgument(format!(
                "IP address with zone value is not allowed: {s:?}"
            )));
        }
        let addr: IpAddr = s
            .parse()
            .map_err(|_| EvalError::InvalidArgument(format!("IP Address {s:?} parse error")))?;
        if let IpAddr::V6(v6) = addr
            && v6.to_ipv4_mapped().is_some()
        {
            return Err(EvalError::InvalidArgument(format!(
                "IPv4-mapped IPv6 address is not allowed: {s:?}"
            )));
        }
        Ok(Ip(addr))
    }

    /// 4 or 6.
    pub fn family(&self) -> i64 {
        match self.0 {
            IpAddr::V4(_) => 4,
            IpAddr::V6(_) => 6,
        }
    }

    fn is_link_local_unicast(&self) -> bool {
        match self.0 {
            IpAddr::V4(a) => a.octets()[..2] == [169, 254],
            IpAddr::V6(a) => a.segments()[0] & 0xffc0 == 0xfe80,
        }
    }

    fn is_link_local_multicast(&self) -> bool {
        match self.0 {
            IpAddr::V4(a) => a.octets()[..3] == [224, 0, 0],
            IpAddr::V6(a) => a.segments()[0] & 0xff0f == 0xff02,
        }
    }

    /// Go's definition: not unspecified, loopback, multicast, link-local
    /// unicast or the IPv4 broadcast address (private ranges count).
    fn is_global_unicast(&self) -> bool {
        let broadcast = matches!(self.0, IpAddr::V4(a) if a.is_broadcast());
        !(self.0.is_unspecified()
            || self.0.is_loopback()
            || self.0.is_multicast()
            || self.is_link_local_unicast()
            || broadcast)
    }
}

impl Opaque for Ip {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other.as_any().downcast_ref::<Ip>() == Some(self)
    }
    fn to_json(&self) -> Result<serde_json::Value, EvalError> {
        Ok(serde_json::Value::String(self.0.to_string()))
    }
    fn render(&self) -> String {
        format!("ip({:?})", self.0.to_string())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn ip(v: &Value) -> Option<&Ip> {
    downcast::<Ip>(v)
}

pub(crate) fn install(env: &mut Env) {
    overload(env, "ip", &["(string) -> net.IP"], |a, _| match a {
        [Value::String(s)] => Some(Ip::parse(s).map(wrap)),
        _ => None,
    });
    overload(env, "isIP", &["(string) -> bool"], |a, _| match a {
        [Value::String(s)] => Some(Ok(Value::Bool(Ip::parse(s).is_ok()))),
        _ => None,
    });
    overload(
        env,
        "ip.isCanonical",
        &["(string) -> bool"],
        |a, _| match a {
            [Value::String(s)] => Some(Ip::parse(s).map(|ip| Value::Bool(ip.0.to_string() == **s))),
            _ => None,
        },
    );
    overload(env, "string", &["(net.IP) -> string"], |a, _| match a {
        [x] => ip(x).map(|x| Ok(Value::from(x.0.to_string()))),
        _ => None,
    });
    overload(env, "family", &["net.IP.() -> int"], |a, _| {
        predicate(a, |x| Value::Int(x.family()))
    });
    overload(env, "isUnspecified", &["net.IP.() -> bool"], |a, _| {
        predicate(a, |x| Value::Bool(x.0.is_unspecified()))
    });
    overload(env, "isLoopback", &["net.IP.() -> bool"], |a, _| {
        predicate(a, |x| Value::Bool(x.0.is_loopback()))
    });
    overload(
        env,
        "isLinkLocalMulticast",
        &["net.IP.() -> bool"],
        |a, _| predicate(a, |x| Value::Bool(x.is_link_local_multicast())),
    );
    overload(env, "isLinkLocalUnicast", &["net.IP.() -> bool"], |a, _| {
        predicate(a, |x| Value::Bool(x.is_link_local_unicast()))
    });
    overload(env, "isGlobalUnicast", &["net.IP.() -> bool"], |a, _| {
        predicate(a, |x| Value::Bool(x.is_global_unicast()))
    });
    env.set_cost_rule("ip", CallRule::Parses { copies: 1 });
    env.set_cost_rule("string", CallRule::Converts);
    for name in [
        "isIP",
        "ip.isCanonical",
        "family",
        "isUnspecified",
        "isLoopback",
        "isLinkLocalMulticast",
        "isLinkLocalUnicast",
        "isGlobalUnicast",
    ] {
        env.set_cost_rule(name, CallRule::Scalar);
    }
}

fn predicate(a: &[Value], f: fn(&Ip) -> Value) -> Option<R> {
    match a {
        [x] => ip(x).map(|x| Ok(f(x))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fails, truthy};

    #[test]
    fn parse_and_print() {
        truthy("isIP('192.168.0.1')");
        truthy("isIP('2001:db8::1')");
        truthy("!isIP('192.168.0.01')");
        truthy("!isIP('fe80::1%eth0')");
        truthy("!isIP('::ffff:1.2.3.4')");
        truthy("string(ip('2001:DB8::1')) == '2001:db8::1'");
        truthy("ip('10.0.0.1') == ip('10.0.0.1')");
        truthy("ip('10.0.0.1') != ip('10.0.0.2')");
        fails("ip('nope')", "parse error");
        fails("ip('fe80::1%eth0')", "zone value is not allowed");
        fails(
            "ip('::ffff:1.2.3.4')",
            "IPv4-mapped IPv6 address is not allowed",
        );
    }

    #[test]
    fn canonical() {
        truthy("ip.isCanonical('127.0.0.1')");
        truthy("ip.isCanonical('2001:db8::abcd')");
        truthy("!ip.isCanonical('2001:DB8::ABCD')");
        truthy("!ip.isCanonical('2001:db8:0:0:0:0:0:abcd')");
        fails("ip.isCanonical('x')", "parse error");
    }

    #[test]
    fn predicates() {
        truthy("ip('127.0.0.1').family() == 4");
        truthy("ip('::1').family() == 6");
        truthy("ip('0.0.0.0').isUnspecified()");
        truthy("ip('::').isUnspecified()");
        truthy("ip('127.0.0.2').isLoopback()");
        truthy("ip('::1').isLoopback()");
        truthy("ip('224.0.0.1').isLinkLocalMulticast()");
        truthy("ip('ff02::1').isLinkLocalMulticast()");
        truthy("!ip('ff05::1').isLinkLocalMulticast()");
        truthy("ip('169.254.1.1').isLinkLocalUnicast()");
        truthy("ip('fe80::1').isLinkLocalUnicast()");
        truthy("ip('192.168.0.1').isGlobalUnicast()");
        truthy("ip('2001:db8::1').isGlobalUnicast()");
        truthy("!ip('255.255.255.255').isGlobalUnicast()");
        truthy("!ip('224.0.0.1').isGlobalUnicast()");
    }
}
