//! The JSON snapshot, version 1: reading it into the model.
//!
//! The document is read with serde; every value with a fixed set of meanings (a level, a state,
//! a version, a time, registry data) is checked as it is read, so that an error carries the
//! JSON path and the line and column where it was found.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{
    Collected, Coverage, DataField, DataKnown, Event, FactValue, FileEntry, Host, Installed, Names,
    RegData, RegKeyEntry, RegValue, Registry, Service, Skipped, Snapshot,
};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{Level, RegKey, ServiceState, StartType, Version};

/// The versions of the JSON snapshot format this build reads.
pub const SUPPORTED_VERSIONS: &[u64] = &[1];

#[derive(Deserialize)]
struct Document {
    kbrules_snapshot: u64,
    #[serde(default)]
    host: Option<Obj<HostJson>>,
    #[serde(default)]
    os: Option<Obj<InstalledJson>>,
    #[serde(default)]
    products: Option<Vec<Obj<InstalledJson>>>,
    #[serde(default)]
    hotfixes: Option<Vec<HotfixJson>>,
    #[serde(default)]
    components: Option<Vec<Obj<ComponentJson>>>,
    #[serde(default)]
    services: Option<Vec<Obj<ServiceJson>>>,
    #[serde(default)]
    registry: Option<BTreeMap<KeyJson, BTreeMap<String, RegValueJson>>>,
    #[serde(default)]
    events: Option<Vec<Obj<EventJson>>>,
    #[serde(default)]
    files: Option<Vec<Obj<FileJson>>>,
    #[serde(default)]
    facts: Option<BTreeMap<String, FactJson>>,
    #[serde(default)]
    environment: Option<BTreeMap<String, String>>,
    #[serde(default)]
    collected: Option<Obj<CollectedJson>>,
    #[serde(default)]
    skipped: Option<Vec<Obj<SkippedJson>>>,
}

/// What loading the inputs a snapshot was made from skipped.
#[derive(Deserialize)]
struct SkippedJson {
    file: String,
    reason: String,
    count: u64,
}

#[derive(Deserialize)]
struct VersionOnly {
    #[serde(default)]
    kbrules_snapshot: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct HostJson {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    domain: Option<String>,
}

#[derive(Deserialize)]
struct InstalledJson {
    name: String,
    #[serde(default)]
    version: Option<VersionJson>,
    #[serde(default)]
    service_pack: ServicePackJson,
}

#[derive(Deserialize)]
struct ComponentJson {
    name: String,
}

#[derive(Deserialize)]
struct ServiceJson {
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    state: Option<StateJson>,
    #[serde(default)]
    start_type: Option<StartJson>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    image_path: Option<String>,
    #[serde(default)]
    depends_on: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct EventJson {
    log: String,
    source: String,
    id: EventIdJson,
    #[serde(default)]
    level: Option<LevelJson>,
    #[serde(default)]
    time: Option<TimeJson>,
    #[serde(default)]
    record_id: Option<WholeJson>,
    #[serde(default)]
    computer: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    data: DataJson,
    #[serde(default)]
    data_known: Option<DataKnownJson>,
    #[serde(default)]
    binary: Option<HexJson>,
}

/// How much of an event's data its export carried.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum DataKnownJson {
    All,
    Positions,
    Nothing,
}

#[derive(Deserialize)]
struct FileJson {
    path: String,
    #[serde(default)]
    version: Option<VersionJson>,
}

#[derive(Deserialize, Default)]
struct CollectedJson {
    #[serde(default)]
    events: Option<CoverageJson>,
    #[serde(default)]
    registry: Option<CoverageJson>,
    #[serde(default)]
    services: Option<bool>,
    #[serde(default)]
    products: Option<bool>,
    #[serde(default)]
    os: Option<bool>,
    #[serde(default)]
    hotfixes: Option<bool>,
    #[serde(default)]
    components: Option<bool>,
    #[serde(default)]
    files: Option<CoverageJson>,
    #[serde(default)]
    facts: Option<CoverageJson>,
    #[serde(default)]
    environment: Option<bool>,
}

/// Implements `Deserialize` through a visitor that reads the listed kinds of JSON value.
macro_rules! visited {
    ($ty:ident, $expecting:literal, { $($method:item)* }) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    $($method)*
                }
                deserializer.deserialize_any(V)
            }
        }
    };
}

/// A JSON object read as `T`: serde's derived structs would also take an array, by position.
struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer
            .deserialize_map(V(std::marker::PhantomData))
            .map(Obj)
    }
}

struct EventIdJson(u32);

visited!(EventIdJson, "an event id (a whole number)", {
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<EventIdJson, E> {
        u32::try_from(n).map(EventIdJson).map_err(|_| {
            E::custom(format!(
                "event id {n} is out of range: an id with its qualifiers fits in 32 bits"
            ))
        })
    }
});

struct WholeJson(u64);

visited!(WholeJson, "a whole number", {
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<WholeJson, E> {
        Ok(WholeJson(n))
    }
});

struct VersionJson(Version);

visited!(VersionJson, "a version such as \"5.5.2653\"", {
    fn visit_str<E: de::Error>(self, text: &str) -> Result<VersionJson, E> {
        parse_version(text).map(VersionJson).ok_or_else(|| {
            E::custom(format!("`{text}` is not a version: expected numbers separated by dots, such as \"5.5.2653\""))
        })
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<VersionJson, E> {
        Ok(VersionJson(Version {
            parts: vec![n],
            sp: None,
        }))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<VersionJson, E> {
        Err(E::custom(format!(
            "write the version {n} as a string, such as \"{n}\": as a number, 5.10 would be 5.1"
        )))
    }
});

/// Reads `5.5.2653`, also with text after a space (`5.0.2195.6717 (srv03_rtm.030324-2048)`).
pub(crate) fn parse_version(text: &str) -> Option<Version> {
    let text = text.trim();
    let numbers = text.split_whitespace().next()?;
    let parts = numbers
        .split('.')
        .map(|p| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                p.parse::<u64>().ok()
            }
        })
        .collect::<Option<Vec<u64>>>()?;
    Some(Version { parts, sp: None })
}

#[derive(Default)]
struct ServicePackJson(u64);

visited!(
    ServicePackJson,
    "a service-pack level: a number, or text such as \"Service Pack 3\"",
    {
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<ServicePackJson, E> {
            Ok(ServicePackJson(n))
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<ServicePackJson, E> {
            service_pack_text(text).map(ServicePackJson).ok_or_else(|| {
            E::custom(format!(
                "`{text}` names no service-pack level: expected a number, or text such as \"Service Pack 3\" or \"SP3\""
            ))
        })
        }
        fn visit_unit<E: de::Error>(self) -> Result<ServicePackJson, E> {
            Ok(ServicePackJson(0))
        }
    }
);

/// The level in `3`, `SP3`, `Service Pack 3`, `Service Pack 3, v.1089`; 0 for empty text or
/// `none`.
fn service_pack_text(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    if lower.is_empty() || lower == "none" {
        return Some(0);
    }
    if lower.bytes().all(|b| b.is_ascii_digit()) {
        return lower.parse().ok();
    }
    let after = ["service pack", "sp"]
        .iter()
        .find_map(|word| lower.find(word).map(|at| at + word.len()))?;
    let digits: String = lower
        .get(after..)?
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

struct HotfixJson(String);

visited!(
    HotfixJson,
    "a hotfix id such as \"KB329115\" or \"Q329115\"",
    {
        fn visit_str<E: de::Error>(self, text: &str) -> Result<HotfixJson, E> {
            let t = text.trim();
            let digits = t.trim_start_matches(|c: char| c.is_ascii_alphabetic());
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(E::custom(format!(
                    "`{text}` is not a hotfix id: expected letters and a number, such as \"KB329115\""
                )));
            }
            Ok(HotfixJson(format!("KB{digits}")))
        }
    }
);

struct LevelJson(Level);

const LEVELS: &[(&str, Level)] = &[
    ("critical", Level::Critical),
    ("error", Level::Error),
    ("warning", Level::Warning),
    ("information", Level::Information),
    ("informational", Level::Information),
    ("info", Level::Information),
    ("verbose", Level::Verbose),
    ("audit_success", Level::AuditSuccess),
    ("audit_failure", Level::AuditFailure),
];

visited!(LevelJson, "a level such as \"error\", or its number", {
    fn visit_str<E: de::Error>(self, text: &str) -> Result<LevelJson, E> {
        let word = normalize_word(text);
        LEVELS.iter().find(|(n, _)| *n == word).map(|(_, l)| LevelJson(*l)).ok_or_else(|| {
            E::custom(format!(
                "`{text}` is not an event level: expected critical, error, warning, information, verbose, audit_success or audit_failure"
            ))
        })
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<LevelJson, E> {
        let level = match n {
            0 | 4 => Level::Information,
            1 => Level::Critical,
            2 => Level::Error,
            3 => Level::Warning,
            5 => Level::Verbose,
            _ => {
                return Err(E::custom(format!(
                    "event level {n} is out of range: levels go from 0 to 5"
                )));
            }
        };
        Ok(LevelJson(level))
    }
});

/// Lowercase, with spaces and hyphens read as underscores: `Audit Success` is `audit_success`.
fn normalize_word(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

struct StateJson(ServiceState);

const STATES: &[(&str, ServiceState)] = &[
    ("stopped", ServiceState::Stopped),
    ("start_pending", ServiceState::StartPending),
    ("startpending", ServiceState::StartPending),
    ("stop_pending", ServiceState::StopPending),
    ("stoppending", ServiceState::StopPending),
    ("running", ServiceState::Running),
    ("continue_pending", ServiceState::ContinuePending),
    ("continuepending", ServiceState::ContinuePending),
    ("pause_pending", ServiceState::PausePending),
    ("pausepending", ServiceState::PausePending),
    ("paused", ServiceState::Paused),
];

visited!(StateJson, "a service state such as \"running\"", {
    fn visit_str<E: de::Error>(self, text: &str) -> Result<StateJson, E> {
        let word = normalize_word(text);
        STATES.iter().find(|(n, _)| *n == word).map(|(_, s)| StateJson(*s)).ok_or_else(|| {
            E::custom(format!(
                "`{text}` is not a service state: expected stopped, start_pending, stop_pending, running, continue_pending, pause_pending or paused"
            ))
        })
    }
});

struct StartJson(StartType);

const STARTS: &[(&str, StartType)] = &[
    ("boot", StartType::Boot),
    ("system", StartType::System),
    ("automatic", StartType::Automatic),
    ("auto", StartType::Automatic),
    ("manual", StartType::Manual),
    ("demand", StartType::Manual),
    ("disabled", StartType::Disabled),
];

visited!(StartJson, "a start type such as \"automatic\"", {
    fn visit_str<E: de::Error>(self, text: &str) -> Result<StartJson, E> {
        let word = normalize_word(text);
        let word = word.strip_suffix("_start").unwrap_or(&word);
        STARTS.iter().find(|(n, _)| *n == word).map(|(_, s)| StartJson(*s)).ok_or_else(|| {
            E::custom(format!(
                "`{text}` is not a start type: expected boot, system, automatic, manual or disabled"
            ))
        })
    }
});

struct TimeJson(i64);

visited!(TimeJson, "a time such as \"2002-08-06T10:15:00Z\"", {
    fn visit_str<E: de::Error>(self, text: &str) -> Result<TimeJson, E> {
        super::time::parse(text).map(TimeJson).map_err(E::custom)
    }
});

struct HexJson(Vec<u8>);

visited!(HexJson, "bytes in hexadecimal, such as \"0a 00 ff 01\"", {
    fn visit_str<E: de::Error>(self, text: &str) -> Result<HexJson, E> {
        parse_hex(text).map(HexJson).ok_or_else(|| {
            E::custom(format!("`{}` is not bytes in hexadecimal: expected pairs of hex digits, such as \"0a 00 ff 01\"", shorten(text)))
        })
    }
});

/// Reads hex pairs, optionally separated by spaces, commas or hyphens.
pub(crate) fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b' ' | b',' | b'-' | b'\t' | b'\n' | b'\r'))
        .collect();
    if !digits.len().is_multiple_of(2) || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or(text)),
        None => text.to_string(),
    }
}

#[derive(Default)]
struct DataJson(Vec<DataField>);

visited!(
    DataJson,
    "the event's data: a list of strings, or an object of named strings",
    {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DataJson, A::Error> {
            let mut fields = Vec::new();
            while let Some(NamedText(name, value)) = seq.next_element()? {
                fields.push(DataField { name, value });
            }
            Ok(DataJson(fields))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DataJson, A::Error> {
            let mut fields = Vec::new();
            while let Some((name, ScalarText(value))) = map.next_entry::<String, ScalarText>()? {
                fields.push(DataField {
                    name: Some(name),
                    value,
                });
            }
            Ok(DataJson(fields))
        }
        fn visit_unit<E: de::Error>(self) -> Result<DataJson, E> {
            Ok(DataJson(Vec::new()))
        }
    }
);

/// A data field in a list: its text as [`ScalarText`] reads it, or an object with its `name`
/// (optional) and `value`, for events that name some of their fields and not others.
struct NamedText(Option<String>, String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedField {
    #[serde(default)]
    name: Option<String>,
    value: ScalarText,
}

visited!(
    NamedText,
    "a string (or a number, a boolean or null, read as text), or an object with a `value` and \
     a `name`",
    {
        fn visit_str<E: de::Error>(self, text: &str) -> Result<NamedText, E> {
            Ok(NamedText(None, text.to_string()))
        }
        fn visit_string<E: de::Error>(self, text: String) -> Result<NamedText, E> {
            Ok(NamedText(None, text))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<NamedText, E> {
            Ok(NamedText(None, n.to_string()))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<NamedText, E> {
            Ok(NamedText(None, n.to_string()))
        }
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<NamedText, E> {
            Ok(NamedText(None, b.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<NamedText, E> {
            Ok(NamedText(None, String::new()))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<NamedText, A::Error> {
            let NamedField { name, value } =
                NamedField::deserialize(de::value::MapAccessDeserializer::new(map))?;
            Ok(NamedText(name, value.0))
        }
    }
);

/// A string, or a number or boolean read as its text; null is empty.
struct ScalarText(String);

visited!(
    ScalarText,
    "a string (or a number, a boolean or null, read as text)",
    {
        fn visit_str<E: de::Error>(self, text: &str) -> Result<ScalarText, E> {
            Ok(ScalarText(text.to_string()))
        }
        fn visit_string<E: de::Error>(self, text: String) -> Result<ScalarText, E> {
            Ok(ScalarText(text))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<ScalarText, E> {
            Ok(ScalarText(n.to_string()))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<ScalarText, E> {
            Ok(ScalarText(n.to_string()))
        }
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<ScalarText, E> {
            Ok(ScalarText(b.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<ScalarText, E> {
            Ok(ScalarText(String::new()))
        }
    }
);

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct KeyJson(String);

visited!(
    KeyJson,
    "a registry key such as \"HKLM\\\\System\\\\CurrentControlSet\"",
    {
        fn visit_str<E: de::Error>(self, text: &str) -> Result<KeyJson, E> {
            if RegKey::parse(text).is_none() {
                return Err(E::custom(format!(
                    "`{}` is not a registry key: a key starts with a hive, such as \"HKLM\\\\System\"",
                    shorten(text)
                )));
            }
            Ok(KeyJson(text.to_string()))
        }
    }
);

/// A registry value: `{ "type": "REG_…", "data": … }`, in either order.
struct RegValueJson(RegData);

impl<'de> Deserialize<'de> for RegValueJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(rename = "type")]
            ty: String,
            data: serde_json::Value,
        }
        let raw = Raw::deserialize(deserializer)?;
        reg_data(&raw.ty, raw.data)
            .map(RegValueJson)
            .map_err(de::Error::custom)
    }
}

const REG_TYPES: &str = "REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ, REG_DWORD, REG_QWORD, REG_BINARY, \
                         REG_NONE, another type's name (REG_LINK) or REG_ and its number";

fn reg_data(ty: &str, data: serde_json::Value) -> Result<RegData, String> {
    use serde_json::Value as J;
    let upper = ty.trim().to_ascii_uppercase();
    let expected = |what: &str| format!("{upper} data must be {what}");
    let number = |data: &J| -> Option<u64> {
        match data {
            J::Number(n) => n.as_u64(),
            J::String(s) => crate::eval::parse_number(s),
            _ => None,
        }
    };
    let bytes = |data: &J| -> Option<Vec<u8>> {
        match data {
            J::String(s) => parse_hex(s),
            J::Array(items) => items
                .iter()
                .map(|i| i.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect(),
            J::Null => Some(Vec::new()),
            _ => None,
        }
    };
    match upper.as_str() {
        "REG_SZ" | "REG_EXPAND_SZ" => {
            let J::String(s) = data else {
                return Err(expected("a string"));
            };
            Ok(if upper == "REG_SZ" {
                RegData::Sz(s)
            } else {
                RegData::ExpandSz(s)
            })
        }
        "REG_MULTI_SZ" => match data {
            J::Array(items) => items
                .into_iter()
                .map(|i| match i {
                    J::String(s) => Ok(s),
                    _ => Err(expected("a list of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(RegData::MultiSz),
            _ => Err(expected("a list of strings")),
        },
        "REG_DWORD" => number(&data)
            .and_then(|n| u32::try_from(n).ok())
            .map(RegData::Dword)
            .ok_or_else(|| expected("a number from 0 to 0xFFFFFFFF")),
        "REG_QWORD" => number(&data)
            .map(RegData::Qword)
            .ok_or_else(|| expected("a number from 0 to 0xFFFFFFFFFFFFFFFF")),
        "REG_BINARY" => bytes(&data)
            .map(RegData::Binary)
            .ok_or_else(|| expected("bytes in hexadecimal, such as \"0a 00 ff 01\"")),
        other => match super::reg_type_number(other) {
            Some(n) => bytes(&data)
                .map(|b| RegData::Other(n, b))
                .ok_or_else(|| expected("bytes in hexadecimal, such as \"0a 00 ff 01\"")),
            None => Err(format!(
                "`{ty}` is not a registry value type: expected {REG_TYPES}"
            )),
        },
    }
}

enum CoverageJson {
    All(bool),
    Only(Vec<String>),
}

visited!(CoverageJson, "true, false, or a list of names", {
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<CoverageJson, E> {
        Ok(CoverageJson::All(b))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CoverageJson, A::Error> {
        let mut names = Vec::new();
        while let Some(name) = seq.next_element::<String>()? {
            names.push(name);
        }
        Ok(CoverageJson::Only(names))
    }
});

impl CoverageJson {
    fn into_coverage(self) -> Coverage {
        match self {
            CoverageJson::All(true) => Coverage::Everything,
            CoverageJson::All(false) => Coverage::Nothing,
            CoverageJson::Only(names) => Coverage::Only(names),
        }
    }
}

enum FactJson {
    Text(String),
    Number(u64),
    Bool(bool),
}

visited!(
    FactJson,
    "a fact: text, a whole number, or true or false",
    {
        fn visit_str<E: de::Error>(self, text: &str) -> Result<FactJson, E> {
            Ok(FactJson::Text(text.to_string()))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<FactJson, E> {
            Ok(FactJson::Number(n))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<FactJson, E> {
            Err(E::custom(format!(
                "{n} is negative: a number fact is a whole number from 0"
            )))
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<FactJson, E> {
            Err(E::custom(format!(
                "{n} is not a whole number: write a version or a decimal as a string"
            )))
        }
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<FactJson, E> {
            Ok(FactJson::Bool(b))
        }
    }
);

/// Line and column of a serde_json error, when it has one.
fn position(err: &serde_json::Error) -> Option<(usize, usize)> {
    (err.line() > 0).then(|| (err.line(), err.column().max(1)))
}

/// Parses a JSON snapshot. The version is checked first, so that a document in another
/// version of the format gets that error, not one about a field it uses differently.
pub(super) fn parse(bytes: &[u8], origin: &str) -> Result<Snapshot, Diagnostic> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = serde_path_to_error::deserialize::<_, Obj<Document>>(&mut de)
        .map_err(|err| (err.path().to_string(), err.into_inner()))
        .and_then(|Obj(doc)| de.end().map(|()| doc).map_err(|e| (".".to_string(), e)));
    match result {
        Ok(doc) => {
            check_version(Some(&serde_json::Value::from(doc.kbrules_snapshot)), origin)?;
            Ok(convert(doc))
        }
        Err((path, inner)) => {
            // A document in an unknown version, or none, is reported as such first.
            if let Ok(only) = serde_json::from_slice::<VersionOnly>(bytes) {
                check_version(only.kbrules_snapshot.as_ref(), origin)?;
            }
            let code = if inner.is_data() {
                Code::SnapshotField
            } else {
                Code::SnapshotSyntax
            };
            let message = clean_message(&inner);
            let message = if code == Code::SnapshotField && path != "." {
                format!("{path}: {message}")
            } else {
                message
            };
            let mut diagnostic = Diagnostic::global(code, message).with_file(origin);
            if let Some((line, column)) = position(&inner) {
                diagnostic = diagnostic.with_position(line, column);
            }
            Err(diagnostic.with_help(match code {
                Code::SnapshotSyntax => "the snapshot must be one JSON document, UTF-8 encoded",
                _ => "see the snapshot format in the book (`Snapshots`) for what each field holds",
            }))
        }
    }
}

/// serde_json's message without its own ` at line L column C` suffix (the position is
/// reported separately).
fn clean_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text.get(..at).unwrap_or(&text).to_string(),
        None => text,
    }
}

fn check_version(value: Option<&serde_json::Value>, origin: &str) -> Result<(), Diagnostic> {
    let supported = SUPPORTED_VERSIONS
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let message = match value {
        None => "this is not a kbrules snapshot: `kbrules_snapshot` is missing".to_string(),
        Some(v) if v.as_u64().is_some_and(|n| SUPPORTED_VERSIONS.contains(&n)) => return Ok(()),
        Some(v) => format!("snapshot format version {v} is not supported"),
    };
    Err(Diagnostic::global(Code::SnapshotVersion, message)
        .with_file(origin)
        .with_help(format!(
            "this build reads snapshot format version {supported}; write `\"kbrules_snapshot\": 1`"
        )))
}

fn installed(json: InstalledJson) -> Installed {
    Installed {
        name: json.name,
        version: json.version.map(|v| v.0),
        service_pack: json.service_pack.0,
    }
}

fn convert(doc: Document) -> Snapshot {
    let given = doc.collected.map(|c| c.0).unwrap_or_default();
    let coverage = |field: Option<CoverageJson>, present: bool| match field {
        Some(c) => c.into_coverage(),
        None if present => Coverage::Everything,
        None => Coverage::Nothing,
    };
    let collected = Collected {
        events: coverage(given.events, doc.events.is_some()),
        registry: coverage(given.registry, doc.registry.is_some()),
        services: given.services.unwrap_or(doc.services.is_some()),
        products: given.products.unwrap_or(doc.products.is_some()),
        os: given.os.unwrap_or(doc.os.is_some()),
        hotfixes: given.hotfixes.unwrap_or(doc.hotfixes.is_some()),
        components: given.components.unwrap_or(doc.components.is_some()),
        files: coverage(given.files, doc.files.is_some()),
        facts: coverage(given.facts, doc.facts.is_some()),
        environment: given.environment.unwrap_or(doc.environment.is_some()),
    };

    let mut logs = Names::default();
    let mut sources = Names::default();
    let events = doc
        .events
        .unwrap_or_default()
        .into_iter()
        .map(|Obj(e)| Event {
            log: logs.intern(&e.log),
            source: sources.intern(&e.source),
            id: (e.id.0 & 0xFFFF) as u16,
            level: e.level.map(|l| l.0),
            time: e.time.map(|t| t.0),
            record_id: e.record_id.map(|r| r.0),
            computer: e.computer,
            message: e.message,
            data: e.data.0,
            data_known: match e.data_known {
                None | Some(DataKnownJson::All) => DataKnown::All,
                Some(DataKnownJson::Positions) => DataKnown::Positions,
                Some(DataKnownJson::Nothing) => DataKnown::Nothing,
            },
            binary: e.binary.map(|b| b.0),
        })
        .collect();

    // Keys written twice (`HKLM\X` and `HKEY_LOCAL_MACHINE\x`) are one key.
    let mut keys: Vec<RegKeyEntry> = Vec::new();
    for (KeyJson(path), values) in doc.registry.unwrap_or_default() {
        let Some(key) = RegKey::parse(&path) else {
            continue;
        };
        let values = values
            .into_iter()
            .map(|(name, RegValueJson(data))| RegValue {
                name: if name.eq_ignore_ascii_case("(default)") || name == "@" {
                    String::new()
                } else {
                    name
                },
                data,
            });
        let folded = key.folded();
        match keys.iter_mut().find(|k| k.key.folded() == folded) {
            Some(entry) => entry.values.extend(values),
            None => keys.push(RegKeyEntry {
                key,
                values: values.collect(),
            }),
        }
    }

    Snapshot {
        host: doc
            .host
            .map(|Obj(h)| Host {
                name: h.name,
                domain: h.domain,
            })
            .unwrap_or_default(),
        os: doc.os.map(|o| installed(o.0)),
        products: doc
            .products
            .unwrap_or_default()
            .into_iter()
            .map(|p| installed(p.0))
            .collect(),
        hotfixes: doc
            .hotfixes
            .unwrap_or_default()
            .into_iter()
            .map(|h| h.0)
            .collect(),
        components: doc
            .components
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.0.name)
            .collect(),
        services: doc
            .services
            .unwrap_or_default()
            .into_iter()
            .map(|Obj(s)| Service {
                name: s.name,
                display_name: s.display_name,
                state: s.state.map(|s| s.0),
                start_type: s.start_type.map(|s| s.0),
                account: s.account,
                image_path: s.image_path,
                depends_on: s.depends_on,
            })
            .collect(),
        registry: Registry {
            keys,
            ..Registry::default()
        },
        events,
        logs,
        sources,
        files: doc
            .files
            .unwrap_or_default()
            .into_iter()
            .map(|Obj(f)| FileEntry {
                path: f.path,
                version: f.version.map(|v| v.0),
            })
            .collect(),
        facts: doc
            .facts
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| {
                let value = match value {
                    FactJson::Text(t) => FactValue::Text(t),
                    FactJson::Number(n) => FactValue::Number(n),
                    FactJson::Bool(b) => FactValue::Bool(b),
                };
                (name, value)
            })
            .collect(),
        environment: doc.environment.unwrap_or_default(),
        collected,
        skipped: doc
            .skipped
            .unwrap_or_default()
            .into_iter()
            .map(|Obj(s)| Skipped {
                file: s.file,
                reason: s.reason,
                count: s.count,
            })
            .collect(),
        ..Snapshot::default()
    }
}
