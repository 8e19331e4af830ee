//! Sockets and streams on Ravel's reactor.
//!
//! This crate is a placeholder: networking lands in a later issue. It exists
//! now so that the workspace has its final shape.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
