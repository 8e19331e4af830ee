//! [`ExceptionGroup`]: several errors at once, as raised by a
//! [`TaskGroup`](crate::TaskGroup) (asyncio `ExceptionGroup`), with
//! `split`/`subgroup` as the `except*` analogue.

use crate::error::Error;
use std::fmt;

/// A group of errors (asyncio `BaseExceptionGroup`). Members may themselves
/// be groups: nesting is preserved.
///
/// `except*` in Rust: [`split`](Self::split) a group by a predicate (or by
/// error type with [`split_type`](Self::split_type)) into the part you handle
/// and the rest, which you re-raise.
///
/// ```
/// use ravel::{Error, ExceptionGroup};
///
/// let group = ExceptionGroup::new(
///     "unhandled errors in a TaskGroup",
///     vec![Error::timeout(), Error::msg("disk full")],
/// );
/// let (timeouts, rest) = group.split(Error::is_timeout);
/// assert_eq!(timeouts.unwrap().len(), 1);
/// assert_eq!(rest.unwrap().errors()[0].to_string(), "disk full");
/// ```
#[derive(Clone)]
pub struct ExceptionGroup {
    message: String,
    errors: Vec<Error>,
}

impl ExceptionGroup {
    /// A group with a message and its member errors.
    pub fn new(message: impl Into<String>, errors: Vec<Error>) -> ExceptionGroup {
        ExceptionGroup { message: message.into(), errors }
    }

    /// The group's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The direct members, in order (nested groups appear as group errors).
    pub fn errors(&self) -> &[Error] {
        &self.errors
    }

    /// The number of direct members.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// True if the group has no members.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Every leaf error, depth first (members of nested groups included).
    pub fn leaves(&self) -> Vec<&Error> {
        let mut out = Vec::new();
        for e in &self.errors {
            match e.as_group() {
                Some(g) => out.extend(g.leaves()),
                None => out.push(e),
            }
        }
        out
    }

    /// Splits into the leaves that match `predicate` and the rest, each as a
    /// group with the same message and nesting (Python `split`); `None` for
    /// an empty side.
    pub fn split(&self, predicate: impl Fn(&Error) -> bool) -> (Option<ExceptionGroup>, Option<ExceptionGroup>) {
        self.split_dyn(&predicate)
    }

    fn split_dyn(&self, predicate: &dyn Fn(&Error) -> bool) -> (Option<ExceptionGroup>, Option<ExceptionGroup>) {
        let mut matched = Vec::new();
        let mut rest = Vec::new();
        for e in &self.errors {
            match e.as_group() {
                Some(g) => {
                    let (m, r) = g.split_dyn(predicate);
                    matched.extend(m.map(Error::group));
                    rest.extend(r.map(Error::group));
                }
                None if predicate(e) => matched.push(e.clone()),
                None => rest.push(e.clone()),
            }
        }
        let wrap =
            |errors: Vec<Error>| (!errors.is_empty()).then(|| ExceptionGroup { message: self.message.clone(), errors });
        (wrap(matched), wrap(rest))
    }

    /// The part of the group whose leaves match `predicate` (Python
    /// `subgroup`).
    pub fn subgroup(&self, predicate: impl Fn(&Error) -> bool) -> Option<ExceptionGroup> {
        self.split(predicate).0
    }

    /// [`split`](Self::split) by user error type: leaves that are an `E`.
    pub fn split_type<E: std::error::Error + 'static>(&self) -> (Option<ExceptionGroup>, Option<ExceptionGroup>) {
        self.split(|e| e.downcast_ref::<E>().is_some())
    }

    /// [`subgroup`](Self::subgroup) by user error type.
    pub fn subgroup_type<E: std::error::Error + 'static>(&self) -> Option<ExceptionGroup> {
        self.split_type::<E>().0
    }
}

impl fmt::Display for ExceptionGroup {
    /// `message (N sub-exceptions)`, then one indented line per member;
    /// nested groups are indented further.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(f, "{} ({n} sub-exception{})", self.message, if n == 1 { "" } else { "s" })?;
        for (i, e) in self.errors.iter().enumerate() {
            let text = e.to_string().replace('\n', "\n  ");
            write!(f, "\n  {}: {text}", i + 1)?;
        }
        Ok(())
    }
}

impl fmt::Debug for ExceptionGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExceptionGroup").field("message", &self.message).field("errors", &self.errors).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Disk;
    impl fmt::Display for Disk {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("disk")
        }
    }
    impl std::error::Error for Disk {}

    #[test]
    fn split_preserves_nesting() {
        let inner = ExceptionGroup::new("inner", vec![Error::new(Disk), Error::timeout()]);
        let outer = ExceptionGroup::new("outer", vec![Error::group(inner), Error::msg("x")]);
        assert_eq!(outer.leaves().len(), 3);
        let (disk, rest) = outer.split_type::<Disk>();
        let disk = disk.unwrap();
        assert_eq!(disk.len(), 1);
        let nested = disk.errors()[0].as_group().expect("nesting kept");
        assert_eq!(nested.message(), "inner");
        assert!(nested.errors()[0].downcast_ref::<Disk>().is_some());
        let rest = rest.unwrap();
        assert_eq!(rest.len(), 2);
        assert!(rest.errors()[0].as_group().unwrap().errors()[0].is_timeout());
        assert!(outer.subgroup(Error::is_cancelled).is_none());
    }

    #[test]
    fn display_lists_every_member() {
        let inner = ExceptionGroup::new("inner", vec![Error::msg("a")]);
        let g = ExceptionGroup::new("outer", vec![Error::group(inner), Error::msg("b")]);
        let text = g.to_string();
        assert_eq!(text, "outer (2 sub-exceptions)\n  1: inner (1 sub-exception)\n    1: a\n  2: b");
    }
}
