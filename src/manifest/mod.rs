//! Stage 1 of the pipeline: reading a manifest file into a spanned YAML tree, with guards against
//! hostile input, and the raw manifest types whose doc comments become the JSON Schema.
//!
//! Nothing here interprets fields: `validate` walks the tree, collects every problem and produces
//! [`crate::model::Manifest`].

pub mod raw;
pub mod tree;

use std::path::{Path, PathBuf};

use self::tree::{Node, Span, Value};

/// The biggest manifest consentry reads. A 5,000-tenant manifest is well under 2 MiB; anything
/// far beyond that is a mistake or an attack, refused before it is read.
pub const MAX_FILE_BYTES: u64 = crate::input::MAX_FILE_BYTES;

/// The deepest nesting a manifest may have. A real one nests 6 levels; the cap keeps a hostile
/// `[[[[…` from exhausting the stack.
pub const MAX_DEPTH: usize = 32;

/// How many YAML nodes aliases may replay in total. Anchors shared between tenants are fine; a
/// "billion laughs" expansion is refused long before it costs memory or time.
pub const MAX_ALIAS_REPLAY: usize = 50_000;

/// A manifest's text and the name it is reported under.
#[derive(Clone, PartialEq, Eq)]
pub struct Source {
    /// The path as the user gave it (or any label for in-memory text).
    pub name: String,
    /// The whole file, UTF-8.
    pub text: String,
}

// The text may hold a secret written inline (the `inline-secret` error): Debug shows its size only.
impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .finish()
    }
}

/// Why a manifest file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing at that path.
    #[error("manifest file {} does not exist", .0.display())]
    NotFound(PathBuf),
    /// The path exists but is not a readable file.
    #[error("cannot read manifest file {}: {source}", path.display())]
    Unreadable {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Bigger than [`MAX_FILE_BYTES`].
    #[error("manifest file {} is larger than the {} MiB limit", path.display(), MAX_FILE_BYTES / 1024 / 1024)]
    TooLarge {
        /// The path.
        path: PathBuf,
    },
    /// Not UTF-8 text.
    #[error("manifest file {} is not UTF-8 text (invalid byte at line {line}, column {column})", path.display())]
    NotUtf8 {
        /// The path.
        path: PathBuf,
        /// Byte offset of the first invalid byte.
        offset: usize,
        /// 1-based line of that byte.
        line: u32,
        /// 1-based column (in characters) of that byte.
        column: u32,
    },
}

/// Reads a manifest file through [`crate::input::read`]: a regular file (or stdin) only, the size
/// checked before reading and while reading (a growing file can lie about its size).
pub fn read_file(path: &Path) -> Result<Source, ReadError> {
    let bytes = match crate::input::read(path, MAX_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(e) if e.is_not_found() => return Err(ReadError::NotFound(path.to_owned())),
        Err(crate::input::InputError::TooLarge { .. }) => {
            return Err(ReadError::TooLarge {
                path: path.to_owned(),
            });
        }
        Err(e) => {
            return Err(ReadError::Unreadable {
                path: path.to_owned(),
                source: e.into(),
            });
        }
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let valid = &e.as_bytes()[..offset];
        // The prefix is valid UTF-8 by construction, so the position can be counted in characters.
        let prefix = std::str::from_utf8(valid).unwrap_or_default();
        let (line, column) = line_column(prefix, offset);
        ReadError::NotUtf8 {
            path: path.to_owned(),
            offset,
            line,
            column,
        }
    })?;
    Ok(Source {
        name: path.display().to_string(),
        text,
    })
}

/// 1-based line and character column of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let offset = floor_char_boundary(text, offset);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// Byte offset of 1-based `line` and character `column` in `text` (clamped to the text).
pub fn offset_of(text: &str, line: u32, column: u32) -> usize {
    let mut start = 0;
    for _ in 1..line.max(1) {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let line_text = &text[start..];
    let line_end = line_text.find('\n').unwrap_or(line_text.len());
    let within = line_text[..line_end]
        .char_indices()
        .nth(column.saturating_sub(1) as usize)
        .map_or(line_end, |(i, _)| i);
    start + within
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Why a manifest's text could not be turned into a YAML tree.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Bigger than [`MAX_FILE_BYTES`] (text handed over in memory).
    #[error("the manifest is larger than the {} MiB limit", MAX_FILE_BYTES / 1024 / 1024)]
    TooLarge,
    /// Nothing but whitespace and comments.
    #[error("the manifest is empty")]
    Empty,
    /// Not valid YAML.
    #[error("YAML syntax error: {message}")]
    Syntax {
        /// The parser's message, without its location.
        message: String,
        /// Where.
        span: Span,
    },
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("the manifest nests deeper than {MAX_DEPTH} levels")]
    TooDeep {
        /// Where the limit was crossed.
        span: Span,
    },
    /// Aliases expand to more than [`MAX_ALIAS_REPLAY`] nodes (an alias bomb).
    #[error("YAML aliases expand to more than {MAX_ALIAS_REPLAY} nodes (an alias bomb?)")]
    AliasBomb {
        /// Where the limit was crossed.
        span: Span,
    },
    /// Some other parser budget (nodes, events, scalar bytes) was exceeded.
    #[error("the manifest is too complex to read: {message}")]
    TooComplex {
        /// Which budget.
        message: String,
        /// Where.
        span: Span,
    },
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        // Validation reports duplicate keys itself, naming both places, and keeps going.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        // YAML 1.2 booleans only: a tenant label `no` or `y` stays a string.
        strict_booleans: true,
        // Diagnostics render their own snippets; serde-saphyr's would copy the source (and a
        // secret written inline) into the error.
        with_snippet: false,
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            flow_nesting_limit: MAX_DEPTH,
            // The replay limit below is the real alias-bomb guard; the ratio heuristic would
            // refuse 5,000 tenants sharing one anchored `apis` block.
            enforce_alias_anchor_ratio: false,
            max_reader_input_bytes: Some(MAX_FILE_BYTES as usize),
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_ALIAS_REPLAY,
            max_replay_stack_depth: 8,
        },
    }
}

/// Parses a manifest's text into a spanned YAML tree. Only refusals that stop all further
/// checking are errors here; everything else is for `validate` to find.
pub fn parse(text: &str) -> Result<Node, ParseError> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(ParseError::TooLarge);
    }
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(ParseError::Empty);
    }
    match serde_saphyr::from_str_with_options::<Node>(text, options()) {
        Ok(node) if node.value == Value::Null => Err(ParseError::Empty),
        Ok(node) => Ok(node),
        Err(error) => Err(classify(text, &error)),
    }
}

fn classify(text: &str, error: &serde_saphyr::Error) -> ParseError {
    use serde_saphyr::Error as E;
    use serde_saphyr::budget::BudgetBreach as B;
    let span = error.location().map_or_else(Span::default, |location| {
        let line = u32::try_from(location.line()).unwrap_or(u32::MAX);
        let column = u32::try_from(location.column()).unwrap_or(u32::MAX);
        let offset = location
            .span()
            .byte_offset()
            .and_then(|o| usize::try_from(o).ok())
            .unwrap_or_else(|| offset_of(text, line, column));
        Span {
            line,
            column,
            offset,
            len: 0,
        }
    });
    // The location above is where the problem shows (an alias's use); the kind is inside the
    // wrappers serde-saphyr adds for snippets and aliases.
    let mut inner = error;
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = inner {
        inner = error;
    }
    match inner {
        E::Budget { breach, .. } => match breach {
            B::Depth { .. } => ParseError::TooDeep { span },
            B::Aliases { .. }
            | B::AliasAnchorRatio { .. }
            | B::RecordedAnchorEvents { .. }
            | B::RecordedAnchorBytes { .. } => ParseError::AliasBomb { span },
            other => ParseError::TooComplex {
                message: match other {
                    B::Nodes { nodes } => format!("more than {} YAML nodes", nodes - 1),
                    B::Events { events } => format!("more than {} YAML events", events - 1),
                    B::ScalarBytes { .. } => "too much text in values".to_owned(),
                    B::Documents { .. } => "too many YAML documents".to_owned(),
                    other => format!("{other:?}"),
                },
                span,
            },
        },
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => ParseError::AliasBomb { span },
        E::ExternalMessage { source, .. }
            if matches!(
                source.as_ref(),
                serde_saphyr::ExternalMessageSource::Parser(scan)
                    if *scan.kind() == serde_saphyr::granit_parser::ErrorKind::RecursionLimitExceeded
            ) =>
        {
            ParseError::TooDeep { span }
        }
        // serde-saphyr's own text names its multi-document API, which means nothing to a user.
        E::MultipleDocuments { .. } => ParseError::Syntax {
            message: "the file holds more than one YAML document (a second `---`); a manifest is one document".to_owned(),
            span,
        },
        other => ParseError::Syntax {
            message: strip_location(&other.to_string()),
            span,
        },
    }
}

/// serde-saphyr appends " at line L, column C" (and alias notes); the diagnostic carries the
/// location itself.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// The manifest's JSON Schema, generated from the documented raw types. Draft-07, the draft
/// editors' YAML language servers support best.
pub fn json_schema() -> serde_json::Value {
    schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<raw::Manifest>()
        .to_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_and_offset_round_trip() {
        let text = "a: 1\nbé: 2\nc: 3";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 5), (2, 1));
        let after_e = text.find(':').map(|_| 9).unwrap();
        assert_eq!(line_column(text, after_e), (2, 4));
        assert_eq!(offset_of(text, 2, 4), after_e);
        assert_eq!(offset_of(text, 3, 1), 12);
        assert_eq!(offset_of(text, 9, 1), text.len());
    }

    #[test]
    fn debug_of_a_source_hides_the_text() {
        let source = Source {
            name: "m.yaml".into(),
            text: "client_secret: hunter2".into(),
        };
        let debug = format!("{source:?}");
        assert!(debug.contains("m.yaml"));
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn parse_refuses_empty_and_comment_only_text() {
        assert!(matches!(parse(""), Err(ParseError::Empty)));
        assert!(matches!(parse("  \n\n"), Err(ParseError::Empty)));
        assert!(matches!(parse("# nothing\n"), Err(ParseError::Empty)));
    }

    #[test]
    fn syntax_errors_carry_a_location() {
        let Err(ParseError::Syntax { message, span }) = parse("a: [1, 2\nb: 3\n") else {
            panic!("expected a syntax error");
        };
        assert!(!message.contains(" at line "), "{message}");
        assert_eq!(span.line, 2);
        assert!(span.offset > 0);
    }

    #[test]
    fn a_second_document_is_a_syntax_error_in_plain_words() {
        let Err(ParseError::Syntax { message, span }) = parse("a: 1\n---\nb: 2\n") else {
            panic!("expected a syntax error");
        };
        assert!(message.contains("more than one YAML document"), "{message}");
        assert_eq!(span.line, 3);
        assert!(
            parse("---\na: 1\n").is_ok(),
            "one document with a marker is fine"
        );
    }

    #[test]
    fn deep_nesting_is_refused_in_both_styles() {
        assert!(matches!(
            parse(&"[".repeat(100_000)),
            Err(ParseError::TooDeep { .. })
        ));
        let block: String = (0..100)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i * 2)))
            .collect();
        assert!(matches!(parse(&block), Err(ParseError::TooDeep { .. })));
    }
}
