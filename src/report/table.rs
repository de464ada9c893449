//! The terminal table format: a plan as one row per tenant, a verify report as a tenant × role
//! matrix, each followed by the notes and the summary line a human reads next.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use tabled::builder::Builder;
use tabled::settings::object::{Columns, Rows};
use tabled::settings::{Alignment, Style};

use tabled::settings::Width;

use super::{Coverage, Render, api_label, entra_line, extras, short_roles, unknown};
use crate::plan::{Action, Plan, PlannedTenant};
use crate::verify::report::{Report, Status, TenantReport};

/// A tabled table with a summary line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Table;

impl Render<Plan> for Table {
    fn render(&self, plan: &Plan) -> String {
        // The registration fix leads: until it is made, no consent link can succeed for the
        // tenants it blocks.
        let lead = if plan.summary.blocked_by_app > 0 {
            format!(
                "{}\n\n",
                super::registration_fix(plan.summary.blocked_by_app)
            )
        } else {
            String::new()
        };
        let mut builder = Builder::new();
        builder.push_record(["Tenant", "Id", "Action", "Roles"]);
        for tenant in &plan.tenants {
            builder.push_record([
                one_line(&super::labelled(&tenant.name, &tenant.labels)),
                one_line(tenant.id.as_str()),
                tenant.action.to_string(),
                roles_cell(tenant),
            ]);
        }
        let mut table = builder.build();
        table.with(Style::sharp());
        let mut out = lead;
        out.push_str(&table.to_string());
        out.push('\n');

        // Links are ~190 characters: in a column they would make the table wider than any
        // terminal, so each goes on a line of its own, where terminals make it clickable. Only
        // the links someone must send are listed; the JSON format carries every tenant's.
        let links: Vec<(&PlannedTenant, &str)> = plan
            .tenants
            .iter()
            .filter(|t| matches!(t.action, Action::Consent | Action::Reconsent))
            .filter_map(|t| t.consent_url.as_deref().map(|url| (t, url)))
            .collect();
        if !links.is_empty() {
            out.push_str("\nAdmin-consent links to send:\n");
            for (tenant, url) in links {
                let _ = writeln!(
                    out,
                    "  {} ({}):\n    {url}",
                    one_line(&tenant.name),
                    tenant.action
                );
            }
        }

        // The reasons that change what a human does next; consent and none speak for themselves.
        let notes: Vec<&PlannedTenant> = plan
            .tenants
            .iter()
            .filter(|t| {
                matches!(t.action, Action::Investigate | Action::Offboard)
                    || t.withheld_roles.is_some()
            })
            .collect();
        if !notes.is_empty() {
            out.push('\n');
            for tenant in notes {
                let _ = writeln!(
                    out,
                    "{} ({}): {}",
                    one_line(&tenant.name),
                    tenant.action,
                    tenant.reason
                );
            }
        }
        let s = &plan.summary;
        let _ = writeln!(
            out,
            "\n{} tenants: {} to consent, {} to re-consent, {} to offboard, {} to investigate, {} \
             with nothing to do.",
            s.tenants, s.consent, s.reconsent, s.offboard, s.investigate, s.none
        );
        // Every value was escaped where it was written; this pass is the guarantee that
        // nothing from a manifest, a token or Entra sends a control sequence to a terminal.
        crate::sanitize::terminal(&out).into_owned()
    }
}

/// One line per API; for a re-consent, the roles the tenant has not granted yet are marked new.
fn roles_cell(tenant: &PlannedTenant) -> String {
    tenant
        .required
        .iter()
        .map(|(api, roles)| {
            let new = marked(tenant.new_roles.as_ref(), api);
            let missing = marked(tenant.missing_roles.as_ref(), api);
            let roles: Vec<String> = roles
                .iter()
                .map(|r| {
                    if new.contains(r.as_str()) {
                        format!("{} (new)", one_line(r))
                    } else if missing.contains(r.as_str()) {
                        format!("{} (not granted)", one_line(r))
                    } else {
                        one_line(r)
                    }
                })
                .collect();
            format!("{}: {}", one_line(api_label(api)), roles.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The roles of `api` in one of a planned tenant's role maps.
fn marked<'t>(roles: Option<&'t crate::plan::Roles>, api: &str) -> BTreeSet<&'t str> {
    roles
        .and_then(|n| n.get(api))
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect()
}

/// Granted, as the matrix marks it.
const GRANTED: &str = "✓";
/// Required, not granted.
const MISSING: &str = "✗";
/// Granted, not required.
const EXTRA: &str = "+";
/// Required, but nothing is known (no usable token).
const UNKNOWN: &str = "?";

impl Render<Report> for Table {
    fn render(&self, report: &Report) -> String {
        verify_table(report, &TableOptions::default())
    }
}

/// How the verify table is laid out for one terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableOptions {
    /// The terminal's width in columns; `None` lays the full matrix out whatever its width.
    pub width: Option<usize>,
    /// ANSI colour for statuses and marks.
    pub color: bool,
    /// Row order.
    pub sort: Sort,
}

/// The order of the verify table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Problems first: worst status first, then by name (`ok` tenants last).
    #[default]
    Severity,
    /// The manifest's order.
    Manifest,
}

/// A column of the role matrix: a role required somewhere, or one only ever granted as an extra.
struct MatrixColumn {
    api: String,
    role: String,
}

/// The verify report as a terminal table fitted to `options.width`: an app-wide failure first,
/// then a tenant × role matrix when it fits, else one row per tenant with its status and its
/// missing and extra roles; then what needs attention, the status counts and the coverage line.
pub fn verify_table(report: &Report, options: &TableOptions) -> String {
    let coverage = Coverage::of(report);
    let mut tenants: Vec<&TenantReport> = report.tenants.iter().collect();
    if options.sort == Sort::Severity {
        // Stable: equal statuses and names keep manifest order.
        tenants.sort_by(|a, b| b.status.cmp(&a.status).then_with(|| a.name.cmp(&b.name)));
    }
    let mut out = String::new();
    if let Some(failure) = &report.app_failure {
        let text = format!(
            "App-wide failure ({}): {}\n  Fix: {}\n  {} of {} tenants were left undetermined by it.",
            failure.status,
            one_line(&entra_line(&failure.error)),
            one_line(&failure.fix),
            failure.tenants,
            report.tenants.len()
        );
        let _ = writeln!(out, "{}\n", wrap_words(&text, options.width));
    }
    let columns = matrix_columns(report, &coverage);
    let matrix = matrix(&tenants, &columns);
    let fits = options.width.is_none_or(|w| widest_line(&matrix) <= w);
    if fits {
        out.push_str(&matrix);
        let _ = writeln!(
            out,
            "\n{GRANTED} granted  {MISSING} missing  {EXTRA} extra (granted, not required)  \
             {UNKNOWN} unknown"
        );
        let with_extras: Vec<String> = tenants
            .iter()
            .filter_map(|t| {
                let extra = extras(t);
                (!extra.is_empty())
                    .then(|| format!("  {}: {}", one_line(&t.name), short_roles(&extra)))
            })
            .collect();
        if !with_extras.is_empty() {
            let _ = writeln!(out, "\nExtra roles (granted, not required):");
            for line in with_extras {
                let _ = writeln!(out, "{line}");
            }
        }
    } else {
        out.push_str(&compact(&tenants, options.width.unwrap_or(80)));
    }

    let mut explained = 0;
    let mut attention: Vec<String> = Vec::new();
    for t in tenants.iter().filter(|t| t.status != Status::Ok) {
        if t.app_failure {
            explained += 1;
            continue;
        }
        let mut line = format!(
            "  {} ({}): {}",
            one_line(&t.name),
            t.status,
            t.hint.as_deref().unwrap_or("no hint")
        );
        if let Some(error) = &t.error {
            // Entra's words in full where the hint points at them or no table entry explains the
            // code; a known code's advice is the hint, and the code is enough beside it.
            let see_error = t.hint.as_deref().is_some_and(|h| h.contains("(see error)"));
            if see_error || matches!(t.status, Status::InvalidToken | Status::Error) {
                let _ = write!(line, "\n    error: {}", one_line(&entra_line(error)));
            } else if let Some(code) = &error.code {
                let _ = write!(line, " [{code}]");
            }
        }
        if let Some(url) = &t.consent_url {
            let _ = write!(line, "\n    admin consent: {url}");
        }
        attention.push(line);
    }
    if explained > 0 {
        attention.push(format!(
            "  {explained} tenant{}: see the app-wide failure above",
            if explained == 1 { "" } else { "s" }
        ));
    }
    if !attention.is_empty() {
        let _ = writeln!(out, "\nNeeds attention:");
        for line in attention {
            let _ = writeln!(out, "{}", wrap_words(&line, options.width));
        }
    }
    let _ = writeln!(out, "\n{}", wrap_words(&status_line(report), options.width));
    let _ = writeln!(
        out,
        "{}",
        wrap_parts(&coverage.summary_line(report.tenants.len()), options.width)
    );
    // For audits: which credential the app signed in with.
    if let Some(credential) = &report.credential {
        let _ = write!(out, "Credential: {}", credential.kind.as_str());
        if let Some(thumbprint) = &credential.thumbprint {
            let _ = write!(out, " (certificate thumbprint {thumbprint})");
        }
        out.push('\n');
    }
    // Every value was escaped where it was written; this pass is the guarantee that
    // nothing from a manifest, a token or Entra sends a control sequence to a terminal. Colour
    // is added after it, by consentry alone.
    let out = crate::sanitize::terminal(&out).into_owned();
    if options.color { colorize(&out) } else { out }
}

/// Required roles (APIs in manifest order, roles sorted), then per API the roles only ever
/// granted as extras, so a tenant's `+` has a column to show in.
fn matrix_columns(report: &Report, coverage: &Coverage) -> Vec<MatrixColumn> {
    let mut columns: Vec<MatrixColumn> = Vec::new();
    let mut api_order: Vec<&str> = Vec::new();
    for api in report.tenants.iter().flat_map(|t| &t.apis) {
        if !api_order.contains(&api.api.as_str()) {
            api_order.push(&api.api);
        }
    }
    for api in api_order {
        columns.extend(
            coverage
                .columns
                .iter()
                .filter(|c| c.api == api)
                .map(|c| MatrixColumn {
                    api: c.api.clone(),
                    role: c.role.clone(),
                }),
        );
        let only_extra: BTreeSet<&str> = report
            .tenants
            .iter()
            .flat_map(|t| &t.apis)
            .filter(|a| a.api == api)
            .flat_map(|a| a.extra.iter().map(String::as_str))
            .filter(|role| {
                !coverage
                    .columns
                    .iter()
                    .any(|c| c.api == api && c.role == *role)
            })
            .collect();
        columns.extend(only_extra.into_iter().map(|role| MatrixColumn {
            api: api.to_owned(),
            role: role.to_owned(),
        }));
    }
    columns
}

fn matrix(tenants: &[&TenantReport], columns: &[MatrixColumn]) -> String {
    let mut builder = Builder::new();
    let mut header = vec!["Tenant".to_owned(), "Status".to_owned()];
    // Two-line headers keep the role columns as narrow as the role names.
    header.extend(
        columns
            .iter()
            .map(|c| format!("{}\n{}", one_line(api_label(&c.api)), one_line(&c.role))),
    );
    builder.push_record(header);
    for tenant in tenants {
        let mut row = vec![
            one_line(&super::labelled(&tenant.name, &tenant.labels)),
            tenant.status.to_string(),
        ];
        row.extend(columns.iter().map(|column| {
            let Some(api) = tenant.apis.iter().find(|a| a.api == column.api) else {
                return String::new();
            };
            let required = api.required.contains(&column.role);
            let granted = api.granted.contains(&column.role);
            let mark = match (required, granted) {
                (true, _) if unknown(api.status) => UNKNOWN,
                (true, true) => GRANTED,
                (true, false) => MISSING,
                (false, true) => EXTRA,
                (false, false) => "",
            };
            mark.to_owned()
        }));
        builder.push_record(row);
    }
    let mut table = builder.build();
    table
        .with(Style::sharp())
        .modify(Columns::new(2..), Alignment::center())
        .modify(Rows::first(), Alignment::left());
    let mut text = table.to_string();
    text.push('\n');
    text
}

/// One row per tenant: its status, then its missing (`✗`) and extra (`+`) roles, one API per line,
/// wrapped so the table is no wider than `width`. Names longer than 24 columns wrap too.
fn compact(tenants: &[&TenantReport], width: usize) -> String {
    let mut builder = Builder::new();
    builder.push_record([
        "Tenant".to_owned(),
        "Status".to_owned(),
        format!("Roles ({MISSING} missing, {EXTRA} extra)"),
    ]);
    let mut rows = Vec::with_capacity(tenants.len());
    for tenant in tenants {
        let mut lines: Vec<String> = Vec::new();
        if unknown(tenant.status) && tenant.apis.iter().all(|a| a.missing.is_empty()) {
            lines.push(format!("{UNKNOWN} nothing known"));
        }
        lines.extend(
            tenant
                .apis
                .iter()
                .filter(|a| !a.missing.is_empty())
                .map(|a| format!("{MISSING} {}", api_roles(&a.api, &a.missing))),
        );
        lines.extend(
            tenant
                .apis
                .iter()
                .filter(|a| !a.extra.is_empty())
                .map(|a| format!("{EXTRA} {}", api_roles(&a.api, &a.extra))),
        );
        rows.push((
            one_line(&super::labelled(&tenant.name, &tenant.labels)),
            tenant.status.to_string(),
            lines,
        ));
    }
    let name = tenants
        .iter()
        .map(|t| {
            tabled::grid::util::string::get_text_width(&one_line(&super::labelled(
                &t.name, &t.labels,
            )))
        })
        .max()
        .unwrap_or(0)
        .clamp(6, 24);
    let status = tenants
        .iter()
        .map(|t| t.status.as_str().len())
        .max()
        .unwrap_or(0)
        .max(6);
    // Four borders and a space either side of three cells.
    let roles = width.saturating_sub(name + status + 10).max(20);
    for (name, status, lines) in rows {
        let cell: Vec<String> = lines.iter().flat_map(|l| wrap_roles(l, roles)).collect();
        builder.push_record([name, status, cell.join("\n")]);
    }
    let mut table = builder.build();
    table
        .with(Style::sharp())
        .modify(Columns::new(0..1), Width::wrap(name).keep_words(true))
        .modify(Columns::new(2..3), Width::wrap(roles));
    let mut text = table.to_string();
    text.push('\n');
    text
}

/// A role line broken after its commas into lines of at most `width` columns, continuation
/// lines indented under the roles. (A role name longer than the column is cut by the table.)
fn wrap_roles(line: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for word in line.split_inclusive(", ") {
        let fits = tabled::grid::util::string::get_text_width(&current)
            + tabled::grid::util::string::get_text_width(word.trim_end())
            <= width;
        if current.trim().is_empty() || fits {
            current.push_str(word);
        } else {
            out.push(current.trim_end().to_owned());
            current = format!("    {word}");
        }
    }
    out.push(current.trim_end().to_owned());
    out
}

/// `MDE: A, B`.
fn api_roles(api: &str, roles: &[String]) -> String {
    let roles: Vec<String> = roles.iter().map(|r| one_line(r)).collect();
    format!("{}: {}", one_line(api_label(api)), roles.join(", "))
}

/// `40 tenants: 30 ok, 2 extra_roles, 5 missing_roles, 3 not_consented`, best first.
fn status_line(report: &Report) -> String {
    let parts: Vec<String> = Status::ALL
        .iter()
        .filter_map(|s| {
            let n = report.tenants.iter().filter(|t| t.status == *s).count();
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect();
    let n = report.tenants.len();
    format!(
        "{n} tenant{}: {}",
        if n == 1 { "" } else { "s" },
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(", ")
        }
    )
}

/// A ` · `-separated line broken between its parts so no line is wider than `width`.
fn wrap_parts(line: &str, width: Option<usize>) -> String {
    let Some(width) = width else {
        return line.to_owned();
    };
    let mut out = String::new();
    let mut current = String::new();
    for part in line.split(" · ") {
        if !current.is_empty() && current.chars().count() + 3 + part.chars().count() > width {
            out.push_str(&current);
            out.push('\n');
            current = format!("  {part}");
        } else if current.is_empty() {
            current.push_str(part);
        } else {
            current.push_str(" · ");
            current.push_str(part);
        }
    }
    out.push_str(&current);
    out
}

/// Each line of `text` broken between words so it fits `width`; continuation lines are indented
/// two more than the line's own indent. A word longer than the width (a link) keeps its line, so
/// terminals can still open it.
fn wrap_words(text: &str, width: Option<usize>) -> String {
    let Some(width) = width else {
        return text.to_owned();
    };
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let continuation = " ".repeat(indent + 2);
        let mut current = line[..indent].to_owned();
        let mut empty = true;
        for word in line.split_whitespace() {
            let used = current.chars().count();
            if !empty && used + 1 + word.chars().count() > width {
                out.push(std::mem::replace(&mut current, continuation.clone()));
                empty = true;
            }
            if !empty {
                current.push(' ');
            }
            current.push_str(word);
            empty = false;
        }
        out.push(current);
    }
    out.join("\n")
}

fn widest_line(text: &str) -> usize {
    text.lines()
        .map(tabled::grid::util::string::get_text_width)
        .max()
        .unwrap_or(0)
}

/// ANSI colour for the status cells and the matrix marks of table rows (lines starting `│`),
/// found by position from the table's top border so a tenant name cannot shift them.
fn colorize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut bounds: Vec<usize> = Vec::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with('┌') {
            bounds = line
                .chars()
                .enumerate()
                .filter(|(_, c)| matches!(c, '┌' | '┬' | '┐'))
                .map(|(i, _)| i)
                .collect();
        }
        if !line.starts_with('│') || bounds.len() < 3 {
            if !line.starts_with('│') && !line.starts_with('├') && !line.starts_with('┌') {
                bounds.clear();
            }
            out.push_str(line);
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut column = 0;
        let mut cell_start = 0;
        for (i, c) in chars.iter().enumerate() {
            if bounds.get(column + 1) == Some(&i) || (i == 0) {
                if i > 0 {
                    out.push_str(&paint(&chars[cell_start..i], column));
                    column += 1;
                }
                out.push(*c);
                cell_start = i + 1;
            }
        }
        if cell_start < chars.len() {
            out.extend(&chars[cell_start..]);
        }
    }
    out
}

/// One cell, coloured by what it says: a status in column 1, a mark in the matrix columns.
fn paint(cell: &[char], column: usize) -> String {
    let text: String = cell.iter().collect();
    let word = text.trim();
    let colour = if column == 1 {
        Status::ALL
            .iter()
            .find(|s| s.as_str() == word)
            .map(|s| status_colour(*s))
    } else if column >= 2 {
        match word {
            GRANTED => Some(GREEN),
            MISSING => Some(RED),
            EXTRA => Some(YELLOW),
            UNKNOWN => Some(MAGENTA),
            _ => None,
        }
    } else {
        None
    };
    match colour {
        Some(code) if !word.is_empty() => text.replacen(word, &format!("{code}{word}\x1b[0m"), 1),
        _ => text,
    }
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const MAGENTA: &str = "\x1b[35m";

fn status_colour(status: Status) -> &'static str {
    match status {
        Status::Ok => GREEN,
        Status::ExtraRoles => YELLOW,
        s if s.is_undetermined() => MAGENTA,
        _ => RED,
    }
}

/// A value on one line with its control characters escaped: a newline in a cell would split the
/// row, an escape sequence would reach the terminal.
pub(super) fn one_line(text: &str) -> String {
    crate::sanitize::one_line(&text.replace(['\n', '\r'], " ")).into_owned()
}
