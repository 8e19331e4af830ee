//! "A client no one here wrote": CPython's own asyncio `open_connection`
//! drives a Ravel `start_server` uppercase server (lines, a 200 KB line,
//! a line split across writes, half-close, EOF). Skipped, with a printed
//! reason, only when `python3` is not installed.

mod common;

use ravel_io::{start_server_with, ServerConfig};
use std::process::Command;

#[test]
fn cpython_asyncio_client_against_start_server() {
    if Command::new("python3").arg("--version").output().is_err() {
        println!("skipped: python3 is not installed");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/uppercase_client.py");
    let rt = common::multi_thread();
    let stdout = common::block(&rt, async move {
        let config = ServerConfig { limit: 1024 * 1024, ..Default::default() };
        let server = start_server_with(
            |reader, writer| async move {
                loop {
                    let line = reader.readline().await?;
                    if line.is_empty() {
                        writer.write(b"BYE\n")?;
                        writer.close();
                        return writer.wait_closed().await;
                    }
                    writer.write(&line.to_ascii_uppercase())?;
                    writer.drain().await?;
                }
            },
            "127.0.0.1:0",
            config,
        )
        .await?;
        let port = server.sockets()[0].as_inet().unwrap().port();
        let out = ravel::to_thread(move || {
            Command::new("python3")
                .arg(script)
                .arg("127.0.0.1")
                .arg(port.to_string())
                .output()
                .map_err(ravel::Error::from)
        })
        .await?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "python failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        server.close();
        server.wait_closed().await?;
        Ok(stdout)
    });
    assert_eq!(
        stdout,
        "reply b'HELLO\\n'\n\
         reply b'RAVEL STREAMS\\n'\n\
         big 200001 True\n\
         reply b'SPLIT LINE\\n'\n\
         after eof b'BYE\\n'\n\
         at_eof True\n\
         done\n"
    );
}
