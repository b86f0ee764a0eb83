//! Compile tests (trybuild): correct uses build and run, each misuse fails with the message
//! and span committed in `ui/fail/*.stderr` (regenerate with `TRYBUILD=overwrite`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
