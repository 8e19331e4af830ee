//! The stream errors with data attached: [`IncompleteReadError`] and
//! [`LimitOverrunError`] (asyncio's exceptions of the same names).
//!
//! Both reach the caller inside a [`ravel::Error`]; take them out with
//! `e.downcast_ref::<IncompleteReadError>()`.

use std::fmt;

/// The stream ended before the read was satisfied (asyncio
/// `IncompleteReadError`, an `EOFError`).
///
/// Raised by [`readexactly`](super::StreamReader::readexactly) (with
/// `expected: Some(n)`) and [`readuntil`](super::StreamReader::readuntil)
/// (with `expected: None`). `partial` holds every byte that was buffered;
/// the reader's buffer is empty afterwards.
///
/// ```
/// use ravel_io::streams::IncompleteReadError;
///
/// let e = IncompleteReadError { partial: b"abc".to_vec(), expected: Some(10) };
/// assert_eq!(e.to_string(), "3 bytes read on a total of 10 expected bytes");
/// let e = IncompleteReadError { partial: Vec::new(), expected: None };
/// assert_eq!(e.to_string(), "0 bytes read on a total of undefined expected bytes");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteReadError {
    /// The bytes read before the end of the stream.
    pub partial: Vec<u8>,
    /// How many bytes were expected; `None` for a separator search.
    pub expected: Option<usize>,
}

impl fmt::Display for IncompleteReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expected {
            Some(n) => write!(f, "{} bytes read on a total of {} expected bytes", self.partial.len(), n),
            None => write!(f, "{} bytes read on a total of undefined expected bytes", self.partial.len()),
        }
    }
}

impl std::error::Error for IncompleteReadError {}

/// A separator search passed the reader's limit (asyncio
/// `LimitOverrunError`).
///
/// Raised by [`readuntil`](super::StreamReader::readuntil), which leaves the
/// buffer untouched: `consumed` is how many bytes the caller should drop
/// (or read) to make progress.
///
/// ```
/// use ravel_io::streams::LimitOverrunError;
///
/// let e = LimitOverrunError { message: "Separator is not found, and chunk exceed the limit", consumed: 9 };
/// assert_eq!(e.to_string(), "Separator is not found, and chunk exceed the limit");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitOverrunError {
    /// asyncio's message: `"Separator is not found, and chunk exceed the
    /// limit"` or `"Separator is found, but chunk is longer than limit"`.
    pub message: &'static str,
    /// The number of bytes to be consumed.
    pub consumed: usize,
}

pub(crate) const NOT_FOUND: &str = "Separator is not found, and chunk exceed the limit";
pub(crate) const FOUND_TOO_LONG: &str = "Separator is found, but chunk is longer than limit";

impl fmt::Display for LimitOverrunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for LimitOverrunError {}
