//! The free functions of [`ravel_io::fs`](super): one `std::fs` call each,
//! run on Ravel's blocking pool with [`ravel::to_thread`].
//!
//! Each is a cancellable Ravel await with `to_thread`'s rule: a call whose
//! job is still queued when the caller is cancelled is skipped (it did
//! nothing); one that has started runs to the end on its thread and its
//! result is dropped. The closure sees the caller's context variables.

use std::fs::Metadata;
use std::path::{Path, PathBuf};

/// Runs `f` on the blocking pool and makes its `io::Error` a Ravel error.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> ravel::Result<T> {
    ravel::to_thread(move || f().map_err(ravel::Error::from)).await
}

fn owned(path: impl AsRef<Path>) -> PathBuf {
    path.as_ref().to_owned()
}

/// Reads the whole file at `path` (`std::fs::read`).
///
/// Cancelled: a queued read is skipped; a started one finishes and its
/// bytes are dropped. The file is never changed.
///
/// ```
/// ravel::run(async {
///     let path = std::env::temp_dir().join(format!("ravel-doc-read-{}", std::process::id()));
///     ravel_io::fs::write(&path, b"bytes").await?;
///     assert_eq!(ravel_io::fs::read(&path).await?, b"bytes");
///     ravel_io::fs::remove_file(&path).await?;
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn read(path: impl AsRef<Path>) -> ravel::Result<Vec<u8>> {
    let path = owned(path);
    blocking(move || std::fs::read(path)).await
}

/// Reads the whole file at `path` as UTF-8 (`std::fs::read_to_string`); an
/// I/O error of kind `InvalidData` if it is not UTF-8. Cancelled: as
/// [`read`].
///
/// ```
/// ravel::run(async {
///     let path = std::env::temp_dir().join(format!("ravel-doc-read-string-{}", std::process::id()));
///     ravel_io::fs::write(&path, "text").await?;
///     assert_eq!(ravel_io::fs::read_to_string(&path).await?, "text");
///     ravel_io::fs::remove_file(&path).await?;
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn read_to_string(path: impl AsRef<Path>) -> ravel::Result<String> {
    let path = owned(path);
    blocking(move || std::fs::read_to_string(path)).await
}

/// Creates or truncates the file at `path` and writes all of `contents`
/// (`std::fs::write`).
///
/// Cancelled: a queued write is skipped (the file is untouched: not
/// created, not truncated); a started one runs to the end on its thread
/// (the file then holds all of `contents`, or what the failing write left).
///
/// ```
/// ravel::run(async {
///     let path = std::env::temp_dir().join(format!("ravel-doc-write-{}", std::process::id()));
///     ravel_io::fs::write(&path, vec![7u8; 3]).await?;
///     assert_eq!(std::fs::read(&path)?, [7, 7, 7]);
///     ravel_io::fs::remove_file(&path).await?;
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> ravel::Result<()> {
    let path = owned(path);
    let contents = contents.as_ref().to_owned();
    blocking(move || std::fs::write(path, contents)).await
}

/// Copies the contents and permissions of `from` to `to`, returning the
/// number of bytes copied (`std::fs::copy`). Cancelled: a queued copy is
/// skipped; a started one completes.
///
/// ```
/// ravel::run(async {
///     let dir = std::env::temp_dir();
///     let (a, b) = (dir.join(format!("ravel-doc-copy-a-{}", std::process::id())), dir.join(format!("ravel-doc-copy-b-{}", std::process::id())));
///     ravel_io::fs::write(&a, b"abc").await?;
///     assert_eq!(ravel_io::fs::copy(&a, &b).await?, 3);
///     assert_eq!(ravel_io::fs::read(&b).await?, b"abc");
///     ravel_io::fs::remove_file(&a).await?;
///     ravel_io::fs::remove_file(&b).await?;
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> ravel::Result<u64> {
    let (from, to) = (owned(from), owned(to));
    blocking(move || std::fs::copy(from, to)).await
}

/// Renames `from` to `to`, replacing `to` if it exists (`std::fs::rename`,
/// atomic on one file system). Cancelled: a queued rename is skipped; a
/// started one completes (a rename is one syscall: it happened or not).
///
/// ```
/// ravel::run(async {
///     let dir = std::env::temp_dir();
///     let (a, b) = (dir.join(format!("ravel-doc-rename-a-{}", std::process::id())), dir.join(format!("ravel-doc-rename-b-{}", std::process::id())));
///     ravel_io::fs::write(&a, b"x").await?;
///     ravel_io::fs::rename(&a, &b).await?;
///     assert!(!a.exists());
///     ravel_io::fs::remove_file(&b).await?;
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> ravel::Result<()> {
    let (from, to) = (owned(from), owned(to));
    blocking(move || std::fs::rename(from, to)).await
}

/// Removes the file at `path` (`std::fs::remove_file`); an I/O error of
/// kind `NotFound` if there is none. Cancelled: a queued removal is
/// skipped; a started one completes.
///
/// ```
/// ravel::run(async {
///     let path = std::env::temp_dir().join(format!("ravel-doc-remove-{}", std::process::id()));
///     ravel_io::fs::write(&path, b"").await?;
///     ravel_io::fs::remove_file(&path).await?;
///     let again = ravel_io::fs::remove_file(&path).await.unwrap_err();
///     assert_eq!(again.io_error().map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn remove_file(path: impl AsRef<Path>) -> ravel::Result<()> {
    let path = owned(path);
    blocking(move || std::fs::remove_file(path)).await
}

/// Creates the directory at `path` and any missing parents
/// (`std::fs::create_dir_all`; `Ok` if it exists). Cancelled: a queued
/// call is skipped; a started one completes (the directories it made stay).
///
/// ```
/// ravel::run(async {
///     let root = std::env::temp_dir().join(format!("ravel-doc-mkdir-{}", std::process::id()));
///     ravel_io::fs::create_dir_all(root.join("a/b")).await?;
///     assert!(root.join("a/b").is_dir());
///     std::fs::remove_dir_all(&root)?;
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn create_dir_all(path: impl AsRef<Path>) -> ravel::Result<()> {
    let path = owned(path);
    blocking(move || std::fs::create_dir_all(path)).await
}

/// The metadata of `path`, following symbolic links (`std::fs::metadata`).
/// Cancelled: a queued call is skipped; nothing is changed either way.
///
/// ```
/// ravel::run(async {
///     let path = std::env::temp_dir().join(format!("ravel-doc-metadata-{}", std::process::id()));
///     ravel_io::fs::write(&path, b"four").await?;
///     let meta = ravel_io::fs::metadata(&path).await?;
///     assert!(meta.is_file());
///     assert_eq!(meta.len(), 4);
///     ravel_io::fs::remove_file(&path).await?;
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn metadata(path: impl AsRef<Path>) -> ravel::Result<Metadata> {
    let path = owned(path);
    blocking(move || std::fs::metadata(path)).await
}
