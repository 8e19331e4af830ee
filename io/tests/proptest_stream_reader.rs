//! `StreamReader`'s `readuntil`, `readexactly`, `readline` and `read(n)`
//! against a model, under random chunkings of the same bytes: a feeder task
//! hands the reader the bytes in random chunks (`feed_data`, what the
//! transport does), yielding a random number of times in between, then
//! `feed_eof`; a reader runs a random sequence of reads on it. Every read
//! except `read(n)` must give what the model gives on the whole input; a
//! `read(n)` gives a non-empty prefix (at most `n` bytes) of what the model
//! has left, empty only at the end. At the end what was read plus what is
//! left is the input: no byte lost, none twice, the order kept.

use proptest::prelude::*;
use ravel::Builder;
use ravel_io::streams::{IncompleteReadError, StreamReader};
use std::sync::Arc;

const SEPARATORS: [&[u8]; 3] = [b"\n", b"ab", b"b\na"];

#[derive(Debug, Clone)]
enum Read {
    Until(usize),
    Exactly(usize),
    Line,
    Up(usize),
}

fn read_op() -> impl Strategy<Value = Read> {
    prop_oneof![
        (0..SEPARATORS.len()).prop_map(Read::Until),
        (0usize..24).prop_map(Read::Exactly),
        Just(Read::Line),
        (0usize..24).prop_map(Read::Up),
    ]
}

/// The input (a small alphabet, so separators are common), the chunk
/// lengths it is fed in, the yields after each chunk, and the reads.
fn case() -> impl Strategy<Value = (Vec<u8>, Vec<usize>, Vec<u8>, Vec<Read>, bool)> {
    let bytes = proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'\n'), Just(b'x')], 0..200);
    (
        bytes,
        proptest::collection::vec(1usize..40, 1..40),
        proptest::collection::vec(0u8..3, 1..40),
        proptest::collection::vec(read_op(), 0..40),
        any::<bool>(),
    )
}

/// What a read gives: bytes, or the partial bytes of an incomplete read.
#[derive(Debug, PartialEq)]
enum Got {
    Bytes(Vec<u8>),
    Incomplete { partial: Vec<u8>, expected: Option<usize> },
}

/// asyncio's StreamReader on the whole input, already at EOF.
struct Model {
    rest: Vec<u8>,
}

impl Model {
    fn take(&mut self, n: usize) -> Vec<u8> {
        self.rest.drain(..n).collect()
    }

    fn until(&mut self, sep: &[u8]) -> Got {
        match self.rest.windows(sep.len()).position(|w| w == sep) {
            Some(at) => Got::Bytes(self.take(at + sep.len())),
            None => Got::Incomplete { partial: self.take(self.rest.len()), expected: None },
        }
    }

    fn exactly(&mut self, n: usize) -> Got {
        if self.rest.len() >= n {
            Got::Bytes(self.take(n))
        } else {
            Got::Incomplete { partial: self.take(self.rest.len()), expected: Some(n) }
        }
    }

    fn line(&mut self) -> Got {
        match self.until(b"\n") {
            Got::Incomplete { partial, .. } => Got::Bytes(partial),
            got => got,
        }
    }
}

fn got(result: ravel::Result<Vec<u8>>) -> Result<Got, TestCaseError> {
    match result {
        Ok(bytes) => Ok(Got::Bytes(bytes)),
        Err(e) => match e.downcast_ref::<IncompleteReadError>() {
            Some(i) => Ok(Got::Incomplete { partial: i.partial.clone(), expected: i.expected }),
            None => Err(TestCaseError::fail(format!("unexpected error: {e}"))),
        },
    }
}

async fn feed(reader: Arc<StreamReader>, input: Vec<u8>, chunks: Vec<usize>, yields: Vec<u8>) -> ravel::Result<()> {
    let mut at = 0;
    let mut i = 0;
    while at < input.len() {
        let len = chunks[i % chunks.len()].min(input.len() - at);
        reader.feed_data(&input[at..at + len]);
        at += len;
        for _ in 0..yields[i % yields.len()] {
            ravel::yield_now().await?;
        }
        i += 1;
    }
    reader.feed_eof();
    Ok(())
}

async fn reads(reader: &StreamReader, input: &[u8], ops: Vec<Read>) -> Result<(), TestCaseError> {
    let mut model = Model { rest: input.to_vec() };
    let mut seen = Vec::new();
    for (i, op) in ops.into_iter().enumerate() {
        let (actual, expected) = match op {
            Read::Until(s) => (got(reader.readuntil(SEPARATORS[s]).await)?, model.until(SEPARATORS[s])),
            Read::Exactly(n) => (got(reader.readexactly(n).await)?, model.exactly(n)),
            Read::Line => (got(reader.readline().await)?, model.line()),
            Read::Up(n) => {
                let bytes = reader.read(n).await.map_err(|e| TestCaseError::fail(format!("read({n}): {e}")))?;
                // Chunk-dependent: any non-empty prefix of what is left, at
                // most n; empty only for n == 0 or at the end.
                let max = n.min(model.rest.len());
                prop_assert!(
                    bytes.len() <= max,
                    "op {}: read({}) gave {} bytes, {} left",
                    i,
                    n,
                    bytes.len(),
                    model.rest.len()
                );
                prop_assert!(!bytes.is_empty() || max == 0, "op {}: read({}) gave nothing with {} left", i, n, max);
                let expected = model.take(bytes.len());
                (Got::Bytes(bytes), Got::Bytes(expected))
            }
        };
        prop_assert_eq!(&actual, &expected, "op {}", i);
        match actual {
            Got::Bytes(b) | Got::Incomplete { partial: b, .. } => seen.extend(b),
        }
    }
    // The rest, after EOF: nothing lost or repeated.
    let rest = reader.read_to_end().await.map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&rest, &model.rest);
    seen.extend(rest);
    prop_assert_eq!(seen, input.to_vec());
    prop_assert!(reader.at_eof());
    Ok(())
}

fn check(
    input: Vec<u8>,
    chunks: Vec<usize>,
    yields: Vec<u8>,
    ops: Vec<Read>,
    multi: bool,
) -> Result<(), TestCaseError> {
    let rt = if multi {
        Builder::new_multi_thread().worker_threads(2).build()
    } else {
        Builder::new_current_thread().build()
    }
    .expect("runtime");
    let reader = Arc::new(StreamReader::new());
    let outcome = rt.block_on(async move {
        let feeder = ravel::spawn(feed(reader.clone(), input.clone(), chunks, yields));
        let checked = reads(&reader, &input, ops).await;
        feeder.await?;
        Ok(checked)
    });
    outcome.map_err(|e| TestCaseError::fail(format!("the root failed: {e}")))?
}

proptest! {
    // 256 cases, each a few hundred bytes: about a second in debug.
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn reads_match_the_model_under_any_chunking((input, chunks, yields, ops, multi) in case()) {
        check(input, chunks, yields, ops, multi)?;
    }
}
