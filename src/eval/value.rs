//! Values read from a snapshot, and how they compare.
//!
//! Windows compares names and text without case, so `==` on text ignores case everywhere.
//! Versions compare number by number; a version written in a rule names a family, so
//! `5.5.2653` is `== 5.5` and inside `5.5 ..= 5.5 sp3`. Text compared with a number or a
//! version is read as one (`"0x2741"`, `"5.5.2653"`); text that cannot be read so is not equal,
//! and neither smaller nor larger.

use std::cmp::Ordering;
use std::sync::OnceLock;

use crate::ast::CmpOp;
use crate::ir::{CompareOp, Const, RegexId, RuleGraph, TextMatch, Version, VersionRange};
use crate::snapshot::{RegData, eq_fold, hex, time};

/// A value read from a snapshot or written in a rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Text(String),
    Number(u64),
    Version(Version),
    Bool(bool),
    Duration(u64),
    Time(i64),
    /// A multi-string registry value.
    Multi(Vec<String>),
    Bytes(Vec<u8>),
}

impl Val {
    pub(crate) fn from_const(c: &Const) -> Val {
        match c {
            Const::Text(t) => Val::Text(t.clone()),
            Const::Number(n) => Val::Number(*n),
            Const::Version(v) => Val::Version(v.clone()),
            Const::Bool(b) => Val::Bool(*b),
            Const::Duration(d) => Val::Duration(*d),
        }
    }

    pub(crate) fn from_reg(data: &RegData) -> Val {
        match data {
            RegData::Sz(s) | RegData::ExpandSz(s) => Val::Text(s.clone()),
            RegData::MultiSz(items) => Val::Multi(items.clone()),
            RegData::Dword(n) => Val::Number(u64::from(*n)),
            RegData::Qword(n) => Val::Number(*n),
            RegData::Binary(b) | RegData::Other(_, b) => Val::Bytes(b.clone()),
        }
    }

    /// The value as the report and the rule's text show it.
    pub(crate) fn display(&self) -> String {
        match self {
            Val::Text(t) => t.clone(),
            Val::Number(n) => n.to_string(),
            Val::Version(v) => v.to_string(),
            Val::Bool(b) => b.to_string(),
            Val::Duration(d) => crate::ir::duration(*d),
            Val::Time(t) => time::format(*t),
            Val::Multi(items) => items.join(", "),
            Val::Bytes(b) => hex(b),
        }
    }

    /// The value as text, for text matches: every string of a multi-string value.
    fn texts(&self) -> Vec<String> {
        match self {
            Val::Multi(items) => items.clone(),
            other => vec![other.display()],
        }
    }

    fn as_number(&self) -> Option<u64> {
        match self {
            Val::Number(n) => Some(*n),
            Val::Text(t) => parse_number(t),
            _ => None,
        }
    }

    fn as_version(&self) -> Option<Version> {
        match self {
            Val::Version(v) => Some(v.clone()),
            Val::Number(n) => Some(Version {
                parts: vec![*n],
                sp: None,
            }),
            Val::Text(t) => crate::snapshot::parse_version_text(t),
            _ => None,
        }
    }
}

/// Reads text as a whole number: decimal, or hexadecimal with `0x`.
pub(crate) fn parse_number(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, radix) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (t, 10),
    };
    // `from_str_radix` would also take a sign.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Compares two installed versions number by number, missing numbers read as 0.
fn cmp_parts(a: &[u64], b: &[u64]) -> Ordering {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            a.get(i)
                .copied()
                .unwrap_or(0)
                .cmp(&b.get(i).copied().unwrap_or(0))
        })
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Where an installed version (with its service-pack level) lies relative to a version written
/// in a rule: `Equal` when it is in the family the rule names (`5.5.2653` sp 3 is in `5.5` and
/// in `5.5 sp3`), `Less` or `Greater` otherwise.
pub(crate) fn cmp_to_pattern(installed: &Version, sp: u64, pattern: &Version) -> Ordering {
    for (i, want) in pattern.parts.iter().enumerate() {
        let have = installed.parts.get(i).copied().unwrap_or(0);
        match have.cmp(want) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    match pattern.sp {
        Some(want) => sp.cmp(&want),
        None => Ordering::Equal,
    }
}

/// Whether an installed version is in a range written in a rule.
pub(crate) fn in_range(installed: &Version, sp: u64, range: &VersionRange) -> bool {
    if let Some((low, inclusive)) = &range.lower {
        match cmp_to_pattern(installed, sp, low) {
            Ordering::Less => return false,
            Ordering::Equal if !inclusive => return false,
            _ => {}
        }
    }
    if let Some((high, inclusive)) = &range.upper {
        match cmp_to_pattern(installed, sp, high) {
            Ordering::Greater => return false,
            Ordering::Equal if !inclusive => return false,
            _ => {}
        }
    }
    if let Some(except) = &range.except
        && cmp_to_pattern(installed, sp, except) == Ordering::Equal
    {
        return false;
    }
    true
}

fn holds(op: CmpOp, ord: Ordering) -> bool {
    match op {
        CmpOp::Eq => ord.is_eq(),
        CmpOp::Ne => ord.is_ne(),
        CmpOp::Lt => ord.is_lt(),
        CmpOp::Le => ord.is_le(),
        CmpOp::Gt => ord.is_gt(),
        CmpOp::Ge => ord.is_ge(),
    }
}

/// What a comparison whose sides cannot be read as one kind gives: not equal, and not ordered.
fn incomparable(op: CmpOp) -> bool {
    op == CmpOp::Ne
}

/// `left OP right`, where `right_is_pattern` says the right side was written in the rule (a
/// version there names a family).
pub(crate) fn compare(left: &Val, op: CmpOp, right: &Val, right_is_pattern: bool) -> bool {
    match (left, right) {
        (Val::Multi(items), other) | (other, Val::Multi(items)) => {
            // A multi-string value equals a text when one of its strings does.
            let any = items
                .iter()
                .any(|i| compare(&Val::Text(i.clone()), CmpOp::Eq, other, right_is_pattern));
            match op {
                CmpOp::Eq => any,
                CmpOp::Ne => !any,
                _ => false,
            }
        }
        (Val::Text(a), Val::Text(b)) => match op {
            CmpOp::Eq => eq_fold(a, b),
            CmpOp::Ne => !eq_fold(a, b),
            _ => false,
        },
        (Val::Bool(a), Val::Bool(b)) => holds(op, a.cmp(b)),
        (Val::Time(a), Val::Time(b)) => holds(op, a.cmp(b)),
        (Val::Duration(a), Val::Duration(b)) => holds(op, a.cmp(b)),
        (Val::Bytes(a), Val::Bytes(b)) => holds(op, a.cmp(b)),
        (Val::Bytes(a), Val::Text(t)) | (Val::Text(t), Val::Bytes(a)) => {
            match crate::snapshot::parse_hex_text(t) {
                Some(b) => match op {
                    CmpOp::Eq => *a == b,
                    CmpOp::Ne => *a != b,
                    _ => false,
                },
                None => incomparable(op),
            }
        }
        (Val::Version(_), _) | (_, Val::Version(_)) => {
            match (left.as_version(), right.as_version()) {
                (Some(a), Some(b)) => {
                    let ord = if right_is_pattern {
                        cmp_to_pattern(&a, a.sp.unwrap_or(0), &b)
                    } else {
                        cmp_parts(&a.parts, &b.parts)
                    };
                    holds(op, ord)
                }
                _ => incomparable(op),
            }
        }
        (Val::Number(_), _) | (_, Val::Number(_)) => match (left.as_number(), right.as_number()) {
            (Some(a), Some(b)) => holds(op, a.cmp(&b)),
            _ => incomparable(op),
        },
        _ => incomparable(op),
    }
}

/// A text match, compiled on first use.
#[derive(Debug)]
pub(crate) struct Matcher {
    matches: TextMatch,
    compiled: OnceLock<Option<regex::Regex>>,
}

impl Matcher {
    pub(crate) fn new(matches: TextMatch) -> Matcher {
        Matcher {
            matches,
            compiled: OnceLock::new(),
        }
    }

    fn regex<'g>(&'g self, graph: &'g RuleGraph) -> Option<&'g regex::Regex> {
        match &self.matches {
            TextMatch::Regex(id) => graph.regex(*id).map(|r| &r.regex),
            TextMatch::Equals(_) => None,
            TextMatch::Contains(text) => self
                .compiled
                .get_or_init(|| build(&format!("(?i){}", regex::escape(text))))
                .as_ref(),
            TextMatch::Like(pattern) => self
                .compiled
                .get_or_init(|| build(&glob_to_regex(pattern)))
                .as_ref(),
        }
    }

    /// Whether the text matches.
    pub(crate) fn is_match(&self, graph: &RuleGraph, text: &str) -> bool {
        match &self.matches {
            TextMatch::Equals(want) => eq_fold(text, want),
            _ => self.regex(graph).is_some_and(|r| r.is_match(text)),
        }
    }

    /// Whether a value matches: a multi-string value matches when one of its strings does; for
    /// `contains`, when one of its strings is the text.
    pub(crate) fn value_matches(&self, graph: &RuleGraph, value: &Val) -> bool {
        match (value, &self.matches) {
            (Val::Multi(items), TextMatch::Contains(want)) => {
                items.iter().any(|i| eq_fold(i, want))
            }
            _ => value.texts().iter().any(|t| self.is_match(graph, t)),
        }
    }
}

fn build(pattern: &str) -> Option<regex::Regex> {
    regex::RegexBuilder::new(pattern)
        .size_limit(crate::check::MAX_REGEX_SIZE)
        .build()
        .ok()
}

/// A wildcard pattern as an anchored, case-insensitive regular expression: `*` is any run of
/// characters (line breaks too), `?` any one.
fn glob_to_regex(pattern: &str) -> String {
    let mut out = String::from("(?is)^");
    let mut literal = String::new();
    for c in pattern.chars() {
        match c {
            '*' | '?' => {
                out.push_str(&regex::escape(&literal));
                literal.clear();
                out.push_str(if c == '*' { ".*" } else { "." });
            }
            c => literal.push(c),
        }
    }
    out.push_str(&regex::escape(&literal));
    out.push('$');
    out
}

/// Evaluates a comparison operator between a value and a constant written in the rule.
pub(crate) fn test_const(
    graph: &RuleGraph,
    matcher: Option<&Matcher>,
    value: &Val,
    op: &CompareOp,
    constant: &Const,
) -> bool {
    match op {
        CompareOp::Cmp(op) => compare(value, *op, &Val::from_const(constant), true),
        CompareOp::Match(_) => matcher.is_some_and(|m| m.value_matches(graph, value)),
    }
}

/// The capture groups of a message regex.
pub(crate) fn capture(
    graph: &RuleGraph,
    regex: RegexId,
    text: &str,
    group: CaptureRef<'_>,
) -> Option<String> {
    let regex = &graph.regex(regex)?.regex;
    let captures = regex.captures(text)?;
    let m = match group {
        CaptureRef::Index(n) => captures.get(usize::try_from(n).ok()?),
        CaptureRef::Name(name) => captures.name(name),
    }?;
    Some(m.as_str().to_string())
}

/// A capture group by number or name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CaptureRef<'a> {
    Index(u32),
    Name(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(parts: &[u64]) -> Version {
        Version {
            parts: parts.to_vec(),
            sp: None,
        }
    }

    fn vsp(parts: &[u64], sp: u64) -> Version {
        Version {
            parts: parts.to_vec(),
            sp: Some(sp),
        }
    }

    #[test]
    fn families_and_service_packs() {
        let installed = v(&[5, 5, 2653]);
        let range = |lower: Option<(Version, bool)>, upper: Option<(Version, bool)>| VersionRange {
            lower,
            upper,
            except: None,
        };
        // 5.5.2653 with SP3 is inside `5.5 ..= 5.5 sp3` and `5.5 sp3`, not `5.5 sp4`.
        assert!(in_range(
            &installed,
            3,
            &range(Some((v(&[5, 5]), true)), Some((vsp(&[5, 5], 3), true)))
        ));
        assert!(in_range(
            &installed,
            3,
            &range(Some((vsp(&[5, 5], 3), true)), Some((vsp(&[5, 5], 3), true)))
        ));
        assert!(!in_range(
            &installed,
            3,
            &range(Some((vsp(&[5, 5], 4), true)), Some((vsp(&[5, 5], 4), true)))
        ));
        // `..` leaves its end out, family and all.
        assert!(!in_range(
            &installed,
            3,
            &range(Some((v(&[4, 0]), true)), Some((v(&[5, 5]), false)))
        ));
        assert!(in_range(
            &v(&[5, 0, 1457]),
            0,
            &range(Some((v(&[4, 0]), true)), Some((v(&[5, 5]), false)))
        ));
        // A bare service-pack level compares the level only.
        assert!(in_range(
            &installed,
            2,
            &range(None, Some((vsp(&[], 3), false)))
        ));
        assert!(!in_range(
            &installed,
            3,
            &range(None, Some((vsp(&[], 3), false)))
        ));
    }

    #[test]
    fn text_numbers_and_lists() {
        assert!(compare(
            &Val::Text("MSExchangeIMC".into()),
            CmpOp::Eq,
            &Val::Text("msexchangeimc".into()),
            true
        ));
        assert!(compare(
            &Val::Text("0x2741".into()),
            CmpOp::Eq,
            &Val::Number(10049),
            true
        ));
        assert!(!compare(
            &Val::Text("abc".into()),
            CmpOp::Eq,
            &Val::Number(1),
            true
        ));
        assert!(compare(
            &Val::Text("abc".into()),
            CmpOp::Ne,
            &Val::Number(1),
            true
        ));
        assert!(!compare(
            &Val::Text("abc".into()),
            CmpOp::Lt,
            &Val::Number(1),
            true
        ));
        let list = Val::Multi(vec!["LanmanServer".into(), "LmHosts".into()]);
        assert!(compare(
            &list,
            CmpOp::Eq,
            &Val::Text("lmhosts".into()),
            true
        ));
        assert!(!compare(
            &list,
            CmpOp::Ne,
            &Val::Text("lmhosts".into()),
            true
        ));
        assert!(compare(
            &Val::Text("5.0.2195.6717".into()),
            CmpOp::Ge,
            &Val::Version(v(&[5, 0, 2195])),
            true
        ));
        assert!(compare(
            &Val::Version(v(&[5, 0])),
            CmpOp::Lt,
            &Val::Version(v(&[5, 0, 1])),
            false
        ));
    }

    #[test]
    fn wildcards_are_whole_text() {
        let graph = RuleGraph::default();
        let m = Matcher::new(TextMatch::Like("*virtual server*start bit*".into()));
        assert!(m.is_match(
            &graph,
            "The SMTP Virtual Server Instance failed to set the START BIT."
        ));
        assert!(!m.is_match(&graph, "Virtual server"));
        let q = Matcher::new(TextMatch::Like("Nwlnk?".into()));
        assert!(q.is_match(&graph, "nwlnkA"));
        assert!(!q.is_match(&graph, "nwlnkAB"));
        let c = Matcher::new(TextMatch::Contains("a.b".into()));
        assert!(c.is_match(&graph, "xxA.Byy"));
        assert!(!c.is_match(&graph, "xxAxByy"));
    }
}
