//! What `#[ravel::main]` and `#[ravel::test]` (crate `ravel-macros`)
//! expand to: build the runtime their options describe and run the body
//! as `Runtime::run` runs a main task. Not a public API.

use crate::error::Result;
use crate::runtime::Builder;
use std::future::Future;

/// A runtime for the attribute, or a panic saying why there is none.
fn build(builder: Builder) -> crate::Runtime {
    builder.build().unwrap_or_else(|e| panic!("failed to build the Ravel runtime: {e}"))
}

/// The multi-thread flavour: `main` must be `Send`.
#[track_caller]
pub fn run<F, T>(builder: Builder, main: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    build(builder).run(main)
}

/// The current-thread flavour: `main` need not be `Send`.
#[track_caller]
pub fn run_local<F, T>(builder: Builder, main: F) -> Result<T>
where
    F: Future<Output = Result<T>> + 'static,
    T: 'static,
{
    build(builder).run_local(main)
}

/// The end of a `main` returning `()`: an error (Ctrl-C, or a
/// cancellation of main) ends the process as a `main` returning that
/// error would (`Error: ...` on stderr, exit status 1).
pub fn finish_main(out: Result<()>) {
    if let Err(e) = out {
        eprintln!("Error: {e:?}");
        std::process::exit(1);
    }
}

/// The end of a test returning `()`: an error fails the test.
pub fn finish_test(out: Result<()>) {
    if let Err(e) = out {
        panic!("the test's main task ended with an error: {e:?}");
    }
}
