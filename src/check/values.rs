//! Words and literals with a fixed set of meanings: hives, service states and start types, event
//! levels, severities, registry and fact types, article ids, version ranges.
//!
//! Each function validates one kind of word and, when it is wrong, says what the choices are and
//! which one was probably meant.

use crate::ast::{self, CmpOp, VersionSpec};
use crate::diagnostics::{Code, Diagnostic, did_you_mean};
use crate::ir::{
    Hive, Level, RegKey, RegType, RuleSeverity, ServiceState, StartType, Type, Version,
    VersionRange,
};
use crate::source::Span;

/// The highest service-pack level accepted.
pub const MAX_SERVICE_PACK: u64 = 15;

/// Looks a word up in a table; unknown words get a diagnostic with the choices.
fn lookup<T: Copy>(
    table: &[(&str, T)],
    word: &ast::Ident,
    code: Code,
    what: &str,
) -> Result<T, Diagnostic> {
    let lower = word.node.to_ascii_lowercase();
    if let Some((_, value)) = table.iter().find(|(name, _)| *name == lower) {
        return Ok(*value);
    }
    let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
    let mut diagnostic =
        Diagnostic::new(code, word.span, format!("unknown {what} `{}`", word.node)).with_label(
            format!(
                "not {} {what}",
                if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                }
            ),
        );
    let choices = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    diagnostic = match did_you_mean(&word.node, names.iter().copied()) {
        Some(near) => diagnostic
            .with_help(format!("did you mean `{near}`? the choices are {choices}"))
            .with_suggestion(word.span, near),
        None => diagnostic.with_help(format!("the choices are {choices}")),
    };
    Err(diagnostic)
}

pub fn service_state(word: &ast::Ident) -> Result<ServiceState, Diagnostic> {
    use ServiceState::*;
    lookup(
        &[
            ("running", Running),
            ("stopped", Stopped),
            ("paused", Paused),
            ("start_pending", StartPending),
            ("stop_pending", StopPending),
            ("continue_pending", ContinuePending),
            ("pause_pending", PausePending),
        ],
        word,
        Code::UnknownServiceState,
        "service state",
    )
}

pub fn start_type(word: &ast::Ident) -> Result<StartType, Diagnostic> {
    use StartType::*;
    lookup(
        &[
            ("automatic", Automatic),
            // As `sc qc` prints them: AUTO_START, DEMAND_START.
            ("auto", Automatic),
            ("demand", Manual),
            ("manual", Manual),
            ("disabled", Disabled),
            ("boot", Boot),
            ("system", System),
        ],
        word,
        Code::UnknownStartType,
        "start type",
    )
}

pub fn level(word: &ast::Ident) -> Result<Level, Diagnostic> {
    use Level::*;
    lookup(
        &[
            ("critical", Critical),
            ("error", Error),
            ("warning", Warning),
            ("information", Information),
            ("verbose", Verbose),
            ("audit_success", AuditSuccess),
            ("audit_failure", AuditFailure),
        ],
        word,
        Code::UnknownEventLevel,
        "event level",
    )
}

pub fn severity(word: &ast::Ident) -> Result<RuleSeverity, Diagnostic> {
    lookup(
        &[
            ("error", RuleSeverity::Error),
            ("warning", RuleSeverity::Warning),
            ("info", RuleSeverity::Info),
        ],
        word,
        Code::UnknownSeverity,
        "severity",
    )
}

pub fn reg_type(word: &ast::Ident) -> Result<RegType, Diagnostic> {
    use RegType::*;
    let lower = word.node.to_ascii_lowercase();
    let unprefixed = lower.strip_prefix("reg_").unwrap_or(&lower);
    let original = word;
    let word = ast::Node::new(unprefixed.to_string(), word.span);
    lookup(
        &[
            ("sz", Sz),
            ("expand_sz", ExpandSz),
            ("multi_sz", MultiSz),
            ("dword", Dword),
            ("qword", Qword),
            ("binary", Binary),
        ],
        &word,
        Code::UnknownRegistryType,
        "registry value type",
    )
    .map_err(|mut d| {
        d.message = format!("unknown registry value type `{}`", original.node);
        d
    })
}

pub fn fact_type(word: &ast::Ident) -> Result<Type, Diagnostic> {
    lookup(
        &[
            ("text", Type::Text),
            ("number", Type::Number),
            ("version", Type::Version),
            ("bool", Type::Bool),
        ],
        word,
        Code::UnknownFactType,
        "fact type",
    )
}

pub fn width(word: &ast::Ident) -> Result<u8, Diagnostic> {
    lookup(
        &[("byte", 1u8), ("word", 2), ("dword", 4), ("qword", 8)],
        word,
        Code::UnknownWidth,
        "binary width",
    )
}

/// A registry key path: a hive, then the path below it.
pub fn reg_key(text: &ast::Text) -> Result<RegKey, Diagnostic> {
    if let Some(key) = RegKey::parse(&text.node) {
        return Ok(key);
    }
    let trimmed = text.node.trim().trim_matches('\\');
    let hive_word = trimmed.split_once('\\').map_or(trimmed, |(hive, _)| hive);
    let mut diagnostic = Diagnostic::new(
        Code::UnknownHive,
        text.span,
        format!("`{hive_word}` is not a registry hive"),
    )
    .with_label("a registry path starts with a hive");
    let upper: Vec<String> = Hive::NAMES
        .iter()
        .map(|(n, _)| n.to_ascii_uppercase())
        .collect();
    diagnostic = match did_you_mean(hive_word, upper.iter().map(String::as_str)) {
        Some(near) => diagnostic.with_help(format!(
            "did you mean `{near}`? a key is written like `HKLM\\System\\CurrentControlSet\\Services`"
        )),
        None => diagnostic.with_help(
            "start the path with `HKLM`, `HKCU`, `HKU`, `HKCR` or `HKCC` (or the full names, such as \
             `HKEY_LOCAL_MACHINE`)",
        ),
    };
    Err(diagnostic)
}

/// A KB article or hotfix id: `Q123456` or `KB123456`.
pub fn article(word: &ast::Ident) -> Result<String, Diagnostic> {
    let upper = word.node.to_ascii_uppercase();
    let digits = upper
        .strip_prefix("KB")
        .or_else(|| upper.strip_prefix('Q'))
        .unwrap_or("");
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        return Ok(upper);
    }
    Err(Diagnostic::new(
        Code::InvalidArticleId,
        word.span,
        format!("`{}` is not a KB article id", word.node),
    )
    .with_label("expected an id like `Q256986` or `KB256986`")
    .with_help("write the article's id: `Q` or `KB` followed by its number"))
}

/// The one name of a hotfix: `Q329115`, `KB329115` and `KB0329115` are the same fix, `KB329115`.
pub fn hotfix_key(article: &str) -> String {
    let digits = article
        .trim()
        .trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let digits = digits.trim_start_matches('0');
    format!("KB{}", if digits.is_empty() { "0" } else { digits })
}

/// Checks a service-pack level: it must be in range, and allowed here.
fn check_sp(v: &ast::Node<ast::VersionLit>, sp_allowed: bool) -> Result<(), Diagnostic> {
    if let Some(sp) = v.sp {
        if !sp_allowed {
            return Err(Diagnostic::new(
                Code::InvalidServicePack,
                v.span,
                format!(
                    "`{}` names a service pack, but files have no service-pack level",
                    v.node
                ),
            )
            .with_label("a file version has numbers only")
            .with_help("compare the file's version number, like `5.0.2195.6717`"));
        }
        if sp > MAX_SERVICE_PACK {
            return Err(Diagnostic::new(
                Code::InvalidServicePack,
                v.span,
                format!("service pack {sp} is out of range"),
            )
            .with_label(format!(
                "service-pack levels go from 0 to {MAX_SERVICE_PACK}"
            ))
            .with_help("check the article for the service-pack level it names"));
        }
    }
    Ok(())
}

fn version(v: &ast::VersionLit) -> Version {
    Version {
        parts: v.parts.clone(),
        sp: v.sp,
    }
}

/// Orders two version literals as range ends: `Less` means every version in `a`'s family
/// is below `b`'s; `Equal` when one names a family containing the other.
pub fn compare_ends(a: &Version, b: &Version) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    for (x, y) in a.parts.iter().zip(&b.parts) {
        match x.cmp(y) {
            Equal => {}
            other => return other,
        }
    }
    if a.parts.len() == b.parts.len()
        && let (Some(x), Some(y)) = (a.sp, b.sp)
    {
        return x.cmp(&y);
    }
    Equal
}

/// Whether every version `a` names is in the family `b` names (`5.5.2653 sp3` is in `5.5`).
fn in_family(a: &Version, b: &Version) -> bool {
    a.parts.starts_with(&b.parts)
        && (b.sp.is_none() || (a.parts.len() == b.parts.len() && a.sp == b.sp))
}

/// A version spec as a range; an empty range is an error.
pub fn version_range(
    spec: &ast::Node<VersionSpec>,
    sp_allowed: bool,
) -> Result<VersionRange, Diagnostic> {
    let empty = |why: String| {
        Diagnostic::new(
            Code::EmptyVersionRange,
            spec.span,
            "this version range is empty",
        )
        .with_label(why)
        .with_help("swap the ends, or use `..=` to include the upper end")
    };
    match &spec.node {
        VersionSpec::Exact(v) => {
            check_sp(v, sp_allowed)?;
            let v = version(v);
            Ok(VersionRange {
                lower: Some((v.clone(), true)),
                upper: Some((v, true)),
                except: None,
            })
        }
        VersionSpec::Cmp(op, v) => {
            check_sp(v, sp_allowed)?;
            let ver = version(v);
            if op.node == CmpOp::Lt && ver.parts.iter().all(|&p| p == 0) && ver.sp.unwrap_or(0) == 0
            {
                return Err(
                    empty(format!("no version is below `{}`", v.node)).with_help(
                        "no version satisfies this; check the service-pack level the article names",
                    ),
                );
            }
            if op.node == CmpOp::Gt && ver.parts.is_empty() && ver.sp == Some(MAX_SERVICE_PACK) {
                return Err(empty(format!("no service pack is above `{}`", v.node)).with_help(format!(
                    "service-pack levels go up to {MAX_SERVICE_PACK}; check the level the article names"
                )));
            }
            let mut range = VersionRange::any();
            match op.node {
                CmpOp::Eq => {
                    range.lower = Some((ver.clone(), true));
                    range.upper = Some((ver, true));
                }
                CmpOp::Ne => range.except = Some(ver),
                CmpOp::Lt => range.upper = Some((ver, false)),
                CmpOp::Le => range.upper = Some((ver, true)),
                CmpOp::Gt => range.lower = Some((ver, false)),
                CmpOp::Ge => range.lower = Some((ver, true)),
            }
            Ok(range)
        }
        VersionSpec::Range {
            start,
            inclusive,
            end,
        } => {
            check_sp(start, sp_allowed)?;
            check_sp(end, sp_allowed)?;
            let (a, b) = (version(start), version(end));
            if a.parts.is_empty() != b.parts.is_empty() {
                return Err(Diagnostic::new(
                    Code::EmptyVersionRange,
                    spec.span,
                    "a range's ends must both be versions or both be service-pack levels",
                )
                .with_label("one end is a version, the other a bare service-pack level")
                .with_help({
                    // Give the bare end the version of the other: `sp4 ..= 4.0 sp6` is
                    // `4.0 sp4 ..= 4.0 sp6`.
                    let (bare, full) = if a.parts.is_empty() {
                        (&a, &b)
                    } else {
                        (&b, &a)
                    };
                    let completed = Version {
                        parts: full.parts.clone(),
                        sp: bare.sp,
                    };
                    let (lo, hi) = if a.parts.is_empty() {
                        (completed.to_string(), end.node.to_string())
                    } else {
                        (start.node.to_string(), completed.to_string())
                    };
                    format!(
                        "write both ends as versions, like `{lo} {} {hi}`",
                        if *inclusive { "..=" } else { ".." }
                    )
                }));
            }
            match compare_ends(&a, &b) {
                std::cmp::Ordering::Greater => {
                    return Err(empty(format!(
                        "`{}` comes after `{}`",
                        start.node, end.node
                    )));
                }
                std::cmp::Ordering::Equal if !inclusive && in_family(&a, &b) => {
                    return Err(empty(format!(
                        "`{}` is in the `{}` family, which `..` leaves out",
                        start.node, end.node
                    )));
                }
                _ => {}
            }
            Ok(VersionRange {
                lower: Some((a, true)),
                upper: Some((b, *inclusive)),
                except: None,
            })
        }
    }
}

/// Checks an event id against 0..=65535.
pub fn event_id(value: u64, span: Span) -> Result<u16, Diagnostic> {
    u16::try_from(value).map_err(|_| {
        Diagnostic::new(Code::EventIdOutOfRange, span, format!("event id {value} is out of range"))
            .with_label("event ids go from 0 to 65535")
            .with_help("Windows shows event ids with the qualifiers masked off; write the id as Event Viewer shows it")
    })
}
