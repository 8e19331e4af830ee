//! `ravel_io::fs::File`: large contents through the async methods and the
//! futures-io (and Tokio) traits, checked byte for byte; the position is the
//! bytes returned, whatever was read ahead; write errors are reported.

mod common;

use common::{block, multi_thread};
use futures_util::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use ravel_io::fs::File;
use std::io::SeekFrom;
use std::path::PathBuf;

struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("ravel-io-file-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// 9 MiB + 3 (more than four 2 MiB pieces) written with `write_all` and
/// read back with `read_to_end` and with small reads.
#[test]
fn large_file_through_the_async_methods() {
    let tmp = TempFile::new("large");
    let path = tmp.0.clone();
    block(&multi_thread(), async move {
        let data = pattern(9 * 1024 * 1024 + 3);
        let mut file = File::create(&path).await?;
        file.write_all(&data).await?;
        file.flush().await?;
        assert_eq!(file.stream_position().await?, data.len() as u64);
        drop(file);
        assert!(std::fs::read(&path)? == data, "the file on disk differs");

        let mut file = File::open(&path).await?;
        let mut all = Vec::new();
        assert_eq!(file.read_to_end(&mut all).await?, data.len());
        assert!(all == data, "read_to_end differs");

        // Small reads: each returns from the read-ahead, in order.
        file.seek(SeekFrom::Start(0)).await?;
        let mut got = Vec::new();
        let mut chunk = [0u8; 4093];
        loop {
            let n = file.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            got.extend_from_slice(&chunk[..n]);
            if got.len() > 300_000 {
                break;
            }
        }
        assert_eq!(&got[..], &data[..got.len()]);
        assert_eq!(file.stream_position().await?, got.len() as u64);
        Ok(())
    });
}

/// The same through futures-io's extension traits.
#[test]
fn large_file_through_futures_io() {
    let tmp = TempFile::new("futures-io");
    let path = tmp.0.clone();
    block(&multi_thread(), async move {
        let data = pattern(5 * 1024 * 1024 + 11);
        let mut file = File::open_with(&path, std::fs::OpenOptions::new().read(true).write(true).create(true)).await?;
        AsyncWriteExt::write_all(&mut file, &data).await?;
        AsyncWriteExt::flush(&mut file).await?;
        assert_eq!(AsyncSeekExt::seek(&mut file, SeekFrom::Start(0)).await?, 0);
        let mut all = Vec::new();
        AsyncReadExt::read_to_end(&mut file, &mut all).await?;
        assert!(all == data, "read_to_end differs");
        assert_eq!(AsyncSeekExt::seek(&mut file, SeekFrom::End(-5)).await?, data.len() as u64 - 5);
        let mut tail = [0u8; 5];
        AsyncReadExt::read_exact(&mut file, &mut tail).await?;
        assert_eq!(&tail, &data[data.len() - 5..]);
        AsyncWriteExt::close(&mut file).await?;
        Ok(())
    });
}

/// Tokio's traits (feature `tokio-io`), no Tokio runtime.
#[cfg(feature = "tokio-io")]
#[test]
fn large_file_through_tokio_io() {
    let tmp = TempFile::new("tokio-io");
    let path = tmp.0.clone();
    block(&multi_thread(), async move {
        let data = pattern(3 * 1024 * 1024 + 1);
        let mut file = File::open_with(&path, std::fs::OpenOptions::new().read(true).write(true).create(true)).await?;
        tokio::io::AsyncWriteExt::write_all(&mut file, &data).await?;
        tokio::io::AsyncWriteExt::flush(&mut file).await?;
        assert_eq!(tokio::io::AsyncSeekExt::seek(&mut file, SeekFrom::Start(1)).await?, 1);
        let mut all = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut file, &mut all).await?;
        assert!(all == data[1..], "read_to_end differs");
        assert_eq!(tokio::io::AsyncSeekExt::stream_position(&mut file).await?, data.len() as u64);
        tokio::io::AsyncWriteExt::shutdown(&mut file).await?;
        Ok(())
    });
}

/// A read reads ahead; a write after it lands where the reads stopped,
/// not where the OS position was; `set_len` and `into_std` agree.
#[test]
fn writes_and_seeks_after_read_ahead_use_the_returned_position() {
    let tmp = TempFile::new("read-ahead");
    let path = tmp.0.clone();
    block(&multi_thread(), async move {
        std::fs::write(&path, b"0123456789")?;
        let mut file = File::open_with(&path, std::fs::OpenOptions::new().read(true).write(true)).await?;
        let mut two = [0u8; 2];
        file.read_exact(&mut two).await?; // the job read all 10 bytes ahead
        assert_eq!(&two, b"01");
        assert_eq!(file.stream_position().await?, 2);
        file.read_exact(&mut two).await?;
        assert_eq!(&two, b"23");
        file.write_all(b"ab").await?; // at 4
        file.flush().await?;
        assert_eq!(std::fs::read(&path)?, b"0123ab6789");
        file.seek(SeekFrom::Current(-3)).await?; // at 3
        file.read_exact(&mut two).await?;
        assert_eq!(&two, b"3a");
        file.seek(SeekFrom::Current(1)).await?; // at 6, past read-ahead
        file.read_exact(&mut two).await?;
        assert_eq!(&two, b"67");
        file.set_len(9).await?;
        assert_eq!(file.metadata().await?.len(), 9);
        let mut rest = Vec::new();
        file.read_to_end(&mut rest).await?;
        assert_eq!(rest, b"8", "the read-ahead past the new end was dropped");
        file.seek(SeekFrom::Start(1)).await?;
        file.read_exact(&mut two).await?; // reads ahead again
        let mut std = file.into_std().await?;
        let mut tail = String::new();
        std::io::Read::read_to_string(&mut std, &mut tail)?;
        assert_eq!(tail, "3ab678");
        Ok(())
    });
}

/// A write the OS refuses (a read-only handle) is accepted by `write`,
/// then reported by `flush`; the file stays usable for reads.
#[test]
fn a_failed_background_write_is_reported_by_the_next_call() {
    let tmp = TempFile::new("write-error");
    let path = tmp.0.clone();
    block(&multi_thread(), async move {
        std::fs::write(&path, b"data")?;
        let mut file = File::open(&path).await?; // read-only
        assert_eq!(file.write(b"xy").await?, 2, "a write is accepted, then runs");
        let err = file.flush().await.unwrap_err();
        assert_eq!(err.io_error().and_then(|e| e.raw_os_error()), Some(libc::EBADF));
        file.flush().await?; // reported once
        let mut all = Vec::new();
        file.read_to_end(&mut all).await?;
        assert_eq!(all, b"data");

        // Reported by the next write instead, when no flush came first.
        assert_eq!(file.write(b"z").await?, 1);
        let err = file.write(b"z").await.unwrap_err();
        assert_eq!(err.io_error().and_then(|e| e.raw_os_error()), Some(libc::EBADF));
        Ok(())
    });
}
