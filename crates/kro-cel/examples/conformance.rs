//! Runs the CEL conformance suite: `cargo run --release -p kro-cel --example conformance`.
//!
//! Lists every failing and every skipped (out-of-scope) test, the pass rate per
//! file, and ends with `conformance: PASSED/TOTAL passed (PERCENT%)`.
//! Options: `--quiet` prints only the count of skipped tests, `--file NAME` runs one file.

#[path = "../conformance/runner.rs"]
mod runner;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = !args.iter().any(|a| a == "--quiet");
    let only = args
        .iter()
        .position(|a| a == "--file")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str);
    let dir = runner::data_dir();
    match runner::run(&dir, only) {
        Some(report) => print!("{}", report.render(verbose)),
        None => println!(
            "conformance: skipped, data folder {} is absent",
            dir.display()
        ),
    }
}
