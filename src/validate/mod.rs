//! Stage 2 of the pipeline: `consentry validate`. Reads a manifest, collects every problem as a
//! [`Diagnostic`] (file, line, column, stable code, fix) and, when none is an error, produces the
//! validated [`crate::model::Manifest`] that `plan` and `verify` consume.
//!
//! Two passes over the spanned YAML tree: `shape` (fields and types, like serde with
//! `deny_unknown_fields` but without stopping at the first problem) and `rules` (what the values
//! mean: ids, URLs, APIs and roles against the catalog, tenants).

mod diagnostic;
pub mod ids;
mod render;
mod rules;
mod secrets;
mod shape;
pub mod suggest;

use std::path::Path;

pub use self::diagnostic::{Code, Diagnostic, Related, Severity};
pub use self::render::{render_human, render_json};

use crate::manifest::{self, ParseError, ReadError, Source};

/// The outcome of validating one manifest.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The text that was checked (absent when the file could not be read).
    pub source: Option<Source>,
    /// The validated manifest: `Some` only when no diagnostic is an error.
    pub manifest: Option<crate::model::Manifest>,
    /// Every problem found, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// The text snippets are cut from: the source with every secret masked and every control
    /// character neutralised, byte for byte as long as the source so spans still fit.
    pub(crate) shown: Option<String>,
}

impl Checked {
    /// Whether any diagnostic is an error (`validate` exits 2).
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// How many diagnostics are errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// How many diagnostics are warnings.
    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }

    /// The name the manifest is reported under.
    pub fn file(&self) -> &str {
        match (&self.source, self.diagnostics.first()) {
            (Some(source), _) => &source.name,
            (None, Some(first)) => &first.file,
            (None, None) => "",
        }
    }
}

/// Reads and validates the manifest at `path`. A file that cannot be read is a diagnostic too.
pub fn check_file(path: &Path) -> Checked {
    match manifest::read_file(path) {
        Ok(source) => check_source(source),
        Err(error) => {
            let file = path.display().to_string();
            let diagnostic = read_diagnostic(&file, &error);
            Checked {
                source: None,
                manifest: None,
                diagnostics: vec![diagnostic],
                shown: None,
            }
        }
    }
}

/// Validates manifest text held in memory; `name` is what diagnostics call the file.
pub fn check_str(name: &str, text: &str) -> Checked {
    check_source(Source {
        name: name.to_owned(),
        text: text.to_owned(),
    })
}

fn check_source(source: Source) -> Checked {
    let file = source.name.as_str();
    let mut diagnostics = Vec::new();
    let mut model = None;
    let mut hidden = secrets::Hidden::default();
    hidden.scan_text(&source.text);
    match manifest::parse(&source.text) {
        Err(error) => diagnostics.push(parse_diagnostic(file, &error, &source.text)),
        Ok(tree) => {
            hidden.scan_tree(&tree, &source.text);
            let mut shaper = shape::Shaper::new(file, &source.text);
            let raw = shaper.manifest(&tree);
            diagnostics.extend(shaper.finish());
            let shape_errors = diagnostics.iter().any(Diagnostic::is_error);
            let mut rules = rules::Rules::new(file);
            model = rules.check(&raw, shape_errors);
            diagnostics.extend(rules.finish());
        }
    }
    // File order reads best; the sort is stable, so one place's diagnostics keep their pass order.
    diagnostics.sort_by_key(|d| (d.line.unwrap_or(0), d.column.unwrap_or(0)));
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    for diagnostic in diagnostics.iter().filter(|d| d.mask_source) {
        if let Some(span) = diagnostic.span {
            hidden.span(span);
        }
    }
    let shown = neutralise_controls(hidden.mask(&source.text));
    let redactor = hidden.redactor();
    for diagnostic in &mut diagnostics {
        sanitise(diagnostic, &redactor);
    }
    Checked {
        manifest: if has_errors { None } else { model },
        source: Some(source),
        diagnostics,
        shown: Some(shown),
    }
}

/// A diagnostic's texts with every hidden text redacted and long values clipped, so no message,
/// help or related note can echo a secret or a megabyte-long value, in any output format.
fn sanitise(diagnostic: &mut Diagnostic, redactor: &secrets::Redactor) {
    let clean = |text: &str| -> String {
        crate::sanitize::clip_message(&redactor.redact(text)).into_owned()
    };
    diagnostic.message = clean(&diagnostic.message);
    diagnostic.help = diagnostic.help.as_deref().map(clean);
    for related in &mut diagnostic.related {
        related.message = clean(&related.message);
    }
}

/// Control characters in the snippet text become `?` (one per byte, so every span still fits):
/// a snippet must not send escape sequences to the terminal. Line breaks and tabs stay, and a lone
/// `\r` (old Mac line ends, which YAML counts as a line break) becomes `\n`, one byte for one, so
/// the snippet's lines are the ones the parser's line:column count.
fn neutralise_controls(text: String) -> String {
    if !text
        .chars()
        .any(|c| crate::sanitize::is_unsafe(c) && c != '\n' && c != '\t')
    {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let keep = c == '\n' || c == '\t' || (c == '\r' && chars.peek() == Some(&'\n'));
        if c == '\r' && !keep {
            out.push('\n');
        } else if crate::sanitize::is_unsafe(c) && !keep {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    out
}

fn read_diagnostic(file: &str, error: &ReadError) -> Diagnostic {
    let message = error.to_string();
    match error {
        ReadError::NotFound(_) => Diagnostic::file_level(Code::FileNotFound, file, message)
            .with_help(
                "check the path; `consentry validate` takes the manifest file as its argument",
            ),
        ReadError::Unreadable { .. } => Diagnostic::file_level(Code::UnreadableFile, file, message),
        ReadError::TooLarge { .. } => Diagnostic::file_level(Code::FileTooLarge, file, message)
            .with_help(
                "a manifest of thousands of tenants is well under 2 MiB; is this the right file?",
            ),
        ReadError::NotUtf8 { line, column, .. } => {
            let mut d = Diagnostic::file_level(Code::NotUtf8, file, message)
                .with_help("save the file as UTF-8 (without UTF-16 encoding)");
            d.line = Some(*line);
            d.column = Some(*column);
            d
        }
    }
}

/// The tab in the indentation of the error's line, or of the nearest line above it that has one:
/// YAML indents with spaces only, and the parser often notices a tab a little after it.
fn indenting_tab(text: &str, line: u32) -> Option<manifest::tree::Span> {
    let mut offset = 0;
    let mut found = None;
    for (number, content) in (1..).zip(text.split_inclusive('\n')) {
        if number > line {
            break;
        }
        let indent = content.len() - content.trim_start_matches([' ', '\t']).len();
        if let Some(at) = content[..indent].find('\t') {
            found = Some(manifest::tree::Span {
                line: number,
                column: u32::try_from(content[..at].chars().count() + 1).unwrap_or(u32::MAX),
                offset: offset + at,
                len: 1,
            });
        }
        offset += content.len();
    }
    found
}

fn parse_diagnostic(file: &str, error: &ParseError, text: &str) -> Diagnostic {
    let message = error.to_string();
    match error {
        ParseError::TooLarge => Diagnostic::file_level(Code::FileTooLarge, file, message),
        ParseError::Empty => Diagnostic::file_level(Code::EmptyFile, file, message)
            .with_help("start from manifests/example.yaml"),
        ParseError::Syntax { span, .. } if message.contains("tab") => {
            match indenting_tab(text, span.line) {
                Some(tab) => Diagnostic::error(Code::YamlSyntax, file, tab, message).with_help(
                    format!(
                        "replace tabs with spaces: YAML indents with spaces only (the tab is at line {}, column {})",
                        tab.line, tab.column
                    ),
                ),
                None => Diagnostic::error(Code::YamlSyntax, file, *span, message)
                    .with_help("replace tabs with spaces: YAML indents with spaces only"),
            }
        }
        ParseError::Syntax { span, .. } => {
            Diagnostic::error(Code::YamlSyntax, file, *span, message)
                .with_help("check brackets, quotes and indentation at and just before this place")
        }
        ParseError::TooDeep { span } => Diagnostic::error(Code::TooDeep, file, *span, message)
            .with_help("a manifest nests about six levels; this file is not one"),
        ParseError::AliasBomb { span } => Diagnostic::error(Code::AliasBomb, file, *span, message)
            .with_help("write the repeated parts out, or use fewer nested aliases"),
        ParseError::TooComplex { span, .. } => {
            Diagnostic::error(Code::TooComplex, file, *span, message)
        }
    }
}
