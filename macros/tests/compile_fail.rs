//! Misuse of `#[ravel::main]` and `#[ravel::test]` fails to compile with a
//! message that says what to change (the expected messages are the
//! `ui/*.stderr` files; regenerate them with `TRYBUILD=overwrite`).

#[test]
fn misuse_is_a_compile_error_with_a_clear_message() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
