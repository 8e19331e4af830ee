//! Files on Ravel's blocking pool (asyncio: `loop.run_in_executor(None,
//! ...)` / `asyncio.to_thread` around the file calls; Tokio: `tokio::fs`).
//!
//! Every call runs `std::fs` on the pool behind [`ravel::to_thread`], in a
//! copy of the caller's context (its [`ravel::ContextVar`] values), and is
//! a cancellable Ravel await.
//!
//! # What a cancelled call has done
//!
//! | call | cancelled while queued | cancelled while running |
//! |---|---|---|
//! | [`read`], [`read_to_string`], [`metadata`], [`read_dir`], [`File::open`] | skipped | finishes; the result is dropped |
//! | [`write`](write()) | skipped: the file is untouched (not created, not truncated) | finishes: the file holds all of the contents (or what a failing write left) |
//! | [`copy`], [`rename`], [`remove_file`], [`create_dir_all`], [`File::create`] | skipped | finishes: done |
//! | [`File`]'s methods | the job runs anyway (it belongs to the `File`); the next call waits for it | finishes; the next call sees its outcome (read bytes stay buffered, a write error is returned) |
//! | [`ReadDir::next_entry`] | the batch is read anyway; no entry is lost | as queued |
//!
//! The free functions follow `to_thread`'s rule. A [`File`] or
//! [`ReadDir`] owns its job (as Tokio's do), so that a cancelled read loses
//! no bytes and a cancelled write is never half-remembered: see [`File`].

mod file;
mod job;
mod ops;
mod read_dir;

pub use file::File;
pub use ops::{copy, create_dir_all, metadata, read, read_to_string, remove_file, rename, write};
pub use read_dir::{read_dir, ReadDir};
