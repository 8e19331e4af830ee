//! asyncio streams: [`StreamReader`], [`StreamWriter`],
//! [`open_connection`], and the errors they return.
//!
//! CPython 3.13's semantics (limits, what each error leaves in the buffer,
//! EOF, flow control), on a pull design: a read that needs bytes reads the
//! socket itself, into the buffer, so a cancelled read never loses data
//! (see [`StreamReader`]); a write never waits and a per-connection
//! flusher task sends what the socket did not take at once (see
//! [`StreamWriter`]). Servers are in [`crate::server`].
//!
//! # Cancel safety
//!
//! | method | what a cancelled await has done |
//! |---|---|
//! | [`StreamReader::read`], [`readexactly`](StreamReader::readexactly), [`readuntil`](StreamReader::readuntil), [`readline`](StreamReader::readline), [`read_to_end`](StreamReader::read_to_end) | consumed nothing: every byte read from the socket is in the buffer |
//! | [`StreamWriter::drain`] | stopped waiting; the queued bytes are still sent |
//! | [`StreamWriter::wait_closed`] | stopped waiting; the close goes on |
//! | [`open_connection`] | closed the half-open socket |

mod connection;
mod errors;
mod open_connection;
mod stream_reader;
mod stream_writer;
mod transport;

pub use errors::{IncompleteReadError, LimitOverrunError};
pub use open_connection::{
    from_tcp, open_connection, open_connection_with_limit, open_unix_connection, open_unix_connection_with_limit,
};
pub use stream_reader::StreamReader;
pub use stream_writer::StreamWriter;
pub use transport::StreamAddr;

pub(crate) use connection::{Shared, DEFAULT_LIMIT};
pub(crate) use stream_writer::pair;
pub(crate) use transport::Transport;
