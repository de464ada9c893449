//! Text from outside (manifest values, token claims, Entra's error descriptions) made safe to show
//! a person: every human-readable renderer passes such text through here before it is written.
//!
//! Why: a terminal obeys control sequences in what it prints. An ESC or BEL inside a tenant name
//! or an `error_description` can retitle the window, clear the screen or hide the lines around it,
//! and Unicode bidirectional overrides can make a line read differently than it is. The C0 and C1
//! control characters, DEL and those overrides are shown as visible `\u{…}` escapes instead.
//! Long values are clipped: a 7.8 MB tenant id must not become an 8 MB diagnostic.
//! JSON keeps every value exact, but serde_json writes DEL, the C1 controls and the bidi
//! characters raw (JSON only requires escaping U+0000–U+001F); [`to_json_pretty`] writes those as
//! `\uXXXX` escapes too, so `cat report.json` is as safe as `jq`.

use std::borrow::Cow;

/// The most characters of one value a message quotes; longer values are clipped.
pub const MAX_SHOWN_CHARS: usize = 100;

/// The most characters a whole message (a diagnostic's text, its help) may have.
pub const MAX_MESSAGE_CHARS: usize = 1_000;

/// Whether a character is unsafe to print raw: C0 controls, DEL, C1 controls, and the Unicode
/// bidirectional formatting characters (embeddings, overrides, isolates, marks).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

fn escape_with(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) && !keep(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text for a terminal that may span lines: newlines and tabs stay, every other unsafe character
/// becomes a visible `\u{…}` escape.
pub fn terminal(text: &str) -> Cow<'_, str> {
    escape_with(text, |c| c == '\n' || c == '\t')
}

/// Text for one line (a table cell, a `key: value` line): newlines and tabs are escaped as well.
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape_with(text, |_| false)
}

/// At most `max` characters of `text`; a clipped text ends with "…" and how much was left out.
pub fn clip(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => {
            let rest = text[cut..].chars().count();
            Cow::Owned(format!("{}… ({rest} more characters)", &text[..cut]))
        }
    }
}

/// A message with every `` `quoted` `` value longer than [`MAX_SHOWN_CHARS`] clipped, and the
/// whole message clipped at [`MAX_MESSAGE_CHARS`]. Messages quote user values in backticks.
pub fn clip_message(message: &str) -> Cow<'_, str> {
    let long_quote = message
        .split('`')
        .skip(1)
        .step_by(2)
        .any(|q| q.len() > MAX_SHOWN_CHARS);
    let clipped: Cow<'_, str> = if long_quote {
        let mut out = String::new();
        for (i, part) in message.split('`').enumerate() {
            if i > 0 {
                out.push('`');
            }
            if i % 2 == 1 {
                out.push_str(&clip(part, MAX_SHOWN_CHARS));
            } else {
                out.push_str(part);
            }
        }
        Cow::Owned(out)
    } else {
        Cow::Borrowed(message)
    };
    match clip(&clipped, MAX_MESSAGE_CHARS) {
        Cow::Borrowed(_) => clipped,
        Cow::Owned(s) => Cow::Owned(s),
    }
}

/// Pretty JSON in which every character [`is_unsafe`] is a `\uXXXX` escape: the same value for
/// every JSON reader, nothing raw for a terminal.
pub fn to_json_pretty<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    let formatter = SafeFormatter(serde_json::ser::PrettyFormatter::new());
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer)?;
    // serde_json writes UTF-8 only; the lossy conversion never replaces anything.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// serde_json's pretty formatter with unsafe characters escaped in string fragments (serde_json
/// has already escaped quotes, backslashes and C0 controls before a fragment gets here).
struct SafeFormatter<'a>(serde_json::ser::PrettyFormatter<'a>);

impl serde_json::ser::Formatter for SafeFormatter<'_> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some((i, c)) = rest.char_indices().find(|&(_, c)| is_unsafe(c)) {
            writer.write_all(&rest.as_bytes()[..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            rest = &rest[i + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(terminal("a\u{1b}]0;pwned\u{7}b"), "a\\u{1b}]0;pwned\\u{7}b");
        assert_eq!(terminal("del\u{7f} c1\u{9b}"), "del\\u{7f} c1\\u{9b}");
        assert_eq!(
            terminal("bidi \u{202e}txt\u{2066}"),
            "bidi \\u{202e}txt\\u{2066}"
        );
        assert_eq!(terminal("cr\rlf"), "cr\\u{d}lf");
        assert_eq!(terminal("two\nlines\ttab"), "two\nlines\ttab");
        assert_eq!(one_line("two\nlines\ttab"), "two\\u{a}lines\\u{9}tab");
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "Contoso Ltd. — Zürich ✓ 日本";
        assert!(matches!(terminal(text), Cow::Borrowed(t) if t == text));
        assert!(matches!(one_line(text), Cow::Borrowed(_)));
        assert!(matches!(clip(text, 100), Cow::Borrowed(_)));
    }

    #[test]
    fn nothing_unsafe_survives_escaping() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        assert!(
            !terminal(&all)
                .chars()
                .any(|c| is_unsafe(c) && c != '\n' && c != '\t')
        );
        assert!(!one_line(&all).chars().any(is_unsafe));
    }

    #[test]
    fn json_escapes_what_serde_json_leaves_raw_and_round_trips() {
        let value = serde_json::json!({"name": "a\u{1b}[2J\u{7f}\u{9b}\u{202e}z", "n": [1, 2]});
        let text = to_json_pretty(&value).unwrap();
        assert!(!text.chars().any(|c| is_unsafe(c) && c != '\n'), "{text}");
        assert!(text.contains(r"a\u001b[2J\u007f\u009b\u202ez"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        // Safe values come out exactly as serde_json's own pretty printer writes them.
        let plain = serde_json::json!({"n": [1, 2], "s": "é\n\"x\""});
        assert_eq!(
            to_json_pretty(&plain).unwrap(),
            serde_json::to_string_pretty(&plain).unwrap()
        );
    }

    #[test]
    fn clipping_counts_characters_not_bytes() {
        assert_eq!(clip("ééééé", 3), "ééé… (2 more characters)");
        assert_eq!(clip("abc", 3), "abc");
    }

    #[test]
    fn long_quoted_values_and_long_messages_are_clipped() {
        let long = "x".repeat(5_000);
        let message = format!("tenant id `{long}` is not a GUID; see `docs`");
        let clipped = clip_message(&message);
        assert!(clipped.len() < 200, "{clipped}");
        assert!(clipped.starts_with("tenant id `xxx"));
        assert!(clipped.ends_with("(4900 more characters)` is not a GUID; see `docs`"));
        let huge = "y ".repeat(10_000);
        assert!(clip_message(&huge).chars().count() < MAX_MESSAGE_CHARS + 40);
        assert_eq!(clip_message("short `ok`"), "short `ok`");
    }
}
