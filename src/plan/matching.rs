//! Finding a manifest tenant among the previous manifest's or the last report's tenants, in O(1)
//! per lookup: a 5,000-tenant plan must not compare every pair.

use std::collections::HashMap;

/// Which earlier entry a tenant matched, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Match {
    /// The position among the earlier entries.
    pub(crate) index: usize,
    /// Matched by name only: the id changed.
    pub(crate) by_name: bool,
}

/// Earlier entries indexed by lowercased id(s) and name; each entry can be taken once.
#[derive(Debug)]
pub(crate) struct Index {
    by_id: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
    taken: Vec<bool>,
}

impl Index {
    /// Indexes entries given as (ids, name). The first entry wins on a duplicate key.
    pub(crate) fn new<'a, I, S>(entries: I) -> Self
    where
        I: IntoIterator<Item = (Vec<S>, &'a str)>,
        S: AsRef<str>,
    {
        let mut by_id = HashMap::new();
        let mut by_name = HashMap::new();
        let mut count = 0;
        for (i, (ids, name)) in entries.into_iter().enumerate() {
            for id in ids {
                by_id.entry(id.as_ref().to_ascii_lowercase()).or_insert(i);
            }
            by_name.entry(name.to_lowercase()).or_insert(i);
            count = i + 1;
        }
        Index {
            by_id,
            by_name,
            taken: vec![false; count],
        }
    }

    /// Takes the entry with this id, if it is still free.
    pub(crate) fn take_by_id(&mut self, id: &str) -> Option<Match> {
        let index = *self.by_id.get(&id.to_ascii_lowercase())?;
        self.take(index, false)
    }

    /// Takes the entry with this name, if it is still free.
    pub(crate) fn take_by_name(&mut self, name: &str) -> Option<Match> {
        let index = *self.by_name.get(&name.to_lowercase())?;
        self.take(index, true)
    }

    fn take(&mut self, index: usize, by_name: bool) -> Option<Match> {
        let slot = self.taken.get_mut(index)?;
        if *slot {
            return None;
        }
        *slot = true;
        Some(Match { index, by_name })
    }

    /// Entries nobody took, in their order.
    pub(crate) fn unused(&self) -> impl Iterator<Item = usize> + '_ {
        self.taken
            .iter()
            .enumerate()
            .filter(|(_, taken)| !**taken)
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_case_insensitively_and_once() {
        let mut index = Index::new([
            (vec!["Fabrikam.onmicrosoft.com"], "Fabrikam"),
            (vec!["northwind.onmicrosoft.com", "aaaa"], "Northwind"),
        ]);
        assert_eq!(
            index.take_by_id("fabrikam.ONMICROSOFT.com"),
            Some(Match {
                index: 0,
                by_name: false
            })
        );
        assert_eq!(index.take_by_id("fabrikam.onmicrosoft.com"), None);
        assert_eq!(index.take_by_name("fabrikam"), None, "already taken");
        assert_eq!(
            index.take_by_id("AAAA"),
            Some(Match {
                index: 1,
                by_name: false
            })
        );
        assert_eq!(index.unused().count(), 0);
    }

    #[test]
    fn names_are_the_fallback_and_unused_keeps_order() {
        let mut index = Index::new([
            (vec!["a"], "Alpha"),
            (vec!["b"], "Beta"),
            (vec!["c"], "Gamma"),
        ]);
        assert_eq!(
            index.take_by_name("BETA"),
            Some(Match {
                index: 1,
                by_name: true
            })
        );
        assert_eq!(index.take_by_id("zzz"), None);
        assert_eq!(index.unused().collect::<Vec<_>>(), vec![0, 2]);
    }
}
