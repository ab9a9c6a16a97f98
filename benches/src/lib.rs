//! Criterion benchmarks of kro's core: schema conversion, CEL compilation
//! and evaluation, and graph building. Run them with `cargo bench`; each
//! bench target under `benches/` measures one crate's hot path on a
//! deterministic input.
