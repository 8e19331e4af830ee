//! Address resolution without blocking a worker.
//!
//! Socket addresses given as values (`SocketAddr`, `(IpAddr, u16)`, a
//! string that parses as an address) resolve at once. A host name
//! (`"localhost:8080"`) is looked up with the system resolver on Ravel's
//! blocking pool ([`ravel::to_thread`]), as asyncio's `getaddrinfo` runs in
//! the default executor: the lookup is a cancellable await, and a worker is
//! never blocked in DNS.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// A value that names one or more socket addresses (see the module docs).
///
/// Implemented for the address types of `std::net`, for `(&str, u16)` and
/// `(String, u16)` (host and port), and for `&str` and `String`
/// (`"host:port"`). Sealed: the resolution strategy is Ravel's.
pub trait ToSocketAddrs: sealed::Sealed {}

pub(crate) mod sealed {
    use super::*;

    /// What resolving needs: addresses now, or a name to look up.
    pub enum Resolved {
        Now(Vec<SocketAddr>),
        Lookup(String),
    }

    pub trait Sealed {
        fn resolve(&self) -> Resolved;
    }
}

use sealed::{Resolved, Sealed};

macro_rules! now {
    ($($t:ty => |$s:ident| $e:expr;)*) => {$(
        impl ToSocketAddrs for $t {}
        impl Sealed for $t {
            fn resolve(&self) -> Resolved {
                let $s = self;
                Resolved::Now($e)
            }
        }
    )*};
}

now! {
    SocketAddr => |s| vec![*s];
    SocketAddrV4 => |s| vec![SocketAddr::V4(*s)];
    SocketAddrV6 => |s| vec![SocketAddr::V6(*s)];
    (IpAddr, u16) => |s| vec![SocketAddr::new(s.0, s.1)];
    (Ipv4Addr, u16) => |s| vec![SocketAddr::new(IpAddr::V4(s.0), s.1)];
    (Ipv6Addr, u16) => |s| vec![SocketAddr::new(IpAddr::V6(s.0), s.1)];
    [SocketAddr] => |s| s.to_vec();
    Vec<SocketAddr> => |s| s.clone();
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: Sealed + ?Sized> Sealed for &T {
    fn resolve(&self) -> Resolved {
        (**self).resolve()
    }
}

impl ToSocketAddrs for str {}
impl Sealed for str {
    fn resolve(&self) -> Resolved {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Resolved::Now(vec![addr]),
            Err(_) => Resolved::Lookup(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl Sealed for String {
    fn resolve(&self) -> Resolved {
        self.as_str().resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl Sealed for (&str, u16) {
    fn resolve(&self) -> Resolved {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Resolved::Now(vec![SocketAddr::new(ip, self.1)]),
            Err(_) => Resolved::Lookup(format!("{}:{}", self.0, self.1)),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl Sealed for (String, u16) {
    fn resolve(&self) -> Resolved {
        (self.0.as_str(), self.1).resolve()
    }
}

/// Resolves `addr` (module docs): at once for addresses, on the blocking
/// pool for host names. Errors if it names no address.
pub(crate) async fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> ravel::Result<Vec<SocketAddr>> {
    let addrs = match addr.resolve() {
        Resolved::Now(addrs) => addrs,
        Resolved::Lookup(name) => {
            ravel::to_thread(move || Ok(std::net::ToSocketAddrs::to_socket_addrs(name.as_str())?.collect::<Vec<_>>()))
                .await?
        }
    };
    if addrs.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the address resolved to no socket address").into());
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now(addr: &(impl ToSocketAddrs + ?Sized)) -> Option<Vec<SocketAddr>> {
        match addr.resolve() {
            Resolved::Now(v) => Some(v),
            Resolved::Lookup(_) => None,
        }
    }

    #[test]
    fn literal_addresses_resolve_without_a_lookup() {
        let a: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert_eq!(now("127.0.0.1:80"), Some(vec![a]));
        assert_eq!(now(&("127.0.0.1", 80)), Some(vec![a]));
        assert_eq!(now(&a), Some(vec![a]));
        assert_eq!(now(&[a, a][..]), Some(vec![a, a]));
        assert_eq!(now(&"[::1]:9".to_string()), Some(vec!["[::1]:9".parse().unwrap()]));
    }

    #[test]
    fn host_names_are_looked_up() {
        assert!(now("localhost:80").is_none());
        assert!(now(&("localhost", 80)).is_none());
    }
}
