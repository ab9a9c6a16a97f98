//! `cargo xtask cycles`: import cycles between the modules of each crate.
//!
//! A module is one file. An edge `a -> b` is recorded when `a`'s non-test
//! code names a path into `b` (`use crate::b::..`, `use super::..`, or an
//! inline `crate::b::item`), resolved to the deepest module the path reaches.
//! A child naming items of a module that contains it (`use super::Item`) is
//! the ordinary Rust shape and is not an edge; every other reference is. A
//! cycle is a strongly connected component of more than one module. Tests
//! (`tests.rs` files and everything after a top-level `#[cfg(test)]`) are
//! left out: they may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::tools::workspace_root;

/// A module's path inside its crate, e.g. `["reconcile", "walk"]`.
type ModulePath = Vec<String>;

/// Checks every crate of the workspace; fails listing the cycles found.
pub fn run() -> Result<()> {
    let root = workspace_root();
    let mut sources = vec![root.join("xtask/src"), root.join("benches/src")];
    for entry in fs::read_dir(root.join("crates")).context("reading crates/")? {
        sources.push(entry?.path().join("src"));
    }
    sources.sort();
    let mut found = Vec::new();
    for source in sources.iter().filter(|dir| dir.is_dir()) {
        let modules = read_modules(source)?;
        for cycle in cycles(&edges(&modules)) {
            let names: Vec<String> = cycle.iter().map(|module| name(module)).collect();
            let crate_source = source.strip_prefix(&root).unwrap_or(source);
            found.push(format!("{}: {}", crate_source.display(), names.join(", ")));
        }
    }
    if !found.is_empty() {
        bail!("import cycles between modules:\n  {}", found.join("\n  "));
    }
    println!("no import cycle inside any crate");
    Ok(())
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

/// Every module of the crate rooted at `source`, with its non-test code.
fn read_modules(source: &Path) -> Result<BTreeMap<ModulePath, String>> {
    let mut files = Vec::new();
    collect_files(source, &mut files)?;
    let mut modules = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(source)?.with_extension("");
        let mut path: ModulePath = relative
            .iter()
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        let last = path.last().map(String::as_str);
        if last == Some("mod") || (path.len() == 1 && matches!(last, Some("lib" | "main"))) {
            path.pop();
        }
        if path.last().map(String::as_str) == Some("tests") {
            continue;
        }
        let text =
            fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        modules.insert(path, code_of(&text));
    }
    Ok(modules)
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// The non-test code of a file, without comments (paths named in docs are
/// not imports).
fn code_of(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        code.push_str(line.split("//").next().unwrap_or(""));
        code.push('\n');
    }
    code
}

/// The edges between the modules, as defined in the module docs.
fn edges(modules: &BTreeMap<ModulePath, String>) -> BTreeMap<ModulePath, BTreeSet<ModulePath>> {
    let mut edges = BTreeMap::new();
    for (module, code) in modules {
        let mut targets = BTreeSet::new();
        for path in use_paths(code).into_iter().chain(inline_paths(code)) {
            let Some(target) = resolve(modules, module, &path) else {
                continue;
            };
            let is_ancestor = module.starts_with(&target);
            if !is_ancestor {
                targets.insert(target);
            }
        }
        edges.insert(module.clone(), targets);
    }
    edges
}

/// The paths of every `use` declaration, with `a::{b, c::{d}}` expanded.
fn use_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let word_start = at == 0 || !is_ident(rest[..at].chars().next_back().unwrap_or(' '));
        let after = &rest[at + 4..];
        let Some(end) = after.find(';') else { break };
        if word_start {
            let words: Vec<&str> = after[..end].split_whitespace().collect();
            let body = words
                .join(" ")
                .replace(", ", ",")
                .replace("{ ", "{")
                .replace(" }", "}")
                .replace(",}", "}");
            expand(String::new(), &body, &mut paths);
        }
        rest = &after[end..];
    }
    paths
}

fn expand(prefix: String, body: &str, out: &mut Vec<String>) {
    let mut depth = 0;
    let mut start = 0;
    let mut parts = Vec::new();
    for (index, ch) in body.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&body[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    for part in parts.into_iter().filter(|part| !part.is_empty()) {
        match part.split_once('{') {
            Some((head, tail)) => {
                let inner = tail.strip_suffix('}').unwrap_or(tail);
                expand(format!("{prefix}{head}"), inner, out);
            }
            None => out.push(format!("{prefix}{part}")),
        }
    }
}

/// `crate::a::b` and `super::a` paths written inline in the code.
fn inline_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for anchor in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(anchor) {
            let before = rest[..at].chars().next_back().unwrap_or(' ');
            let tail = &rest[at..];
            let length = tail
                .find(|c: char| !(is_ident(c) || c == ':'))
                .unwrap_or(tail.len());
            if !is_ident(before) && before != ':' {
                paths.push(tail[..length].trim_end_matches(':').to_owned());
            }
            rest = &tail[length.max(anchor.len())..];
        }
    }
    paths
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The deepest module `path`, written in `here`, reaches.
fn resolve(
    modules: &BTreeMap<ModulePath, String>,
    here: &ModulePath,
    path: &str,
) -> Option<ModulePath> {
    let segments: Vec<&str> = path
        .split("::")
        .filter(|segment| !segment.is_empty())
        .map(|segment| segment.split(" as ").next().unwrap_or(segment))
        .collect();
    let (mut base, rest) = match segments.first() {
        Some(&"crate") => (Vec::new(), &segments[1..]),
        Some(&"super" | &"self") => {
            let mut base = here.clone();
            let mut skipped = 0;
            for segment in &segments {
                match *segment {
                    "super" => {
                        base.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                skipped += 1;
            }
            (base, &segments[skipped..])
        }
        // A relative path counts only when it starts with a child module.
        Some(first) => {
            let mut child = here.clone();
            child.push((*first).to_owned());
            if !modules.contains_key(&child) {
                return None;
            }
            (here.clone(), &segments[..])
        }
        None => return None,
    };
    let mut deepest = base.clone();
    for segment in rest {
        base.push((*segment).to_owned());
        if !modules.contains_key(&base) {
            break;
        }
        deepest = base.clone();
    }
    (deepest != *here && modules.contains_key(&deepest)).then_some(deepest)
}

/// Strongly connected components of more than one module (Tarjan).
fn cycles(edges: &BTreeMap<ModulePath, BTreeSet<ModulePath>>) -> Vec<Vec<ModulePath>> {
    struct Search<'a> {
        edges: &'a BTreeMap<ModulePath, BTreeSet<ModulePath>>,
        index: BTreeMap<&'a ModulePath, usize>,
        low: BTreeMap<&'a ModulePath, usize>,
        stack: Vec<&'a ModulePath>,
        found: Vec<Vec<ModulePath>>,
    }
    impl<'a> Search<'a> {
        fn visit(&mut self, node: &'a ModulePath) {
            let order = self.index.len();
            self.index.insert(node, order);
            self.low.insert(node, order);
            self.stack.push(node);
            for next in self.edges.get(node).into_iter().flatten() {
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.stack.contains(&next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    component.push(member.clone());
                    if member == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut search = Search {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for node in edges.keys() {
        if !search.index.contains_key(node) {
            search.visit(node);
        }
    }
    search.found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modules(files: &[(&str, &str)]) -> BTreeMap<ModulePath, String> {
        files
            .iter()
            .map(|(path, code)| {
                let path = path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                (path, code_of(code))
            })
            .collect()
    }

    #[test]
    fn expands_nested_use_groups() {
        let paths = use_paths("use crate::a::{b, c::{d, e as f}};\nuse super::g;");
        assert_eq!(
            paths,
            [
                "crate::a::b",
                "crate::a::c::d",
                "crate::a::c::e as f",
                "super::g"
            ]
        );
    }

    #[test]
    fn a_child_using_its_parent_is_not_a_cycle() {
        let crate_modules = modules(&[
            ("", "mod walk;"),
            ("walk", "mod render; use render::step; pub struct Scope;"),
            ("walk/render", "use super::Scope; pub fn step() {}"),
        ]);
        assert!(cycles(&edges(&crate_modules)).is_empty());
    }

    #[test]
    fn siblings_using_each_other_are_a_cycle() {
        let crate_modules = modules(&[
            ("", "mod parse; mod macros;"),
            ("parse", "use crate::macros::expand;"),
            ("macros", "fn f() { crate::parse::Nodes::new(); }"),
        ]);
        let found = cycles(&edges(&crate_modules));
        assert_eq!(
            found,
            [vec![vec!["macros".to_owned()], vec!["parse".to_owned()]]]
        );
    }

    #[test]
    fn test_code_and_comments_are_not_imports() {
        let crate_modules = modules(&[
            ("", ""),
            ("a", "use crate::b::x;"),
            (
                "b",
                "// see crate::a::y\n#[cfg(test)]\nmod tests { use crate::a::y; }",
            ),
        ]);
        assert!(cycles(&edges(&crate_modules)).is_empty());
    }
}
