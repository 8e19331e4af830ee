//! `ravel_io::fs`'s free functions and `read_dir`: large contents round
//! trip byte for byte, and each call does what its std counterpart does.

mod common;

use common::{block, multi_thread};
use futures_util::StreamExt;
use ravel_io::fs;
use std::io::ErrorKind;
use std::path::PathBuf;

/// A fresh directory under the temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("ravel-io-fs-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Bytes that differ at every offset mod 251 (a prime), so a shifted or
/// truncated copy shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn kind(e: &ravel::Error) -> Option<ErrorKind> {
    e.io_error().map(|e| e.kind())
}

#[test]
fn large_write_then_read_round_trips_every_byte() {
    let dir = TempDir::new("large");
    let path = dir.0.join("big");
    block(&multi_thread(), async move {
        let data = pattern(24 * 1024 * 1024 + 7);
        fs::write(&path, &data).await?;
        assert_eq!(std::fs::metadata(&path)?.len(), data.len() as u64);
        let back = fs::read(&path).await?;
        assert!(back == data, "read gave back different bytes");
        Ok(())
    });
}

#[test]
fn each_call_does_what_std_does() {
    let dir = TempDir::new("ops");
    let root = dir.0.clone();
    block(&multi_thread(), async move {
        let nested = root.join("a/b/c");
        fs::create_dir_all(&nested).await?;
        fs::create_dir_all(&nested).await?; // exists: Ok
        assert!(nested.is_dir());

        let text = nested.join("text");
        fs::write(&text, "héllo").await?;
        assert_eq!(fs::read_to_string(&text).await?, "héllo");
        fs::write(&text, [0xff, 0xfe]).await?; // truncates, then not UTF-8
        assert_eq!(kind(&fs::read_to_string(&text).await.unwrap_err()), Some(ErrorKind::InvalidData));

        let copy = root.join("copy");
        assert_eq!(fs::copy(&text, &copy).await?, 2);
        assert_eq!(std::fs::read(&copy)?, [0xff, 0xfe]);

        let moved = root.join("moved");
        fs::rename(&copy, &moved).await?;
        assert!(!copy.exists());
        assert_eq!(std::fs::read(&moved)?, [0xff, 0xfe]);

        let meta = fs::metadata(&moved).await?;
        assert!(meta.is_file());
        assert_eq!(meta.len(), 2);
        assert!(fs::metadata(&root).await?.is_dir());

        fs::remove_file(&moved).await?;
        assert_eq!(kind(&fs::remove_file(&moved).await.unwrap_err()), Some(ErrorKind::NotFound));
        assert_eq!(kind(&fs::read(&moved).await.unwrap_err()), Some(ErrorKind::NotFound));
        assert_eq!(kind(&fs::metadata(&moved).await.unwrap_err()), Some(ErrorKind::NotFound));
        assert_eq!(kind(&fs::rename(&moved, &copy).await.unwrap_err()), Some(ErrorKind::NotFound));
        assert_eq!(kind(&fs::copy(&moved, &copy).await.unwrap_err()), Some(ErrorKind::NotFound));
        Ok(())
    });
}

/// More entries than one batch (32), through both the `Stream` and
/// `next_entry`; every name once.
#[test]
fn read_dir_yields_every_entry_once() {
    let dir = TempDir::new("read-dir");
    let root = dir.0.clone();
    block(&multi_thread(), async move {
        for i in 0..100 {
            fs::write(root.join(format!("f{i:03}")), [i as u8]).await?;
        }
        let mut names = Vec::new();
        let mut entries = fs::read_dir(&root).await?;
        while let Some(entry) = entries.next().await {
            names.push(entry?.file_name().into_string().unwrap());
        }
        assert!(entries.next().await.is_none(), "a finished ReadDir stays finished");
        names.sort();
        let want: Vec<String> = (0..100).map(|i| format!("f{i:03}")).collect();
        assert_eq!(names, want);

        let mut entries = fs::read_dir(&root).await?;
        let mut count = 0;
        while let Some(entry) = entries.next_entry().await? {
            assert!(entry.path().starts_with(&root));
            count += 1;
        }
        assert_eq!(count, 100);
        assert!(entries.next_entry().await?.is_none());
        assert_eq!(kind(&fs::read_dir(root.join("missing")).await.unwrap_err()), Some(ErrorKind::NotFound));
        Ok(())
    });
}
