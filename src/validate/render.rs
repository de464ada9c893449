//! The two renderings of validation results: human (miette reports with snippets, for stderr or
//! a terminal) and JSON (stable, for tools and CI). Both are pure: they return strings.

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;

use super::{Checked, Diagnostic, Severity};
use crate::sanitize;

/// Renders every diagnostic as a miette report (file:line:column, snippet, code, help), then a
/// count line. `color` picks a colored theme; without it the output is plain text.
pub fn render_human(checked: &Checked, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .with_urls(false)
        .with_width(100);
    // Snippets are cut from the masked text (secrets hidden, control characters neutralised),
    // never from the source itself.
    let text = checked.shown.as_deref();
    let line_starts = text.map(line_starts).unwrap_or_default();
    let mut out = String::new();
    for diagnostic in &checked.diagnostics {
        let report = Report::new(diagnostic, text, &line_starts);
        if handler.render_report(&mut out, &report).is_err() {
            // Rendering into a String cannot fail; keep the message if miette ever does.
            out.push_str(&diagnostic.message);
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&summary(checked));
    out.push('\n');
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// One line: "FILE: N errors, M warnings" (or "no problems").
fn summary(checked: &Checked) -> String {
    let (errors, warnings) = (checked.error_count(), checked.warning_count());
    if errors == 0 && warnings == 0 {
        format!("{}: no problems found", sanitize::one_line(checked.file()))
    } else {
        format!(
            "{}: {}, {}",
            sanitize::one_line(checked.file()),
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

/// The diagnostics as one JSON document:
/// `{"file", "errors", "warnings", "diagnostics": [{"code", "severity", "message", "file", "line",
/// "column", "help", "related": [{"message", "file", "line", "column"}]}]}`.
pub fn render_json(checked: &Checked) -> String {
    #[derive(Serialize)]
    struct Document<'a> {
        file: &'a str,
        errors: usize,
        warnings: usize,
        diagnostics: &'a [Diagnostic],
    }
    let document = Document {
        file: checked.file(),
        errors: checked.error_count(),
        warnings: checked.warning_count(),
        diagnostics: &checked.diagnostics,
    };
    let mut json = crate::sanitize::to_json_pretty(&document).unwrap_or_else(|e| {
        // Only plain strings and numbers are serialized; this cannot happen.
        format!("{{\"error\": \"cannot serialize diagnostics: {e}\"}}")
    });
    json.push('\n');
    json
}

/// Byte offsets where each line starts.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// The manifest text as miette reads it, under the file's name.
struct Named<'a> {
    name: std::borrow::Cow<'a, str>,
    text: &'a str,
    line_starts: &'a [usize],
}

impl SourceCode for Named<'_> {
    // miette's own `str` reader scans from the first byte for every snippet, which makes
    // thousands of diagnostics on a big manifest quadratic. Start at the first context line
    // instead and shift the result back to whole-file offsets and line numbers.
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let line = self
            .line_starts
            .partition_point(|&start| start <= span.offset())
            .saturating_sub(1);
        let mut first = line.saturating_sub(before);
        // miette treats an empty span at offset 0 specially; keep it off the window's first byte.
        if span.is_empty() && first > 0 && self.line_starts.get(first) == Some(&span.offset()) {
            first -= 1;
        }
        let base = self.line_starts.get(first).copied().unwrap_or(0);
        let window = self.text.get(base..).ok_or(MietteError::OutOfBounds)?;
        let local = SourceSpan::new((span.offset() - base).into(), span.len());
        let inner = window.read_span(&local, before, after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone().into_owned(),
            inner.data(),
            SourceSpan::new((inner.span().offset() + base).into(), inner.span().len()),
            inner.line() + first,
            inner.column(),
            inner.line_count() + first,
        )))
    }
}

/// A diagnostic as a miette report.
struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<Named<'a>>,
}

impl<'a> Report<'a> {
    fn new(diagnostic: &'a Diagnostic, text: Option<&'a str>, line_starts: &'a [usize]) -> Self {
        let source = match (text, diagnostic.span) {
            // A snippet of a line longer than any screen (a hostile one-line file) would echo it
            // whole; the location alone says where to look.
            (Some(text), Some(span))
                if longest_line_around(text, line_starts, span.offset) > MAX_SNIPPET_LINE =>
            {
                None
            }
            (Some(text), Some(_)) => Some(Named {
                name: sanitize::one_line(&diagnostic.file),
                text,
                line_starts,
            }),
            _ => None,
        };
        Report { diagnostic, source }
    }
}

/// Lines longer than this (in bytes) are not shown as snippets.
const MAX_SNIPPET_LINE: usize = 1_000;

/// The length of the line holding `offset` and of its neighbours (miette shows one line of context
/// on each side).
fn longest_line_around(text: &str, line_starts: &[usize], offset: usize) -> usize {
    let line = line_starts
        .partition_point(|&start| start <= offset)
        .saturating_sub(1);
    (line.saturating_sub(1)..=line + 1)
        .filter_map(|i| {
            let start = *line_starts.get(i)?;
            let end = line_starts.get(i + 1).copied().unwrap_or(text.len());
            Some(end - start)
        })
        .max()
        .unwrap_or(0)
}

/// A span longer than this (a multi-line value) is underlined by its start only: miette would
/// print every line it covers.
const MAX_SHOWN_SPAN: usize = 200;

fn shown_len(len: usize) -> usize {
    if len > MAX_SHOWN_SPAN { 0 } else { len }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report")
            .field("code", &self.diagnostic.code)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&sanitize::terminal(&self.diagnostic.message))?;
        if self.source.is_none()
            && let (Some(line), Some(column)) = (self.diagnostic.line, self.diagnostic.column)
            && !self.diagnostic.message.contains("line")
        {
            write!(
                f,
                " ({}:{line}:{column})",
                sanitize::one_line(&self.diagnostic.file)
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(sanitize::terminal(h).into_owned()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.diagnostic.span?;
        self.source.as_ref()?;
        let primary = LabeledSpan::new_primary_with_span(
            if self.diagnostic.mask_source {
                Some("value hidden".to_owned())
            } else {
                None
            },
            SourceSpan::from((span.offset, shown_len(span.len))),
        );
        let related = self.diagnostic.related.iter().map(|r| {
            LabeledSpan::new_with_span(
                Some(sanitize::one_line(&r.message).into_owned()),
                SourceSpan::from((r.span.offset, shown_len(r.span.len))),
            )
        });
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windowed_reading_matches_miettes_whole_text_reading() {
        let text = "a: 1\nb: 2\r\nc: [x, y]\nd: 4\n\ne: 5\nf: 6";
        let starts = line_starts(text);
        let named = Named {
            name: "m.yaml".into(),
            text,
            line_starts: &starts,
        };
        for offset in 0..text.len() {
            for len in [0, 1, 3] {
                if offset + len > text.len() {
                    continue;
                }
                let span = SourceSpan::new(offset.into(), len);
                for (before, after) in [(0, 0), (1, 1), (2, 3)] {
                    let whole = text.read_span(&span, before, after);
                    let windowed = named.read_span(&span, before, after);
                    match (whole, windowed) {
                        (Ok(w), Ok(n)) => {
                            assert_eq!(w.data(), n.data(), "{offset} {len} {before} {after}");
                            assert_eq!(w.span(), n.span(), "{offset} {len} {before} {after}");
                            assert_eq!(w.line(), n.line(), "{offset} {len} {before} {after}");
                            assert_eq!(w.column(), n.column(), "{offset} {len} {before} {after}");
                        }
                        (Err(_), Err(_)) => {}
                        (w, n) => panic!("{offset} {len}: {:?} vs {:?}", w.is_ok(), n.is_ok()),
                    }
                }
            }
        }
    }

    #[test]
    fn a_giant_line_gets_a_location_not_a_snippet() {
        let text = format!("version: 1\napp: [{}]\n", "x,".repeat(5_000));
        let checked = crate::validate::check_str("giant.yaml", &text);
        assert!(checked.has_errors());
        let human = render_human(&checked, false);
        assert!(
            human.len() < 5_000,
            "the line is not echoed: {} bytes",
            human.len()
        );
        assert!(human.contains("giant.yaml:2:"), "{human}");
    }
}
