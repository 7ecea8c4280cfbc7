//! Terms and their order: `YYYY_Season` by year, then IAP < Spring < Summer < Fall.

use super::*;

/// A course run's term such as `2018_Spring` (or `Spring_2030`, the form
/// orcoursetrion's own docs use).
///
/// Equality is exact text equality; the order is chronological where the term
/// says when it runs (see the `Ord` impl).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Term(String);
string_newtype!(Term, "term", TERM_RULE, is_term);

/// The seasons we know, in calendar order (MIT's academic year: IAP is January).
const SEASONS: [&str; 4] = ["iap", "spring", "summer", "fall"];
/// Rank of a season we do not know: after the known ones of the same year.
const UNKNOWN_SEASON: usize = SEASONS.len();

impl Term {
    /// The year and season text of a dated term, `YYYY_Season` or
    /// `Season_YYYY` (the first form wins when both fit, e.g. `2018_2019`).
    fn dated(&self) -> Option<(u16, &str)> {
        let s = self.0.as_str();
        let b = s.as_bytes();
        let year = |t: &str| -> Option<u16> {
            if t.len() == 4 && t.bytes().all(|c| c.is_ascii_digit()) {
                t.parse().ok()
            } else {
                None
            }
        };
        if b.len() > 5 && b[4] == b'_' {
            if let Some(y) = year(&s[..4]) {
                return Some((y, &s[5..]));
            }
        }
        if b.len() > 5 && b[b.len() - 5] == b'_' {
            if let Some(y) = year(&s[b.len() - 4..]) {
                return Some((y, &s[..b.len() - 5]));
            }
        }
        None
    }

    /// The year of a term shaped `YYYY_Season` or `Season_YYYY`.
    pub fn year(&self) -> Option<u16> {
        self.dated().map(|(y, _)| y)
    }

    /// Whether the term says when it runs (`YYYY_Season` or `Season_YYYY`).
    /// Only dated terms are ordered chronologically.
    pub fn is_dated(&self) -> bool {
        self.dated().is_some()
    }

    /// The sort key: dated terms first (by year, then season rank), then the
    /// undated ones; the full text last, which makes the order total and
    /// consistent with `Eq`.
    fn sort_key(&self) -> (u8, u16, usize, &str) {
        match self.dated() {
            Some((year, season)) => {
                let rank = SEASONS
                    .iter()
                    .position(|k| season.eq_ignore_ascii_case(k))
                    .unwrap_or(UNKNOWN_SEASON);
                (0, year, rank, &self.0)
            }
            None => (1, 0, 0, &self.0),
        }
    }
}

impl Ord for Term {
    /// Chronological for dated terms: year, then IAP < Spring < Summer < Fall
    /// (case-insensitive), then unknown seasons; ties and undated terms
    /// (`Rolling`), which come after every dated one, sort by their text.
    fn cmp(&self, other: &Self) -> Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for Term {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn term(s: &str) -> Term {
        Term::parse(s).expect("valid term in test")
    }

    /// Terms that look like real ones, so that the ordering properties exercise
    /// the dated branches and not only the lexical fallback.
    pub(crate) fn realistic_term() -> impl Strategy<Value = Term> {
        let season = prop_oneof![
            Just("IAP".to_owned()),
            Just("Spring".to_owned()),
            Just("spring".to_owned()),
            Just("Summer".to_owned()),
            Just("Fall".to_owned()),
            Just("FALL".to_owned()),
            "[A-Za-z]{1,6}",
        ];
        prop_oneof![
            ("20[0-3][0-9]", season.clone()).prop_map(|(y, s)| format!("{y}_{s}")),
            (season, "20[0-3][0-9]").prop_map(|(s, y)| format!("{s}_{y}")),
            "[A-Za-z0-9][A-Za-z0-9_-]{0,31}".prop_map(|s| s),
        ]
        .prop_map(|s| Term::parse(&s).expect("generated terms are valid"))
    }

    #[test]
    fn terms() {
        for ok in ["2018_Spring", "Spring_2030", "Rolling", "1T2018", "a-b_c"] {
            assert!(Term::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "_2018", "2018.Spring", "2018 Spring", &"a".repeat(33)] {
            assert!(Term::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(term("2018_Spring").year(), Some(2018));
        assert_eq!(term("Spring_2030").year(), Some(2030));
        assert_eq!(term("Rolling").year(), None);
        assert_eq!(term("2018").year(), None);
        assert_eq!(term("2018_").year(), None);
    }

    #[test]
    fn real_terms_sort_chronologically() {
        let sorted = [
            "2017_Fall",
            "2018_IAP",
            "2018_Spring",
            "2018_Summer",
            "2018_Fall",
            "2019_Foo",
            "Rolling",
        ];
        let mut v: Vec<Term> = sorted.iter().rev().map(|s| term(s)).collect();
        v.swap(0, 3);
        v.swap(1, 5);
        v.sort();
        let got: Vec<&str> = v.iter().map(Term::as_str).collect();
        assert_eq!(got, sorted);
    }

    #[test]
    fn term_order_details() {
        assert!(term("Spring_2030") < term("Fall_2030"));
        assert!(term("Fall_2029") < term("2030_IAP"));
        assert!(
            term("2018_spring") < term("2018_FALL"),
            "case-insensitive seasons"
        );
        assert!(
            term("2018_Fall") < term("2018_Autumn"),
            "unknown season after known"
        );
        // same rank: lexical tie-break, so the order stays consistent with Eq.
        assert!(term("2018_Fall") < term("2018_fall"));
        assert!(term("9999_Zzz") < term("Aardvark"));
        assert!(term("A") < term("B"));
    }

    proptest! {
        #[test]
        fn term_order_is_total_and_consistent(a in realistic_term(), b in realistic_term(), c in realistic_term()) {
            // consistency with Eq
            prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
            // antisymmetry
            prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
            // transitivity
            if a <= b && b <= c {
                prop_assert!(a <= c);
            }
            // dated terms come first, in year order
            if let (Some(ya), Some(yb)) = (a.year(), b.year()) {
                if ya < yb { prop_assert!(a < b); }
            }
            if a.is_dated() && !b.is_dated() {
                prop_assert!(a < b);
            }
        }

        #[test]
        fn sort_is_stable_under_shuffles(mut v in prop::collection::vec(realistic_term(), 0..12), seed in any::<u64>()) {
            let mut sorted = v.clone();
            sorted.sort();
            // a cheap deterministic shuffle
            let mut x = seed | 1;
            for i in (1..v.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                v.swap(i, (x % (i as u64 + 1)) as usize);
            }
            v.sort();
            prop_assert_eq!(v, sorted);
        }

    }
}
