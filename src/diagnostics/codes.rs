//! The catalogue of diagnostic codes: every error and warning kbrules can report.
//!
//! Codes are allocated in blocks, one per phase, and never reused: `E00xx` source and syntax,
//! `E01xx` names, `E02xx` types and values, `E03xx` the rule graph, `E04xx` snapshots and evaluation, `E09xx` internal errors,
//! `W0xxx` lints. Each lint also has a slug, and both can be named in an `allow(…)` comment.
//! Every code has a page in the book's error index (`book/src/errors/`).

use serde::Serialize;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A lint: the rules compile, but something looks wrong.
    Warning,
    /// The rules do not compile.
    Error,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

macro_rules! catalogue {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $slug:literal, $severity:ident, $title:literal; )*) => {
        /// A diagnostic code: one variant per condition.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in catalogue order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The stable code, such as `E0101`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }

            /// A short name in kebab case, such as `unknown-condition`.
            pub fn slug(self) -> &'static str {
                match self { $( Code::$variant => $slug, )* }
            }

            /// Whether the code is an error or a warning.
            pub fn severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$severity, )* }
            }

            /// A one-line title for the error index.
            pub fn title(self) -> &'static str {
                match self { $( Code::$variant => $title, )* }
            }

            /// The code's page of the book's error index, in Markdown: what it means, an
            /// example, and how to fix it.
            pub fn explanation(self) -> &'static str {
                match self {
                    $( Code::$variant => include_str!(concat!("../../book/src/errors/", $code, ".md")), )*
                }
            }
        }
    };
}

catalogue! {
    // --- E00xx: source files and syntax -------------------------------------------------------
    /// The text does not follow the grammar.
    SyntaxError = "E0001", "syntax-error", Error, "syntax error";
    /// A rule file is not UTF-8.
    InvalidUtf8 = "E0002", "invalid-utf8", Error, "file is not UTF-8";
    /// Parentheses or `not`s nest deeper than the limit.
    NestingTooDeep = "E0003", "nesting-too-deep", Error, "nesting too deep";
    /// A string not closed on its line, or a block comment never closed.
    UnterminatedString = "E0004", "unterminated-string", Error, "unterminated string or comment";
    /// A number does not fit the range its place allows.
    NumberOutOfRange = "E0005", "number-out-of-range", Error, "number out of range";
    /// A rule file is larger than the limit.
    FileTooLarge = "E0006", "file-too-large", Error, "file too large";
    /// A file or directory could not be read.
    Io = "E0007", "io", Error, "cannot read a file";
    /// A character that can start no token.
    UnexpectedCharacter = "E0008", "unexpected-character", Error, "unexpected character";

    // --- E01xx: names ---------------------------------------------------------------------------
    /// A reference to a condition that no file declares.
    UnknownCondition = "E0101", "unknown-condition", Error, "unknown condition";
    /// A `warn` naming a warning that no file declares.
    UnknownWarning = "E0102", "unknown-warning", Error, "unknown warning";
    /// A reference to a rule that no file declares.
    UnknownRule = "E0103", "unknown-rule", Error, "unknown rule";
    /// A name that is neither a binding in scope nor a condition.
    UnknownBinding = "E0104", "unknown-binding", Error, "unknown binding";
    /// Two rules with one id.
    DuplicateRule = "E0105", "duplicate-rule", Error, "duplicate rule";
    /// Two conditions with one name.
    DuplicateCondition = "E0106", "duplicate-condition", Error, "duplicate condition";
    /// Two warnings with one name.
    DuplicateWarning = "E0107", "duplicate-warning", Error, "duplicate warning";
    /// One binding name bound twice in a rule.
    DuplicateBinding = "E0108", "duplicate-binding", Error, "duplicate binding";
    /// A fact that no file declares.
    UnknownFact = "E0109", "unknown-fact", Error, "unknown fact";
    /// Two facts with one name.
    DuplicateFact = "E0110", "duplicate-fact", Error, "duplicate fact";
    /// A product that is not in the catalogue.
    UnknownProduct = "E0111", "unknown-product", Error, "unknown product";
    /// An operating system that is not in the catalogue.
    UnknownOs = "E0112", "unknown-os", Error, "unknown operating system";
    /// A product or OS name or alias declared twice.
    DuplicateCatalogueName = "E0113", "duplicate-catalogue-name", Error, "duplicate product or OS name";
    /// A binding used where it may not be bound.
    MaybeUnbound = "E0114", "maybe-unbound", Error, "binding may be unbound";
    /// A clause that may appear once appears twice.
    DuplicateClause = "E0115", "duplicate-clause", Error, "clause given twice";
    /// A rule lacks a clause it needs.
    MissingClause = "E0116", "missing-clause", Error, "missing clause";
    /// A `{placeholder}` in text that is not closed or is empty.
    InvalidPlaceholder = "E0117", "invalid-placeholder", Error, "invalid placeholder";
    /// A property that the bound item does not have.
    UnknownProperty = "E0118", "unknown-property", Error, "unknown property";

    // --- E02xx: types and values ----------------------------------------------------------------
    /// Two sides of a comparison have types that cannot be compared.
    TypeMismatch = "E0201", "type-mismatch", Error, "mismatched types";
    /// A version range that no version is in.
    EmptyVersionRange = "E0202", "empty-version-range", Error, "empty version range";
    /// A regular expression that does not compile.
    InvalidRegex = "E0203", "invalid-regex", Error, "invalid regular expression";
    /// A regular expression larger than the limit once compiled.
    RegexTooLarge = "E0204", "regex-too-large", Error, "regular expression too large";
    /// A registry path that does not start with a known hive.
    UnknownHive = "E0205", "unknown-hive", Error, "unknown registry hive";
    /// A service-pack level out of range or where none may be.
    InvalidServicePack = "E0206", "invalid-service-pack", Error, "invalid service-pack level";
    /// A service state that Windows does not have.
    UnknownServiceState = "E0207", "unknown-service-state", Error, "unknown service state";
    /// An event id outside 0 to 65535.
    EventIdOutOfRange = "E0208", "event-id-out-of-range", Error, "event id out of range";
    /// An event level that Windows does not have.
    UnknownEventLevel = "E0209", "unknown-event-level", Error, "unknown event level";
    /// A service start type that Windows does not have.
    UnknownStartType = "E0210", "unknown-start-type", Error, "unknown start type";
    /// A rule severity other than `error`, `warning` or `info`.
    UnknownSeverity = "E0211", "unknown-severity", Error, "unknown severity";
    /// A registry value type that Windows does not have.
    UnknownRegistryType = "E0212", "unknown-registry-type", Error, "unknown registry value type";
    /// `data[0]`: insertion strings count from 1.
    InvalidDataIndex = "E0213", "invalid-data-index", Error, "invalid event data index";
    /// A condition in `applies` that is not about products or operating systems.
    NotAllowedInApplies = "E0214", "not-allowed-in-applies", Error, "condition not allowed in applies";
    /// `followed by` or `count(…)` on something that is not an event.
    NotAnEvent = "E0215", "not-an-event", Error, "expected an event";
    /// A fact type other than `text`, `number`, `version` or `bool`.
    UnknownFactType = "E0216", "unknown-fact-type", Error, "unknown fact type";
    /// A binary-data width other than `byte`, `word`, `dword` or `qword`.
    UnknownWidth = "E0217", "unknown-width", Error, "unknown binary width";
    /// An event id range that holds no id.
    EmptyIdRange = "E0218", "empty-id-range", Error, "empty event id range";
    /// A KB article id that is not of the form `Q123456` or `KB123456`.
    InvalidArticleId = "E0219", "invalid-article-id", Error, "invalid article id";
    /// `N of (…)` with N larger than the number of conditions.
    QuantityOutOfRange = "E0220", "quantity-out-of-range", Error, "quantity out of range";
    /// A comparison or match that the operand does not support.
    InvalidOperator = "E0221", "invalid-operator", Error, "operator not supported here";
    /// `as NAME` on something that holds no item to bind (another rule's verdict).
    CannotBind = "E0222", "cannot-bind", Error, "nothing to bind";
    /// A named capture group with the name of a property of the event it matches.
    CaptureNameTaken = "E0223", "capture-name-taken", Error, "capture group named like a property";

    // --- E03xx: the rule graph ------------------------------------------------------------------
    /// Rules that depend on each other in a cycle.
    RuleCycle = "E0301", "rule-cycle", Error, "cycle between rules";
    /// Conditions that refer to each other in a cycle.
    ConditionCycle = "E0302", "condition-cycle", Error, "cycle between conditions";

    // --- E04xx: snapshots and evaluation ------------------------------------------------------
    /// A snapshot is not well-formed JSON.
    SnapshotSyntax = "E0401", "snapshot-syntax", Error, "snapshot is not valid JSON";
    /// A snapshot field does not hold what the format says.
    SnapshotField = "E0402", "snapshot-field", Error, "invalid snapshot field";
    /// A snapshot names no format version, or one this build does not read.
    SnapshotVersion = "E0403", "snapshot-version", Error, "unsupported snapshot version";
    /// A snapshot file is larger than the limit.
    SnapshotTooLarge = "E0404", "snapshot-too-large", Error, "snapshot too large";
    /// A command names a rule the library does not have.
    NoSuchRule = "E0405", "no-such-rule", Error, "no such rule";
    /// A registry export with a key line that cannot be read.
    InvalidRegExport = "E0406", "invalid-reg-export", Error, "invalid registry export";
    /// A file read as a registry export starts with no regedit header.
    NotARegExport = "E0407", "not-a-reg-export", Error, "not a registry export";
    /// An input is neither a JSON snapshot nor any export kbrules reads.
    UnrecognizedInput = "E0408", "unrecognized-input", Error, "unrecognized input";
    /// A file read as an event log (`.evtx`) has no event log file header.
    NotAnEventLog = "E0409", "not-an-event-log", Error, "not an event log file";
    /// A file read as a service list is none of the formats Windows tools write.
    InvalidServiceList = "E0410", "invalid-service-list", Error, "invalid service list";

    // --- E05xx: rule tests ------------------------------------------------------------------
    /// A rule test file is not well-formed JSON, or a field does not hold what the format says.
    TestFileInvalid = "E0501", "test-file-invalid", Error, "invalid test file";
    /// A rule test file names no format version, or one this build does not read.
    TestFileVersion = "E0502", "test-file-version", Error, "unsupported test file version";
    /// A test case names a rule the library does not have.
    TestUnknownRule = "E0503", "test-unknown-rule", Error, "test of an unknown rule";
    /// A test case's snapshot cannot be read.
    TestSnapshot = "E0504", "test-snapshot", Error, "test snapshot cannot be read";

    // --- E09xx: internal errors -----------------------------------------------------------------
    /// An invariant of kbrules itself broke.
    Internal = "E0901", "internal", Error, "internal error";

    // --- W0xxx: lints ---------------------------------------------------------------------------
    /// A condition that no rule or condition uses.
    UnusedCondition = "W0001", "unused-condition", Warning, "unused condition";
    /// A rule with no `diagnose` clause.
    NoDiagnosis = "W0002", "no-diagnosis", Warning, "rule without a diagnosis";
    /// A conjunction that can never hold.
    NeverTrue = "W0003", "never-true", Warning, "condition can never be true";
    /// The same condition twice in one `and` or `or`.
    RepeatedCondition = "W0004", "repeated-condition", Warning, "condition repeated";
    /// A warning that no rule uses.
    UnusedWarning = "W0005", "unused-warning", Warning, "unused warning";
    /// A binding that nothing uses.
    UnusedBinding = "W0006", "unused-binding", Warning, "unused binding";
    /// An `allow(…)` comment that names no known lint.
    UnknownLint = "W0007", "unknown-lint", Warning, "unknown lint in allow comment";
    /// A registry key holds an angle bracket that is not part of a placeholder (`<>`, `<adapter`).
    MalformedPlaceholder = "W0008", "malformed-placeholder", Warning, "malformed placeholder in a key";
}

impl Code {
    /// The code with this `E…`/`W…` string or slug.
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(text) || c.slug() == text)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_slugs_are_unique_and_well_formed() {
        let mut codes = std::collections::HashSet::new();
        let mut slugs = std::collections::HashSet::new();
        for code in Code::ALL {
            let text = code.as_str();
            assert!(codes.insert(text), "{text} is used twice");
            assert!(slugs.insert(code.slug()), "{} is used twice", code.slug());
            let (prefix, digits) = text.split_at(1);
            assert_eq!(digits.len(), 4);
            assert!(digits.chars().all(|c| c.is_ascii_digit()));
            let expected = if code.severity() == Severity::Warning {
                "W"
            } else {
                "E"
            };
            assert_eq!(prefix, expected, "{text}: the letter says the severity");
            assert_eq!(Code::parse(text), Some(*code));
            assert_eq!(Code::parse(code.slug()), Some(*code));
        }
    }
}
