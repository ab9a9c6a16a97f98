//! The abstract syntax tree every later phase works on.
//!
//! Macros are already expanded here: `has(a.b)` is a test-only [`ExprKind::Select`],
//! and `all`, `exists`, `map`, `filter`, `cel.bind`, the two-variable forms and
//! the optional macros are [`ExprKind::Comprehension`]s or plain calls. Every node
//! has an id (unique within one parse) and the byte span it came from, so the
//! checker can attach types and diagnostics can point at source text.

use std::sync::Arc;

/// Identifies one node of a parsed expression; unique within one parse.
pub type ExprId = u32;

/// A byte range in the source text, `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u32,
    /// Offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from `start` to `end` (byte offsets).
    pub fn new(start: usize, end: usize) -> Self {
        let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Span {
            start: clamp(start),
            end: clamp(end),
        }
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// A constant written in the source.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A signed integer such as `-12` or `0x1F`.
    Int(i64),
    /// An unsigned integer such as `12u`.
    Uint(u64),
    /// A floating point number such as `1.5e3`.
    Double(f64),
    /// A string literal, escapes already decoded.
    String(Arc<str>),
    /// A bytes literal such as `b"abc"`, escapes already decoded.
    Bytes(Arc<[u8]>),
}

/// One node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// Unique id within the parse.
    pub id: ExprId,
    /// Where the node came from in the source.
    pub span: Span,
    /// What the node is.
    pub kind: ExprKind,
}

/// An entry of a map literal.
#[derive(Debug, Clone, PartialEq)]
pub struct MapEntry {
    /// The key expression.
    pub key: Expr,
    /// The value expression.
    pub value: Expr,
    /// `{?k: v}`: the entry is present only when `v` is an optional with a value.
    pub optional: bool,
}

/// A field initialiser of a message construction `T{f: v}`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldInit {
    /// Field name.
    pub name: String,
    /// Value expression.
    pub value: Expr,
    /// `T{?f: v}`.
    pub optional: bool,
}

/// A loop over a list or map, the form every iterating macro expands to.
///
/// Evaluation: `accu = accu_init`; for each element (bound to `iter_var`, and for
/// two-variable forms the index/key to `iter_var` and the value to `iter_var2`)
/// stop when `loop_cond` is false, else `accu = loop_step`; finally `result`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comprehension {
    /// First iteration variable (element, or index/key for two-variable loops).
    pub iter_var: String,
    /// Second iteration variable (value) of two-variable loops.
    pub iter_var2: Option<String>,
    /// The collection iterated over.
    pub iter_range: Expr,
    /// Name of the accumulator.
    pub accu_var: String,
    /// Initial accumulator value.
    pub accu_init: Expr,
    /// Checked before each step; the loop stops when it is false.
    pub loop_cond: Expr,
    /// The next accumulator value.
    pub loop_step: Expr,
    /// The value of the whole loop.
    pub result: Expr,
}

/// The shapes a node can take.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A constant.
    Literal(Literal),
    /// A name; a leading `.` marks a root-scoped name.
    Ident(String),
    /// `operand.field`; `has(operand.field)` when `test_only`; `operand.?field` when `optional`.
    Select {
        /// The expression selected from.
        operand: Box<Expr>,
        /// The field name.
        field: String,
        /// Presence test (`has()` macro).
        test_only: bool,
        /// Optional selection `a.?b`.
        optional: bool,
    },
    /// A function call, operators included (`_+_`, `_[_]`, `@in`, ...).
    Call {
        /// Receiver of a member call `target.function(args)`.
        target: Option<Box<Expr>>,
        /// Function name.
        function: String,
        /// Arguments.
        args: Vec<Expr>,
    },
    /// `[a, ?b]`
    List {
        /// Elements.
        elements: Vec<Expr>,
        /// Indices of elements written `?e`.
        optional_indices: Vec<usize>,
    },
    /// `{k: v, ?k2: v2}`
    Map(Vec<MapEntry>),
    /// `T{f: v}`
    Struct {
        /// Type name as written.
        type_name: String,
        /// Field initialisers.
        fields: Vec<FieldInit>,
    },
    /// A loop produced by a macro.
    Comprehension(Box<Comprehension>),
}

impl Expr {
    /// The direct children of this node, in source order.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Literal(_) | ExprKind::Ident(_) => Vec::new(),
            ExprKind::Select { operand, .. } => vec![operand],
            ExprKind::Call { target, args, .. } => {
                target.iter().map(|t| &**t).chain(args.iter()).collect()
            }
            ExprKind::List { elements, .. } => elements.iter().collect(),
            ExprKind::Map(entries) => entries.iter().flat_map(|e| [&e.key, &e.value]).collect(),
            ExprKind::Struct { fields, .. } => fields.iter().map(|f| &f.value).collect(),
            ExprKind::Comprehension(c) => vec![
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ],
        }
    }

    /// The largest node id in the tree (ids are assigned in parse order).
    pub fn max_id(&self) -> ExprId {
        let mut max = 0;
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            max = max.max(e.id);
            stack.extend(e.children());
        }
        max
    }

    /// The nesting depth of the tree, computed without recursion.
    pub fn depth(&self) -> usize {
        let mut max = 0;
        let mut stack = vec![(self, 1usize)];
        while let Some((e, d)) = stack.pop() {
            max = max.max(d);
            stack.extend(e.children().into_iter().map(|c| (c, d + 1)));
        }
        max
    }
}
