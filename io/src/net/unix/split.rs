//! Owned halves of a [`UnixStream`], for a reader task and a writer task.

use super::stream::UnixStream;
use crate::net::stream_macros::owned_halves;

owned_halves! {
    stream: UnixStream,
    addr: std::os::unix::net::SocketAddr,
    what: "Unix",
    read_doc: {
        ///
        /// ```
        /// use ravel_io::net::UnixStream;
        ///
        /// ravel::run(async {
        ///     let (a, b) = UnixStream::pair()?;
        ///     let (read, write) = a.into_split();
        ///     write.write_all(b"to b").await?;
        ///     drop(write); // shuts down a's writing side: b reads end of stream
        ///     let mut buf = Vec::new();
        ///     let mut chunk = [0u8; 8];
        ///     loop {
        ///         let n = b.read(&mut chunk).await?;
        ///         if n == 0 {
        ///             break;
        ///         }
        ///         buf.extend_from_slice(&chunk[..n]);
        ///     }
        ///     assert_eq!(buf, b"to b");
        ///     b.write_all(b"reply").await?;
        ///     let mut reply = [0u8; 5];
        ///     read.read_exact(&mut reply).await?;
        ///     assert_eq!(&reply, b"reply");
        ///     Ok(())
        /// })
        /// .unwrap();
        /// ```
    },
    write_doc: {
        ///
        /// ```
        /// use ravel_io::net::UnixStream;
        ///
        /// ravel::run(async {
        ///     let (a, b) = UnixStream::pair()?;
        ///     let (_read, write) = a.into_split();
        ///     let writer = ravel::spawn(async move { write.write_all(b"from a task").await });
        ///     let mut buf = [0u8; 11];
        ///     b.read_exact(&mut buf).await?;
        ///     assert_eq!(&buf, b"from a task");
        ///     writer.await
        /// })
        /// .unwrap();
        /// ```
    },
}
