//! Ratchet: the conformance pass count may only go up. Raise `RECORDED` when
//! the runner reports more (`cargo run --release -p kro-cel --example conformance`).
//!
//! The data lives outside the repository (see `runner::data_dir`). A plain
//! `cargo test` without it skips this test; `cargo xtask test` sets
//! `KRO_REQUIRE_CONFORMANCE=1`, and then missing data fails it, so that the
//! ratchet guards something wherever the full suite runs.

#[path = "../conformance/runner.rs"]
#[allow(dead_code)]
mod runner;

/// Tests of the in-scope set passing when this figure was last recorded.
const RECORDED: usize = 1445;

/// Set to `1` (by `cargo xtask test`) when missing data is a failure.
const REQUIRE: &str = "KRO_REQUIRE_CONFORMANCE";

#[test]
fn conformance_does_not_regress() {
    let dir = runner::data_dir();
    let Some(report) = runner::run(&dir, None) else {
        assert!(
            std::env::var(REQUIRE).as_deref() != Ok("1"),
            "conformance data not found at {} and {REQUIRE}=1: put the data there \
             or point KRO_CEL_CONFORMANCE_DIR at it",
            dir.display()
        );
        eprintln!("conformance data not found at {}: skipped", dir.display());
        return;
    };
    let passed = report.passed();
    assert!(
        passed >= RECORDED,
        "conformance regressed: {passed} passed, recorded {RECORDED}\n{}",
        report.render(false)
    );
}
