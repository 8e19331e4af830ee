//! A client for `echo_server`: sends a message `--count` times over one
//! connection (asyncio `open_connection`), checks each echo, and prints
//! the round-trip times.
//!
//!     cargo run --release --example echo_client -- --addr 127.0.0.1:7878 --count 1000 hello

use ravel_io::open_connection;
use std::time::{Duration, Instant};

fn main() -> ravel::Result<()> {
    let mut addr = String::from("127.0.0.1:7878");
    let mut count = 10usize;
    let mut message = String::from("hello, echo");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().ok_or_else(|| ravel::Error::msg("--addr needs a value"))?,
            "--count" => count = args.next().ok_or_else(|| ravel::Error::msg("--count needs a number"))?.parse()?,
            other => message = other.to_string(),
        }
    }
    ravel::run(async move {
        let (reader, writer) = ravel::timeout(Duration::from_secs(5), open_connection(&addr)).await?;
        let line = format!("{message}\n");
        let mut times = Vec::with_capacity(count);
        for _ in 0..count {
            let start = Instant::now();
            writer.write(line.as_bytes())?;
            writer.drain().await?;
            let echo = reader.readexactly(line.len()).await?;
            times.push(start.elapsed());
            if echo != line.as_bytes() {
                return Err(ravel::Error::msg(format!("bad echo: {:?}", String::from_utf8_lossy(&echo))));
            }
        }
        writer.write_eof(); // half-close: the server sees end of stream and closes
        let rest = reader.read_to_end().await?;
        assert!(rest.is_empty(), "the server sent more than the echoes");
        times.sort();
        println!(
            "{count} echoes of {} bytes from {addr}: median {:?}, max {:?}",
            line.len(),
            times[times.len() / 2],
            times[times.len() - 1]
        );
        Ok(())
    })
}
