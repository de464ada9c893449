//! The JSON format: the documented machine-readable plan and verify report, pretty-printed with a
//! trailing newline so `>> file` and `| jq` both work.

use serde::Serialize;

use super::Render;
use crate::plan::Plan;
use crate::verify::report::Report;

/// Pretty JSON with a trailing newline.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl Render<Plan> for Json {
    fn render(&self, plan: &Plan) -> String {
        pretty(plan)
    }
}

impl Render<Report> for Json {
    fn render(&self, report: &Report) -> String {
        pretty(report)
    }
}

pub(super) fn pretty<T: Serialize>(value: &T) -> String {
    // These types have string keys and no fallible Serialize impls, so serde_json cannot fail on
    // them; should that ever change, the output still says what went wrong instead of panicking.
    match crate::sanitize::to_json_pretty(value) {
        Ok(mut text) => {
            text.push('\n');
            text
        }
        Err(e) => format!(
            "{{\"error\": {}}}\n",
            serde_json::Value::String(e.to_string())
        ),
    }
}
