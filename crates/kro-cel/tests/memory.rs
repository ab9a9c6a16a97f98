//! The expressions of `limits.rs` that used to allocate gigabytes, run in
//! a process of their own: its peak memory (`VmHWM`) must stay far below
//! what they asked for. Linux only (it reads `/proc/self/status`).

#![cfg(target_os = "linux")]

use kro_cel::result_json::to_template_json;
use kro_cel::{Env, KroOptions};

/// The process's peak resident memory, in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

fn doubled(body: &str) -> String {
    let mut src = format!("cel.bind(s14, s13 + s13, {body})");
    for i in (1..14).rev() {
        src = format!("cel.bind(s{i}, s{} + s{}, {src})", i - 1, i - 1);
    }
    format!("cel.bind(s0, '{}', {src})", "x".repeat(100))
}

#[test]
fn refused_expressions_do_not_grow_the_process() {
    let env = Env::kro_with(KroOptions { omit: true });
    let before = peak_kib();
    for src in [
        doubled("lists.range(2000).map(i, s14).join()"),
        doubled("json.marshal(lists.range(2000).map(i, s14))"),
        doubled("'%s'.format([lists.range(2000).map(i, s14)])"),
        format!("[{}].size()", vec!["lists.range(1000000)"; 22].join(", ")),
        "lists.range(1000000).distinct().size()".to_string(),
    ] {
        let out = env.compile_kro(&src).expect("compiles").eval(&[]);
        assert!(out.is_err(), "{src}");
    }
    let shared = env
        .compile_kro(&doubled("lists.range(2000).map(i, s14)"))
        .expect("compiles")
        .eval(&[])
        .expect("a list of references is cheap");
    assert!(to_template_json(&shared).is_err());
    let grown_mib = (peak_kib().saturating_sub(before)) / 1024;
    eprintln!("peak resident memory grew by {grown_mib} MiB");
    // The budget allows about 16 MiB of values and the limits 3 MiB
    // strings: everything above is a leak of the model.
    assert!(grown_mib < 64, "peak grew by {grown_mib} MiB");
}
