//! Compile-time behaviour of `model!`: specs that must compile (and run), and specs or
//! uses that must be rejected with a message pointing at the offending token.
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p staticnn-ui-tests`,
//! then read every changed `.stderr` before committing it.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("pass/*.rs");
    t.compile_fail("fail/*.rs");
}
