//! Keeping secrets out of diagnostics. A manifest must never hold a secret, but people paste one
//! anyway: under `client_secret`, on the line after it, at the wrong level, in a second
//! `credential` block, behind an anchor that a role list then reuses. Whatever is written under a
//! credential-like key is hidden from every snippet and every message, wherever the key appears.
//!
//! Two sources decide what is hidden, and both are used:
//! - a lexical scan of the text, which works even when the YAML does not parse (syntax errors,
//!   nesting and alias limits): every `key:` whose name looks like a credential hides the rest of
//!   its line and every following line that belongs to it (more indented, a block sequence at the
//!   same indent, an open flow collection or quoted scalar). It errs on the side of hiding;
//! - the parsed tree, which knows where anchored content really is: everything under such a key,
//!   including content reached through an alias, and every scalar it holds. Those scalars are then
//!   redacted from messages, so `roles: [*s]` cannot quote `&s`'s secret back.

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::manifest::tree::{Node, Span, Value};

/// Whether a mapping key names a credential (or part of one), case-insensitively: `credential`,
/// or anything containing `secret`, `password`, `token`, `key` or `assertion`.
pub(crate) fn credential_like(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "credential",
        "secret",
        "password",
        "token",
        "key",
        "assertion",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// Texts shorter than this are not redacted from messages: they would garble the message and
/// cannot be a real secret.
const MIN_REDACTED: usize = 4;

/// Words the format itself uses inside a credential block; they are not secrets, and the help
/// texts that quote them must stay readable.
const FORMAT_WORDS: &[&str] = &[
    "env",
    "file",
    "CONSENTRY_CLIENT_SECRET",
    "client_secret",
    "certificate",
    "password",
    "signing",
    "ps256",
    "rs256",
    "PS256",
    "RS256",
    "federated",
    "github",
    "kubernetes",
    "true",
    "false",
    "null",
];

/// What must not be shown: byte ranges of the source and texts that must not be quoted.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hidden {
    ranges: Vec<(usize, usize)>,
    texts: Vec<String>,
}

impl Hidden {
    /// Hides `span`'s bytes (and, when rendered, the rest of its first line).
    pub(crate) fn span(&mut self, span: Span) {
        if span.line > 0 {
            self.ranges.push((span.offset, span.offset + span.len));
        }
    }

    /// A value that must not be quoted (a value is never skipped for looking like a key name:
    /// `Xq8~SeCrEt` is a secret even though it contains "secret").
    fn text(&mut self, text: &str) {
        let text = text.trim();
        // `certificate:` as a whole line is the format's key, not a value.
        let bare = text.trim_end_matches(':');
        if text.chars().count() >= MIN_REDACTED && !FORMAT_WORDS.contains(&bare) {
            self.texts.push(text.to_owned());
        }
    }

    /// A word from the lexical scan, which cannot tell keys from values: key names like
    /// `client_secret` (letters, `_` and `-` only, credential-like) stay quotable, since help
    /// texts name them.
    fn word(&mut self, word: &str) {
        let key_name = word
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-')
            && credential_like(word);
        if !key_name {
            self.text(word);
        }
    }

    /// Hides the words of a hidden stretch of source from messages too: the stretch as a whole
    /// and each of its tokens (quotes, anchors and YAML punctuation split them).
    fn words_of(&mut self, written: &str) {
        for line in written.lines() {
            let line = line.trim().trim_matches(['"', '\'']);
            self.word(line);
            for token in line.split(|c: char| c.is_whitespace() || "{}[],:&*!|>\"'#".contains(c)) {
                self.word(token);
            }
        }
    }

    /// Scans the text for credential-like keys (see the module docs).
    pub(crate) fn scan_text(&mut self, text: &str) {
        let lines: Vec<(usize, &str)> = line_spans(text).collect();
        let mut i = 0;
        while i < lines.len() {
            let (start, line) = lines[i];
            let Some(colon) = credential_colon(line) else {
                i += 1;
                continue;
            };
            let indent = indent_of(line);
            let rest = &line[colon + 1..];
            let mut state = Flow::default();
            let value = strip_properties(rest);
            let tracks_flow = value.starts_with(['"', '\'', '[', '{']);
            if tracks_flow {
                state.feed(value);
            }
            let bare = value.is_empty() || value.starts_with(['|', '>', '#']);
            let mut end = start + line.len();
            let mut j = i + 1;
            while let Some(&(next_start, next)) = lines.get(j) {
                let blank = next.trim().is_empty();
                let next_indent = indent_of(next);
                let belongs = state.open()
                    || next_indent > indent
                    || (bare && next_indent == indent && next.trim_start().starts_with('-'));
                if !blank && !belongs {
                    break;
                }
                if tracks_flow {
                    state.feed(next);
                }
                if !blank {
                    end = next_start + next.len();
                }
                j += 1;
            }
            let from = start + colon + 1;
            self.words_of(&text[from..end]);
            self.ranges.push((from, start + line.len()));
            // Following lines are hidden from their first character, except the format's own
            // key names (`client_secret:`, `env:`), which say what is there without showing it.
            for &(next_start, next) in &lines[i + 1..j] {
                let content = next.trim_start_matches([' ', '-']);
                let skip = next.len() - content.len() + format_key_len(content);
                let from = (next_start + skip).min(end);
                let to = (next_start + next.len()).min(end);
                if from < to {
                    self.ranges.push((from, to));
                }
            }
            // Lines inside the hidden stretch may hold further keys; they are hidden already.
            i = j.max(i + 1);
        }
    }

    /// Walks the parsed tree: everything under a credential-like key is hidden, wherever its
    /// content is written (an alias's anchor included).
    pub(crate) fn scan_tree(&mut self, root: &Node, text: &str) {
        // Iterative: the tree is at most MAX_DEPTH deep, but aliases may make it wide.
        let mut stack = vec![(root, false)];
        while let Some((node, secret)) = stack.pop() {
            // Scalars are hidden one by one (a collection's own span would hide the format's
            // key names with it).
            if secret && !matches!(node.value, Value::Seq(_) | Value::Map(_)) {
                self.span(node.span);
                self.span(node.defined);
                match &node.value {
                    Value::Str(s) => self.text(s),
                    Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                        let d = node.defined;
                        if let Some(written) = text.get(d.offset..d.offset + d.len) {
                            self.text(written);
                        }
                    }
                    _ => {}
                }
            }
            match &node.value {
                Value::Seq(items) => stack.extend(items.iter().map(|n| (n, secret))),
                Value::Map(pairs) => {
                    for (key, value) in pairs {
                        let names_secret =
                            matches!(&key.value, Value::Str(k) if credential_like(k));
                        let format_word = matches!(&key.value, Value::Str(k) if FORMAT_WORDS.contains(&k.as_str()));
                        if secret && !names_secret && !format_word {
                            stack.push((key, true));
                        }
                        stack.push((value, secret || names_secret));
                    }
                }
                _ => {}
            }
        }
    }

    /// The text with every hidden range masked (see [`mask`]).
    pub(crate) fn mask(&self, text: &str) -> String {
        let mut bytes = text.as_bytes().to_vec();
        for &(from, to) in &self.ranges {
            // Leading blanks stay, so `key: ***` reads as written.
            let from = floor_boundary(text, from);
            let from = from + text[from..].len() - text[from..].trim_start_matches(' ').len();
            let line_end = text[from..].find('\n').map_or(text.len(), |i| from + i);
            let to = ceil_boundary(text, to.clamp(line_end, text.len()));
            for byte in &mut bytes[from..to] {
                if *byte != b'\n' && *byte != b'\r' {
                    *byte = b'*';
                }
            }
        }
        // Whole characters were replaced by ASCII, so the bytes are still UTF-8.
        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }

    /// A redactor for messages: every hidden text becomes `***`.
    pub(crate) fn redactor(mut self) -> Redactor {
        self.texts.sort();
        self.texts.dedup();
        Redactor(
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&self.texts)
                .ok()
                .filter(|_| !self.texts.is_empty()),
        )
    }
}

/// Replaces hidden texts in messages.
#[derive(Debug)]
pub(crate) struct Redactor(Option<AhoCorasick>);

impl Redactor {
    /// `message` with every hidden text replaced by `***`.
    pub(crate) fn redact<'a>(&self, message: &'a str) -> Cow<'a, str> {
        match &self.0 {
            Some(ac) if ac.is_match(message) => {
                let mut out = String::with_capacity(message.len());
                ac.replace_all_with(message, &mut out, |_, _, dst| {
                    dst.push_str("***");
                    true
                });
                Cow::Owned(out)
            }
            _ => Cow::Borrowed(message),
        }
    }
}

/// Lines with their byte offsets (the `\n` excluded, a `\r` before it excluded too).
fn line_spans(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0;
    text.split('\n').map(move |line| {
        let at = start;
        start += line.len() + 1;
        (at, line.strip_suffix('\r').unwrap_or(line))
    })
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The length of a leading `key:` when the key is one of the format's own words or names a
/// credential; 0 otherwise.
fn format_key_len(content: &str) -> usize {
    content
        .find(':')
        .filter(|&colon| {
            let key = &content[..colon];
            !key.contains(char::is_whitespace)
                && (credential_like(key) || FORMAT_WORDS.contains(&key))
        })
        .map_or(0, |colon| colon + 1)
}

/// The byte index of the first `:` on the line whose key looks like a credential.
fn credential_colon(line: &str) -> Option<usize> {
    line.match_indices(':')
        .map(|(i, _)| i)
        .find(|&colon| credential_like(key_before(&line[..colon])))
}

/// The key written just before a colon: a quoted name, or the last plain word.
fn key_before(before: &str) -> &str {
    let before = before.trim_end();
    if let Some(quote) = before.chars().last().filter(|c| *c == '"' || *c == '\'') {
        let inner = &before[..before.len() - 1];
        return inner.rfind(quote).map_or(inner, |i| &inner[i + 1..]);
    }
    // After the separator, which may be a multi-byte space (U+2000 …).
    let start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| c.is_whitespace() || "{[,".contains(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    &before[start..]
}

/// A value without its leading anchor (`&a`) or tag (`!t`), trimmed.
fn strip_properties(value: &str) -> &str {
    let mut value = value.trim();
    while value.starts_with(['&', '!']) {
        value = value
            .find(char::is_whitespace)
            .map_or("", |i| value[i..].trim_start());
    }
    value
}

/// Open flow collections and quoted scalars, so a value spanning lines is followed to its end.
#[derive(Debug, Default)]
struct Flow {
    depth: usize,
    quote: Option<char>,
    escaped: bool,
}

impl Flow {
    fn feed(&mut self, text: &str) {
        for c in text.chars() {
            match self.quote {
                Some('"') if self.escaped => self.escaped = false,
                Some('"') if c == '\\' => self.escaped = true,
                Some(q) if c == q => self.quote = None,
                Some(_) => {}
                None => match c {
                    '"' | '\'' => self.quote = Some(c),
                    '[' | '{' => self.depth += 1,
                    ']' | '}' => self.depth = self.depth.saturating_sub(1),
                    _ => {}
                },
            }
        }
    }

    fn open(&self) -> bool {
        self.depth > 0 || self.quote.is_some()
    }
}

fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn ceil_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset += 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        let mut hidden = Hidden::default();
        hidden.scan_text(text);
        hidden.mask(text)
    }

    #[test]
    fn a_multi_byte_space_before_a_key_is_a_separator() {
        // Found by tests/fuzz_manifest.rs: the scan sliced inside U+2000.
        assert_eq!(key_before("a\u{2000}token"), "token");
        let out = masked("x\u{2000}token: s3cr3t\n");
        assert!(!out.contains("s3cr3t"), "{out}");
    }

    #[test]
    fn credential_like_keys() {
        for key in [
            "credential",
            "client_secret",
            "Password",
            "ACCESS_TOKEN",
            "private_key",
            "client_assertion",
            "apiKey",
        ] {
            assert!(credential_like(key), "{key}");
        }
        for key in [
            "name",
            "client_id",
            "roles",
            "tenants",
            "redirect_uri",
            "id",
        ] {
            assert!(!credential_like(key), "{key}");
        }
    }

    #[test]
    fn the_value_on_the_next_lines_is_hidden() {
        let text = "app:\n  client_secret:\n    s3cr3t-one\n    s3cr3t-two\n  name: x\n";
        let out = masked(text);
        assert!(!out.contains("s3cr3t"), "{out}");
        assert!(out.contains("  name: x"), "{out}");
        assert_eq!(out.len(), text.len());
    }

    #[test]
    fn a_block_sequence_at_the_same_indent_is_hidden() {
        let out = masked("password:\n- s3cr3t\n- other\nname: x\n");
        assert!(!out.contains("s3cr3t") && !out.contains("other"), "{out}");
        assert!(out.contains("name: x"), "{out}");
    }

    #[test]
    fn flow_and_quoted_values_are_followed_to_their_end() {
        let out = masked("credential: {client_secret:\n s3cr3t,\nx: y}\nname: n\n");
        assert!(!out.contains("s3cr3t") && !out.contains("x: y"), "{out}");
        assert!(out.contains("name: n"), "{out}");
        let out = masked("token: \"abc\ns3cr3t\"\nname: n\n");
        assert!(!out.contains("s3cr3t"), "{out}");
        assert!(out.contains("name: n"), "{out}");
        let out = masked("app: {name: a, client_secret: s3cr3t}\n");
        assert!(!out.contains("s3cr3t"), "{out}");
    }

    #[test]
    fn block_scalars_and_anchors_are_hidden() {
        let out = masked("key: &k |\n  s3cr3t\n  more\nroles: [*k]\n");
        assert!(!out.contains("s3cr3t") && !out.contains("more"), "{out}");
        assert!(out.contains("roles: [*k]"), "{out}");
    }

    #[test]
    fn texts_reached_through_aliases_are_redacted() {
        let text =
            "app:\n  client_secret: &s VALUE-1234\nroles: [*s]\nother: &o PLAIN\nsecret: *o\n";
        let tree = crate::manifest::parse(text).unwrap();
        let mut hidden = Hidden::default();
        hidden.scan_tree(&tree, text);
        let out = hidden.mask(text);
        assert!(
            !out.contains("PLAIN"),
            "the anchor of an aliased secret is hidden: {out}"
        );
        let redactor = hidden.redactor();
        assert_eq!(
            redactor.redact("no permission `VALUE-1234`, nor `PLAIN`"),
            "no permission `***`, nor `***`"
        );
        assert_eq!(redactor.redact("see `env`"), "see `env`");
    }
}
