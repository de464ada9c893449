//! Fuzzes the manifest reader: any bytes, read as text, through validation and every rendering
//! (`consentry::validate::check_str`; `render_human` plain and coloured, `render_json`, and the
//! GitHub annotations of `validate --format github`).
//! Panics are the findings; a planted secret is checked too: wherever the input writes
//! `client_secret: FUZZ-PLANTED-SECRET`, no rendering may show it, and no uncoloured rendering may
//! carry a raw control character (`sanitize::is_unsafe`) other than `\n` and `\t`.
#![no_main]

use libfuzzer_sys::fuzz_target;

const PLANTED: &str = "FUZZ-PLANTED-SECRET";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let checked = consentry::validate::check_str("fuzz.yaml", &text);
    let human = consentry::validate::render_human(&checked, false);
    let colored = consentry::validate::render_human(&checked, true);
    let json = consentry::validate::render_json(&checked);
    let github = consentry::report::render_diagnostics(&checked);
    for (what, shown) in [("human", &human), ("JSON", &json), ("GitHub", &github)] {
        if let Some(c) = shown
            .chars()
            .find(|&c| consentry::sanitize::is_unsafe(c) && c != '\n' && c != '\t')
        {
            panic!("{what} rendering shows a raw {c:?}");
        }
    }
    // Only meaningful when the secret sits on a line of its own key, as the proptest mutator keeps it.
    let planted_line = format!("client_secret: {PLANTED}");
    if text.lines().any(|l| l.trim_start() == planted_line) {
        assert!(!human.contains(PLANTED), "secret in human output");
        assert!(!colored.contains(PLANTED), "secret in colored output");
        assert!(!json.contains(PLANTED), "secret in JSON output");
        assert!(!github.contains(PLANTED), "secret in GitHub annotations");
    }
});
