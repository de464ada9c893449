//! "Did you mean …": the nearest known name to a misspelt one.

/// Names longer than this get no suggestion. Edit distance costs the product of the two lengths:
/// an 8 MB role name took 30 s (and every alias to it as long again), and no known name is within
/// typo distance of anything this long anyway.
pub const MAX_SUGGESTED_LEN: usize = 100;

/// The candidate closest to `wanted`: a case-insensitive match first, else the most similar by
/// Damerau-Levenshtein distance when it is close enough to be a typo. Ties keep catalog order.
/// `None` for names longer than [`MAX_SUGGESTED_LEN`] bytes.
pub fn nearest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if wanted.len() > MAX_SUGGESTED_LEN {
        return None;
    }
    let wanted_lower = wanted.to_lowercase();
    let mut best: Option<(&'a str, f64)> = None;
    for candidate in candidates {
        let lower = candidate.to_lowercase();
        if lower == wanted_lower {
            return Some(candidate);
        }
        let distance = strsim::damerau_levenshtein(&wanted_lower, &lower);
        let score = strsim::normalized_damerau_levenshtein(&wanted_lower, &lower);
        let close = distance <= 1 || score >= 0.7;
        if close && best.is_none_or(|(_, s)| score > s) {
            best = Some((candidate, score));
        }
    }
    best.map(|(c, _)| c)
}

/// `help` text for a suggestion: "did you mean `x`?".
pub fn did_you_mean(suggestion: Option<&str>) -> Option<String> {
    suggestion.map(|s| format!("did you mean `{s}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: [&str; 4] = [
        "AdvancedHunting.Read.All",
        "CustomDetections.ReadWrite.All",
        "Incident.Read.All",
        "Incident.ReadWrite.All",
    ];

    #[test]
    fn the_screenshot_typo_is_corrected() {
        assert_eq!(
            nearest("Incidents.Read.All", ROLES),
            Some("Incident.Read.All")
        );
    }

    #[test]
    fn case_only_mistakes_are_corrected() {
        assert_eq!(
            nearest("incident.readwrite.all", ROLES),
            Some("Incident.ReadWrite.All")
        );
    }

    #[test]
    fn field_typos_are_corrected() {
        let fields = ["name", "client_id", "redirect_uri", "credential"];
        assert_eq!(nearest("client-id", fields), Some("client_id"));
        assert_eq!(nearest("redirect_url", fields), Some("redirect_uri"));
        assert_eq!(nearest("credentials", fields), Some("credential"));
    }

    #[test]
    fn very_long_names_get_no_suggestion() {
        let long = format!("Incident.Read.All{}", "x".repeat(MAX_SUGGESTED_LEN));
        assert_eq!(nearest(&long, ROLES), None);
        assert_eq!(nearest(&"a".repeat(8_000_000), ROLES), None);
    }

    #[test]
    fn unrelated_names_get_no_suggestion() {
        assert_eq!(nearest("Machine.Isolate", ROLES), None);
        assert_eq!(nearest("colour", ["name", "id", "labels", "apis"]), None);
        assert_eq!(did_you_mean(None), None);
        assert_eq!(
            did_you_mean(Some("a")).as_deref(),
            Some("did you mean `a`?")
        );
    }
}
