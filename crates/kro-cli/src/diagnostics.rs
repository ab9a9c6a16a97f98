//! The one way `kro` shows a problem in a file: a message, where it is
//! (line and column in characters, so that a CJK or emoji line puts the
//! caret under the right character), and the lines around it, rendered by
//! `annotate-snippets` (the renderer the YAML reader uses too). The same
//! diagnostics are written as JSON, as GitHub Actions annotations and as
//! SARIF by `kro validate`.

use std::fmt;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use kro_graph::source_map::Position;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The input cannot be used.
    Error,
    /// The input is used, but probably not as meant.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A marked stretch of one line, with an optional label under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// Where it starts.
    pub position: Position,
    /// How many characters it covers (at least one is marked).
    pub width: usize,
    /// What to write under it.
    pub label: Option<String>,
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// How bad.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// Where; `None` when it has no place in the file.
    pub position: Option<Position>,
    /// The marked stretches; the first is at `position`.
    pub marks: Vec<Mark>,
}

impl Diagnostic {
    /// An error without a place.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            position: None,
            marks: Vec::new(),
        }
    }

    /// A warning without a place.
    pub fn warning(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(message)
        }
    }

    /// The same, at `position`, one character marked.
    pub fn at(self, position: Position) -> Self {
        self.marked(position, 1, None)
    }

    /// The same, with `width` characters marked from `position`.
    pub fn marked(mut self, position: Position, width: usize, label: Option<String>) -> Self {
        if self.position.is_none() {
            self.position = Some(position);
        }
        self.marks.push(Mark {
            position,
            width,
            label,
        });
        self
    }
}

/// Diagnostics about one input, displayed as the renderer shows them: an
/// error that carries its own place.
#[derive(Debug, Clone)]
pub struct Located {
    /// The input's name.
    pub name: String,
    /// Its text (empty when it could not be read).
    pub text: String,
    /// What is wrong with it.
    pub diagnostics: Vec<Diagnostic>,
}

impl Located {
    /// One error about the input `name`, with no place in it.
    pub fn plain(name: &str, message: String) -> Self {
        Self {
            name: name.to_owned(),
            text: String::new(),
            diagnostics: vec![Diagnostic::error(message)],
        }
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(render(&self.name, &self.text, &self.diagnostics).trim_end())
    }
}

impl std::error::Error for Located {}

/// The byte offset of `position` in `text`, and that of the end of
/// `width` characters from it (kept on its line).
fn byte_range(text: &str, position: Position, width: usize) -> Option<std::ops::Range<usize>> {
    let line_index = usize::try_from(position.line).ok()?.checked_sub(1)?;
    let mut line_start = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        if index == line_index {
            let content = line.trim_end_matches(['\n', '\r']);
            let column = usize::try_from(position.column).ok()?.saturating_sub(1);
            let mut chars = content
                .char_indices()
                .map(|(i, _)| i)
                .chain([content.len()]);
            let start = chars.nth(column)?;
            let end = content[start..]
                .char_indices()
                .map(|(i, _)| start + i)
                .chain([content.len()])
                .nth(width.max(1))
                .unwrap_or(content.len());
            return Some(line_start + start..line_start + end.max(start));
        }
        line_start += line.len();
    }
    None
}

/// Every diagnostic about the input `name` with the text `text`, as people
/// read them.
pub fn render(name: &str, text: &str, diagnostics: &[Diagnostic]) -> String {
    let renderer = Renderer::plain();
    let mut out = String::new();
    for diagnostic in diagnostics {
        let level = match diagnostic.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let title = level.primary_title(diagnostic.message.as_str());
        let annotations: Vec<_> = diagnostic
            .marks
            .iter()
            .enumerate()
            .filter_map(|(index, mark)| {
                let range = byte_range(text, mark.position, mark.width)?;
                let kind = if index == 0 {
                    AnnotationKind::Primary
                } else {
                    AnnotationKind::Context
                };
                Some(kind.span(range).label(mark.label.as_deref()))
            })
            .collect();
        let group: Group<'_> = if annotations.is_empty() {
            match diagnostic.position {
                Some(position) => title.element(
                    Origin::path(name)
                        .line(usize::try_from(position.line).unwrap_or(usize::MAX))
                        .char_column(
                            usize::try_from(position.column)
                                .unwrap_or(1)
                                .saturating_sub(1),
                        ),
                ),
                None => title.element(Origin::path(name)),
            }
        } else {
            title.element(Snippet::source(text).path(name).annotations(annotations))
        };
        out.push_str(&renderer.render(&[group]));
        out.push('\n');
    }
    out
}

/// A CEL compiler diagnostic about `source` (one expression, its own
/// "file"), its span marked and its message under it.
pub fn from_cel(source: &str, diagnostic: &kro_cel::Diagnostic) -> Diagnostic {
    let (line, column) = diagnostic.line_col(source);
    let (start, end) = (diagnostic.span.start as usize, diagnostic.span.end as usize);
    let width = source
        .get(start..end.max(start))
        .map_or(1, |text| text.chars().count().max(1));
    Diagnostic::error(diagnostic.message.clone()).marked(
        Position {
            line: line as u64,
            column: column as u64,
        },
        width,
        None,
    )
}

/// `error`/`warning` counts line: `file: 2 errors`.
pub fn summary(name: &str, diagnostics: &[Diagnostic]) -> Option<String> {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    (errors > 0).then(|| {
        format!(
            "{name}: {errors} error{}",
            if errors == 1 { "" } else { "s" }
        )
    })
}

/// A GitHub Actions workflow command for one diagnostic:
/// `::error file=F,line=L,col=C::message`.
pub fn github_annotation(name: &str, diagnostic: &Diagnostic) -> String {
    let mut properties = vec![format!("file={}", escape_property(name))];
    if let Some(position) = diagnostic.position {
        properties.push(format!("line={}", position.line));
        properties.push(format!("col={}", position.column));
        if let Some(mark) = diagnostic.marks.first() {
            properties.push(format!(
                "endColumn={}",
                position.column + mark.width.max(1) as u64
            ));
        }
    }
    format!(
        "::{} {}::{}",
        diagnostic.severity.as_str(),
        properties.join(","),
        escape_data(&diagnostic.message)
    )
}

/// A workflow command's message: `%`, CR and LF escaped.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u64, column: u64) -> Position {
        Position { line, column }
    }

    #[test]
    fn the_caret_sits_under_the_character_on_any_line() {
        let text = "a: 1\nname: 名前の${schema.spec.x}\nemoji: 🙂🙂 ${y}\n";
        let rendered = render(
            "f.yaml",
            text,
            &[
                Diagnostic::error("cjk").marked(at(2, 10), 15, Some("here".into())),
                Diagnostic::error("emoji").marked(at(3, 11), 4, None),
            ],
        );
        let lines: Vec<&str> = rendered.lines().collect();
        let caret_under = |source: &str, caret: &str| {
            let source_line = lines
                .iter()
                .position(|l| l.contains(source))
                .expect("source line");
            let caret_line = lines[source_line + 1];
            let offset = caret_line.find('^').expect("a caret");
            // Columns on screen: CJK and emoji are two cells wide.
            let before: String = caret_line[..offset].to_owned();
            let prefix_cells = unicode_cells(
                &lines[source_line][..lines[source_line].find(caret).expect("marked text")],
            );
            assert_eq!(before.chars().count(), prefix_cells, "{rendered}");
        };
        caret_under("名前の", "${schema");
        caret_under("🙂🙂", "${y}");
        assert!(rendered.contains("--> f.yaml:2:10"), "{rendered}");
        assert!(rendered.contains("--> f.yaml:3:11"), "{rendered}");
    }

    /// Screen cells, the way terminals draw the characters used above.
    fn unicode_cells(text: &str) -> usize {
        text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
    }

    #[test]
    fn annotations_escape_what_github_would_read_as_syntax() {
        let diagnostic = Diagnostic::error("100% wrong\nsecond line").marked(at(3, 7), 2, None);
        assert_eq!(
            github_annotation("dir,a:b.yaml", &diagnostic),
            "::error file=dir%2Ca%3Ab.yaml,line=3,col=7,endColumn=9::100%25 wrong%0Asecond line"
        );
    }
}
