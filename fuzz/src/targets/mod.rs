//! The fuzz targets. Each draws its next input from a pool (seeds, then
//! the inputs it accepted) by mutation or generation, and runs it through
//! the code under test; a panic, a property violated, or an oracle breach
//! (memory, time; see `worker.rs`) is a finding.

pub mod cel;
pub mod graph;
pub mod schema;
pub mod template;

use std::fmt;

use clap::ValueEnum;

use crate::corpus::Corpus;
use crate::rng::Rng;

/// What running one input gave, when nothing went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The code under test refused the input with an error.
    Rejected,
    /// The input got through; it joins the pool.
    Accepted,
}

/// A property the code under test broke, in a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

/// What running one input gave.
pub type Outcome = Result<Verdict, Violation>;

/// One fuzz target.
pub trait Target {
    /// The next input to run.
    fn next_input(&mut self, rng: &mut Rng) -> String;
    /// Runs one input; panics are the caller's to catch.
    fn run(&self, input: &str) -> Outcome;
    /// Keeps an accepted input to mutate later.
    fn keep(&mut self, rng: &mut Rng, input: String);
}

/// The targets, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum TargetName {
    /// CEL: parse, check, estimate, plan, evaluate (checked and unchecked)
    /// with every library, and convert the result to JSON.
    Cel,
    /// `${...}` templates: scan, compile each expression, render within the
    /// result limit.
    Template,
    /// SimpleSchema: parse, convert to OpenAPI, sample, default, compare.
    Schema,
    /// The graph builder on whole RGDs.
    Graph,
}

impl TargetName {
    /// Every target, in the order a full run takes them.
    pub const ALL: [TargetName; 4] = [
        TargetName::Cel,
        TargetName::Template,
        TargetName::Schema,
        TargetName::Graph,
    ];

    /// The target, ready to run, seeded from `corpus`.
    pub fn build(self, corpus: &Corpus) -> anyhow::Result<Box<dyn Target>> {
        Ok(match self {
            TargetName::Cel => Box::new(cel::CelTarget::new(corpus)),
            TargetName::Template => Box::new(template::TemplateTarget::new(corpus)),
            TargetName::Schema => Box::new(schema::SchemaTarget::new(corpus)),
            TargetName::Graph => Box::new(graph::GraphTarget::new(corpus)?),
        })
    }
}

impl fmt::Display for TargetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            TargetName::Cel => "cel",
            TargetName::Template => "template",
            TargetName::Schema => "schema",
            TargetName::Graph => "graph",
        };
        f.write_str(name)
    }
}

/// Inputs to mutate: the seeds, then accepted inputs, at most
/// [`Pool::CAPACITY`] (a newcomer then replaces one at random).
#[derive(Debug, Default)]
pub struct Pool {
    items: Vec<String>,
}

impl Pool {
    /// The most inputs kept.
    pub const CAPACITY: usize = 4096;

    /// A pool of `seeds` (the first [`Pool::CAPACITY`]).
    pub fn new(seeds: Vec<String>) -> Self {
        let mut items = seeds;
        items.truncate(Self::CAPACITY);
        Self { items }
    }

    /// Keeps `item`.
    pub fn add(&mut self, rng: &mut Rng, item: String) {
        if self.items.len() < Self::CAPACITY {
            self.items.push(item);
        } else {
            let slot = rng.below(self.items.len());
            self.items[slot] = item;
        }
    }

    /// One input, if any.
    pub fn pick(&self, rng: &mut Rng) -> Option<&String> {
        rng.choose(&self.items)
    }

    /// Every input.
    pub fn items(&self) -> &[String] {
        &self.items
    }
}
