//! Owned halves of a [`TcpStream`], for a reader task and a writer task.

use super::stream_macros::owned_halves;
use super::tcp::TcpStream;

owned_halves! {
    stream: TcpStream,
    addr: std::net::SocketAddr,
    what: "TCP",
    read_doc: {},
    write_doc: {},
}

impl OwnedReadHalf {
    /// [`TcpStream::peek`]: the bytes stay for the next read.
    pub async fn peek(&self, buf: &mut [u8]) -> ravel::Result<usize> {
        self.stream.peek(buf).await
    }
}
