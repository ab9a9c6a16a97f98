//! A recursive-descent parser for CEL producing [`crate::ast::Expr`].
//!
//! We parse ourselves instead of using the `cel` crate's ANTLR parser: a hand
//! parser is several times faster (compile+check of a typical kro expression
//! must stay in the microseconds), needs no generated code, and lets us expand
//! every macro kro enables (two-variable comprehensions, `cel.bind`, the
//! optional macros) into one AST with our own node ids and spans.

use std::sync::Arc;

use crate::ast::{Expr, ExprKind, FieldInit, Literal, MapEntry, Span};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::lexer::{Tok, Token, tokenize};
use crate::macros;
use crate::nodes::Nodes;

/// Deepest nesting the parser accepts, so that no input can exhaust the stack
/// of a later phase (the checker and the evaluator recurse over the tree).
pub const MAX_DEPTH: usize = 200;

/// Longest source accepted, in bytes.
pub const MAX_SOURCE_LEN: usize = 100_000;

/// Words CEL reserves that the lexer reads as identifiers (the literals
/// `true`, `false`, `null` and the operator `in` are tokens of their own).
pub(crate) const RESERVED: [&str; 17] = [
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// Parses one CEL expression, expanding macros.
pub fn parse(src: &str) -> Result<Expr, Diagnostics> {
    if src.len() > MAX_SOURCE_LEN {
        return Err(Diagnostic::new(
            format!("expression is longer than {MAX_SOURCE_LEN} bytes"),
            Span::new(0, 0),
        )
        .into());
    }
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        nodes: Nodes::new(),
        depth: 0,
    };
    let e = p.expr()?;
    if p.peek() != &Tok::Eof {
        return Err(p.unexpected().into());
    }
    if e.depth() > MAX_DEPTH * 2 {
        return Err(Diagnostic::new("expression nesting exceeds the maximum depth", e.span).into());
    }
    Ok(e)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// Makes every node, the parser's and the macros' alike.
    nodes: Nodes,
    depth: usize,
}

type PResult<T> = Result<T, Diagnostic>;

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn span(&self) -> Span {
        self.toks[self.pos.min(self.toks.len() - 1)].span
    }

    fn prev_span(&self) -> Span {
        self.toks[self.pos.saturating_sub(1)].span
    }

    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos.min(self.toks.len() - 1)].clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn is(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::Punct(q) if *q == p)
    }

    fn eat(&mut self, p: &str) -> bool {
        if self.is(p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &str) -> PResult<()> {
        if self.eat(p) {
            Ok(())
        } else {
            Err(Diagnostic::new(
                format!("expected '{p}', found {}", describe(self.peek())),
                self.span(),
            ))
        }
    }

    fn unexpected(&self) -> Diagnostic {
        Diagnostic::new(format!("unexpected {}", describe(self.peek())), self.span())
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Diagnostic::new(
                "expression nesting exceeds the maximum depth",
                self.span(),
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> PResult<Expr> {
        let saved = self.depth;
        self.enter()?;
        let cond = self.or()?;
        let out = if self.eat("?") {
            let t = self.or()?;
            self.expect(":")?;
            let f = self.expr()?;
            let span = cond.span.join(f.span);
            self.nodes.call(span, "_?_:_", vec![cond, t, f])
        } else {
            cond
        };
        self.depth = saved;
        Ok(out)
    }

    fn or(&mut self) -> PResult<Expr> {
        let mut l = self.and()?;
        while self.eat("||") {
            let r = self.and()?;
            let span = l.span.join(r.span);
            l = self.nodes.call(span, "_||_", vec![l, r]);
            self.enter()?;
        }
        Ok(l)
    }

    fn and(&mut self) -> PResult<Expr> {
        let mut l = self.relation()?;
        while self.eat("&&") {
            let r = self.relation()?;
            let span = l.span.join(r.span);
            l = self.nodes.call(span, "_&&_", vec![l, r]);
            self.enter()?;
        }
        Ok(l)
    }

    fn relation(&mut self) -> PResult<Expr> {
        let mut l = self.addition()?;
        loop {
            let f = match self.peek() {
                Tok::Punct("==") => "_==_",
                Tok::Punct("!=") => "_!=_",
                Tok::Punct("<") => "_<_",
                Tok::Punct("<=") => "_<=_",
                Tok::Punct(">") => "_>_",
                Tok::Punct(">=") => "_>=_",
                Tok::Ident(s) if s == "in" => "@in",
                _ => return Ok(l),
            };
            self.bump();
            let r = self.addition()?;
            let span = l.span.join(r.span);
            l = self.nodes.call(span, f, vec![l, r]);
            self.enter()?;
        }
    }

    fn addition(&mut self) -> PResult<Expr> {
        let mut l = self.multiplication()?;
        loop {
            let f = match self.peek() {
                Tok::Punct("+") => "_+_",
                Tok::Punct("-") => "_-_",
                _ => return Ok(l),
            };
            self.bump();
            let r = self.multiplication()?;
            let span = l.span.join(r.span);
            l = self.nodes.call(span, f, vec![l, r]);
            self.enter()?;
        }
    }

    fn multiplication(&mut self) -> PResult<Expr> {
        let mut l = self.unary()?;
        loop {
            let f = match self.peek() {
                Tok::Punct("*") => "_*_",
                Tok::Punct("/") => "_/_",
                Tok::Punct("%") => "_%_",
                _ => return Ok(l),
            };
            self.bump();
            let r = self.unary()?;
            let span = l.span.join(r.span);
            l = self.nodes.call(span, f, vec![l, r]);
            self.enter()?;
        }
    }

    fn unary(&mut self) -> PResult<Expr> {
        let start = self.span();
        if self.is("!") {
            let mut n = 0;
            while self.eat("!") {
                n += 1;
            }
            let inner = self.member()?;
            if n % 2 == 0 {
                return Ok(inner);
            }
            let span = start.join(inner.span);
            return Ok(self.nodes.call(span, "!_", vec![inner]));
        }
        if self.is("-") {
            let mut n = 0;
            while self.is("-") {
                // A minus directly before a number literal is part of the literal,
                // which is how `-9223372036854775808` stays representable.
                if matches!(self.peek_at(1), Tok::Int(_) | Tok::Double(_)) {
                    break;
                }
                self.bump();
                n += 1;
            }
            let inner = self.member()?;
            if n % 2 == 0 {
                return Ok(inner);
            }
            let span = start.join(inner.span);
            return Ok(self.nodes.call(span, "-_", vec![inner]));
        }
        self.member()
    }

    fn member(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        loop {
            if self.eat(".") {
                let optional = self.eat("?");
                let fspan = self.span();
                let field = match self.bump().tok {
                    Tok::Ident(s) => s,
                    Tok::Quoted(s) if !self.is("(") => s,
                    other => {
                        return Err(Diagnostic::new(
                            format!("expected a field name, found {}", describe(&other)),
                            fspan,
                        ));
                    }
                };
                if !optional && self.is("(") {
                    self.bump();
                    let args = self.args(")")?;
                    let span = e.span.join(self.prev_span());
                    e = macros::expand_member(&mut self.nodes, span, e, &field, args)?;
                } else {
                    let span = e.span.join(fspan);
                    e = self.nodes.new_expr(
                        span,
                        ExprKind::Select {
                            operand: Box::new(e),
                            field,
                            test_only: false,
                            optional,
                        },
                    );
                }
                self.enter()?;
            } else if self.eat("[") {
                let optional = self.eat("?");
                let idx = self.expr()?;
                self.expect("]")?;
                let span = e.span.join(self.prev_span());
                let f = if optional { "_[?_]" } else { "_[_]" };
                e = self.nodes.call(span, f, vec![e, idx]);
                self.enter()?;
            } else {
                return Ok(e);
            }
        }
    }

    fn args(&mut self, close: &str) -> PResult<Vec<Expr>> {
        let mut args = Vec::new();
        if self.eat(close) {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.eat(close) {
                return Ok(args);
            }
            self.expect(",")?;
        }
    }

    fn primary(&mut self) -> PResult<Expr> {
        let saved = self.depth;
        self.enter()?;
        let r = self.primary_inner();
        self.depth = saved;
        r
    }

    fn primary_inner(&mut self) -> PResult<Expr> {
        let start = self.span();
        let tok = self.bump();
        let lit = |l| Ok::<_, Diagnostic>(l);
        match tok.tok {
            Tok::Punct("-") => {
                // Only reached for a minus directly before a number (see `unary`).
                let t = self.bump();
                let span = start.join(t.span);
                let l = match t.tok {
                    Tok::Int(v) => {
                        if v > i64::MAX as u64 + 1 {
                            return Err(Diagnostic::new("invalid int literal", span));
                        }
                        Literal::Int((v as i128).wrapping_neg() as i64)
                    }
                    Tok::Double(d) => Literal::Double(-d),
                    _ => return Err(Diagnostic::new("unexpected '-'", start)),
                };
                Ok(self.nodes.lit(span, l))
            }
            Tok::Int(v) => {
                let v =
                    i64::try_from(v).map_err(|_| Diagnostic::new("invalid int literal", start))?;
                let l = lit(Literal::Int(v))?;
                Ok(self.nodes.lit(start, l))
            }
            Tok::Uint(v) => Ok(self.nodes.lit(start, Literal::Uint(v))),
            Tok::Double(v) => Ok(self.nodes.lit(start, Literal::Double(v))),
            Tok::Str(s) => Ok(self.nodes.lit(start, Literal::String(Arc::from(s)))),
            Tok::Bytes(b) => Ok(self.nodes.lit(start, Literal::Bytes(Arc::from(b)))),
            Tok::Punct("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Punct("[") => {
                let mut elements = Vec::new();
                let mut optional_indices = Vec::new();
                while !self.is("]") {
                    if self.eat("?") {
                        optional_indices.push(elements.len());
                    }
                    elements.push(self.expr()?);
                    if !self.eat(",") {
                        break;
                    }
                }
                self.expect("]")?;
                let span = start.join(self.prev_span());
                Ok(self.nodes.new_expr(
                    span,
                    ExprKind::List {
                        elements,
                        optional_indices,
                    },
                ))
            }
            Tok::Punct("{") => {
                let mut entries = Vec::new();
                while !self.is("}") {
                    let optional = self.eat("?");
                    let key = self.expr()?;
                    self.expect(":")?;
                    let value = self.expr()?;
                    entries.push(MapEntry {
                        key,
                        value,
                        optional,
                    });
                    if !self.eat(",") {
                        break;
                    }
                }
                self.expect("}")?;
                let span = start.join(self.prev_span());
                Ok(self.nodes.new_expr(span, ExprKind::Map(entries)))
            }
            Tok::Punct(".") => {
                let t = self.bump();
                let Tok::Ident(name) = t.tok else {
                    return Err(Diagnostic::new(
                        format!("unexpected {}", describe(&t.tok)),
                        t.span,
                    ));
                };
                self.ident_or_call(start, format!(".{name}"))
            }
            Tok::Ident(name) => self.ident_or_call(start, name),
            other => Err(Diagnostic::new(
                format!("unexpected {}", describe(&other)),
                start,
            )),
        }
    }

    fn ident_or_call(&mut self, start: Span, name: String) -> PResult<Expr> {
        let bare = name.trim_start_matches('.');
        match bare {
            "true" | "false" | "null" | "in" if name.starts_with('.') => {
                return Err(Diagnostic::new(format!("unexpected '{bare}'"), start));
            }
            "true" => return Ok(self.nodes.lit(start, Literal::Bool(true))),
            "false" => return Ok(self.nodes.lit(start, Literal::Bool(false))),
            "null" => return Ok(self.nodes.lit(start, Literal::Null)),
            "in" => return Err(Diagnostic::new("unexpected 'in'", start)),
            _ => {}
        }
        if RESERVED.contains(&bare) {
            return Err(Diagnostic::new(
                format!("reserved identifier: {bare}"),
                start,
            ));
        }
        if self.eat("(") {
            let args = self.args(")")?;
            let span = start.join(self.prev_span());
            return macros::expand_global(&mut self.nodes, span, &name, args);
        }
        // In CEL an identifier followed by `{` can only be a message construction.
        if self.is("{") {
            return self.struct_literal(start, name);
        }
        Ok(self.nodes.ident(start, &name))
    }

    fn struct_literal(&mut self, start: Span, type_name: String) -> PResult<Expr> {
        self.expect("{")?;
        let mut fields = Vec::new();
        while !self.is("}") {
            let optional = self.eat("?");
            let fspan = self.span();
            let name = match self.bump().tok {
                Tok::Ident(s) | Tok::Quoted(s) => s,
                other => {
                    return Err(Diagnostic::new(
                        format!("expected a field name, found {}", describe(&other)),
                        fspan,
                    ));
                }
            };
            self.expect(":")?;
            let value = self.expr()?;
            fields.push(FieldInit {
                name,
                value,
                optional,
            });
            if !self.eat(",") {
                break;
            }
        }
        self.expect("}")?;
        let span = start.join(self.prev_span());
        Ok(self
            .nodes
            .new_expr(span, ExprKind::Struct { type_name, fields }))
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Int(v) | Tok::Uint(v) => format!("number {v}"),
        Tok::Double(v) => format!("number {v}"),
        Tok::Str(_) => "string literal".into(),
        Tok::Bytes(_) => "bytes literal".into(),
        Tok::Ident(s) => format!("'{s}'"),
        Tok::Quoted(s) => format!("'`{s}`'"),
        Tok::Punct(p) => format!("'{p}'"),
        Tok::Eof => "end of input".into(),
    }
}
