//! Rendered event exports: event records with their message text, as `wevtutil qe
//! /f:RenderedXml` and `Get-WinEvent | ConvertTo-Json` write them.
//!
//! Owns the two formats and their recognition; the `<Event>` element itself is read by the
//! scanner the event log reader shares ([`super::event_xml`]). It returns events and what it
//! skipped; it must not decide what a snapshot collected (that is the loader's).
//!
//! Decisions, each also tested:
//!
//! - **XML.** Every `<Event>` element in the text, at any depth: `wevtutil qe` writes them one
//!   after another with no root element, and a file that wraps them in one (`<Events>`) reads
//!   the same. The message is `RenderingInfo/Message`; everything else is read as from an .evtx
//!   record. An element cut off by the end of the file, or one without an `EventID`, is skipped
//!   and counted.
//! - **JSON.** PowerShell's objects, compared without case as PowerShell compares property
//!   names: an array of them, one object (`ConvertTo-Json` of a single event), or PowerShell 5's
//!   `{"value": [...], "Count": n}` wrapper. An object is an event when it has a numeric `Id` and
//!   a `ProviderName` or `LogName`, so `Select-Object` subsets read too. The fields are
//!   `LogName`, `ProviderName`, `Id` (masked to 16 bits), `Level` with `Keywords` for audits
//!   (else `LevelDisplayName` and `KeywordsDisplayNames`), `TimeCreated` (PowerShell 5's
//!   `/Date(ms)/`, or PowerShell 7's ISO 8601 text), `RecordId`, `MachineName`, `Message` (`null`
//!   when Windows could not render it: unknown) and `Properties`, the insertion strings by
//!   position. `Get-WinEvent` does not give their names, so a field asked for by name is unknown,
//!   not missing ([`DataKnown::Positions`]); an export without `Properties`, or with them
//!   flattened to type names by too small a `-Depth`, leaves them all unknown
//!   ([`DataKnown::Nothing`], and the flattening is counted as skipped).

use serde_json::{Map, Value};

use super::event_xml::Record;
use super::{DataField, DataKnown, Event, Names, Skipped};
use crate::ir::Level;

const CUT_OFF: &str = "event cut off at the end of the file";
const NO_ID: &str = "event without an event id";
const NOT_AN_OBJECT: &str = "entry that is not an object";
const FLATTENED: &str = "event data written as type names (export with `ConvertTo-Json -Depth 3`)";

/// Events read from an export, and what was skipped.
pub(crate) type Read = (Vec<Event>, Vec<Skipped>);

/// Whether text is a rendered XML export: it starts with markup and holds an `<Event>` element.
pub(crate) fn is_xml(text: &str) -> bool {
    text.trim_start().starts_with('<') && next_event(text).is_some()
}

/// The byte offset of the next `<Event` start tag in `text`.
fn next_event(text: &str) -> Option<usize> {
    let mut from = 0;
    loop {
        let at = from + text.get(from..)?.find("<Event")?;
        let after = text.as_bytes().get(at + "<Event".len());
        if matches!(after, Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')) {
            return Some(at);
        }
        from = at + 1;
    }
}

/// Reads every `<Event>` element of a rendered XML export.
pub(crate) fn read_xml(text: &str, origin: &str, logs: &mut Names, sources: &mut Names) -> Read {
    let mut events = Vec::new();
    let mut skips = Skips::default();
    let mut rest = text;
    let mut number = 0u64;
    while let Some(start) = next_event(rest) {
        number += 1;
        let element = rest.get(start..).unwrap_or("");
        let Some(end) = element.find("</Event>") else {
            skips.add(CUT_OFF, || format!("event {number}"));
            break;
        };
        let end = end + "</Event>".len();
        let record = Record::from_xml(element.get(..end).unwrap_or(""));
        rest = element.get(end..).unwrap_or("");
        if record.id.is_none() {
            skips.add(NO_ID, || format!("event {number}"));
            continue;
        }
        events.push(record.into_event(logs, sources));
    }
    (events, skips.finish(origin))
}

/// Whether parsed JSON is a `Get-WinEvent` export.
pub(crate) fn is_json(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().any(is_event),
        Value::Object(map) if is_event(value) => !map.contains_key("kbrules_snapshot"),
        Value::Object(map) => {
            map.len() == 2 && get(map, "value").is_some_and(|v| v.is_array() && is_json(v))
        }
        _ => false,
    }
}

/// A numeric `Id` and a `ProviderName` or `LogName`.
fn is_event(value: &Value) -> bool {
    let Value::Object(map) = value else {
        return false;
    };
    get(map, "Id").is_some_and(Value::is_number)
        && (get(map, "ProviderName").is_some() || get(map, "LogName").is_some())
}

/// A property by name, ignoring case, as PowerShell finds it.
fn get<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn text<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    get(map, key).and_then(Value::as_str)
}

/// Reads a `Get-WinEvent` export that [`is_json`] recognised.
pub(crate) fn read_json(value: Value, origin: &str, logs: &mut Names, sources: &mut Names) -> Read {
    let items = match value {
        Value::Array(items) => items,
        single if is_event(&single) => vec![single],
        // PowerShell 5's wrapper.
        Value::Object(mut map) => match map
            .keys()
            .find(|k| k.eq_ignore_ascii_case("value"))
            .cloned()
            .and_then(|k| map.remove(&k))
        {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        other => vec![other],
    };
    let mut events = Vec::with_capacity(items.len());
    let mut skips = Skips::default();
    for (i, item) in items.iter().enumerate() {
        let at = || format!("entry {}", i + 1);
        let Value::Object(map) = item else {
            skips.add(NOT_AN_OBJECT, at);
            continue;
        };
        let Some(id) = get(map, "Id").and_then(Value::as_u64) else {
            skips.add(NO_ID, at);
            continue;
        };
        let (data, data_known) = match get(map, "Properties") {
            None => (Vec::new(), DataKnown::Nothing),
            Some(Value::Array(props)) => match properties(props) {
                Some(data) => (data, DataKnown::Positions),
                None => {
                    skips.add(FLATTENED, at);
                    (Vec::new(), DataKnown::Nothing)
                }
            },
            Some(Value::Null) => (Vec::new(), DataKnown::Positions),
            Some(_) => {
                skips.add(FLATTENED, at);
                (Vec::new(), DataKnown::Nothing)
            }
        };
        events.push(Event {
            log: logs.intern(text(map, "LogName").unwrap_or("")),
            source: sources.intern(text(map, "ProviderName").unwrap_or("")),
            id: u16::try_from(id & 0xffff).unwrap_or(0),
            level: level(map),
            time: get(map, "TimeCreated").and_then(time),
            record_id: get(map, "RecordId").and_then(Value::as_u64),
            computer: text(map, "MachineName").map(str::to_string),
            message: text(map, "Message").map(str::to_string),
            data,
            data_known,
            binary: None,
        });
    }
    (events, skips.finish(origin))
}

/// The insertion strings of `Properties`: each an `EventProperty` object with its `Value`.
/// `None` when `ConvertTo-Json`'s depth limit wrote them as type names.
fn properties(props: &[Value]) -> Option<Vec<DataField>> {
    props
        .iter()
        .map(|p| {
            let value = match p {
                Value::Object(map) => get(map, "Value").map_or(String::new(), property_text),
                Value::String(s) if s.starts_with("System.") => return None,
                other => property_text(other),
            };
            Some(DataField { name: None, value })
        })
        .collect()
}

/// A property's value as the XML rendering shows it: bytes in hexadecimal, a security
/// identifier as its `S-1-…` text, `true`/`false`, numbers in decimal.
fn property_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let bytes: Option<Vec<u8>> = items
                .iter()
                .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            match bytes {
                Some(bytes) => bytes.iter().map(|b| format!("{b:02X}")).collect(),
                None => items
                    .iter()
                    .map(property_text)
                    .collect::<Vec<_>>()
                    .join(" "),
            }
        }
        Value::Object(map) => get(map, "Value").map_or(String::new(), property_text),
    }
}

/// `Level` (with the audit bits of `Keywords`), else the display names.
fn level(map: &Map<String, Value>) -> Option<Level> {
    let keywords = get(map, "Keywords").and_then(|k| {
        k.as_u64()
            .or_else(|| k.as_i64().map(|n| u64::from_ne_bytes(n.to_ne_bytes())))
    });
    if let Some(n) = get(map, "Level").and_then(Value::as_u64) {
        return super::event_xml::level(n, keywords);
    }
    let display = |key| {
        let names: Vec<&str> = match get(map, key) {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        names
    };
    for name in display("KeywordsDisplayNames") {
        match name.to_ascii_lowercase().as_str() {
            "audit success" => return Some(Level::AuditSuccess),
            "audit failure" => return Some(Level::AuditFailure),
            _ => {}
        }
    }
    display("LevelDisplayName")
        .first()
        .and_then(|name| match name.to_ascii_lowercase().as_str() {
            "information" => Some(Level::Information),
            "critical" => Some(Level::Critical),
            "error" => Some(Level::Error),
            "warning" => Some(Level::Warning),
            "verbose" => Some(Level::Verbose),
            _ => None,
        })
}

/// `TimeCreated`: PowerShell 5's `/Date(1600880261372)/` (milliseconds since 1970, UTC, an
/// offset after them only says the zone it was shown in), PowerShell 7's ISO 8601 text, or
/// either inside the `{"value": …, "DateTime": …}` object PowerShell writes for a date it
/// annotated.
fn time(value: &Value) -> Option<i64> {
    match value {
        Value::String(s) => match s.strip_prefix("/Date(") {
            Some(rest) => {
                let digits = rest.trim_end_matches(")/");
                let end = digits
                    .char_indices()
                    .skip(1)
                    .find(|(_, c)| !c.is_ascii_digit())
                    .map_or(digits.len(), |(i, _)| i);
                digits.get(..end)?.parse().ok()
            }
            None => super::time::parse(s).ok(),
        },
        Value::Object(map) => get(map, "value").and_then(time),
        _ => None,
    }
}

/// What was skipped, by reason, with where the first was.
#[derive(Default)]
struct Skips(Vec<(&'static str, String, u64)>);

impl Skips {
    fn add(&mut self, reason: &'static str, at: impl FnOnce() -> String) {
        match self.0.iter_mut().find(|(r, _, _)| *r == reason) {
            Some((_, _, count)) => *count += 1,
            None => self.0.push((reason, at(), 1)),
        }
    }

    fn finish(self, origin: &str) -> Vec<Skipped> {
        self.0
            .into_iter()
            .map(|(reason, first, count)| Skipped {
                file: origin.to_string(),
                reason: format!("{reason} (first: {first})"),
                count,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(text: &str) -> (Vec<Event>, Vec<Skipped>, Names, Names) {
        let (mut logs, mut sources) = (Names::default(), Names::default());
        let (events, skipped) = read_xml(text, "x.xml", &mut logs, &mut sources);
        (events, skipped, logs, sources)
    }

    fn json(text: &str) -> (Vec<Event>, Vec<Skipped>, Names, Names) {
        let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        assert!(is_json(&value), "not recognised: {text}");
        let (mut logs, mut sources) = (Names::default(), Names::default());
        let (events, skipped) = read_json(value, "x.json", &mut logs, &mut sources);
        (events, skipped, logs, sources)
    }

    #[test]
    fn finds_event_elements_only() {
        assert_eq!(next_event("<Events><EventData/><Event>"), Some(20));
        assert_eq!(next_event("<EventData/>"), None);
        assert!(!is_xml("<root/>"));
        assert!(is_xml(
            "\u{feff}<Event xmlns='x'></Event>".trim_start_matches('\u{feff}')
        ));
    }

    #[test]
    fn reads_time_forms() {
        assert_eq!(
            time(&Value::from("/Date(1600880261372)/")),
            Some(1_600_880_261_372)
        );
        assert_eq!(
            time(&Value::from("/Date(1600880261372+0200)/")),
            Some(1_600_880_261_372)
        );
        assert_eq!(time(&Value::from("/Date(-1000)/")), Some(-1000));
        assert_eq!(
            time(&Value::from("2020-09-23T18:57:41.3726306+02:00")),
            Some(1_600_880_261_372)
        );
        let annotated = serde_json::json!({ "value": "/Date(5)/", "DateTime": "x" });
        assert_eq!(time(&annotated), Some(5));
        assert_eq!(time(&Value::from("yesterday")), None);
    }

    #[test]
    fn skips_cut_off_and_idless_events() {
        let (events, skipped, _, _) = xml("<Event><System><Provider Name='a'/></System></Event>\
             <Event><System><EventID>1</EventID></System></Event><Event><System>");
        assert_eq!(events.len(), 1);
        let reasons: Vec<_> = skipped
            .iter()
            .map(|s| (s.reason.as_str(), s.count))
            .collect();
        assert_eq!(
            reasons,
            [
                ("event without an event id (first: event 1)", 1),
                ("event cut off at the end of the file (first: event 3)", 1)
            ]
        );
    }

    #[test]
    fn reads_property_values() {
        let (events, skipped, _, _) = json(
            r#"{"Id": 4624, "LogName": "Security", "Keywords": -9214364837600034816, "Level": 0,
                "Properties": [{"Value": {"BinaryLength": 12, "Value": "S-1-5-18"}},
                               {"Value": [10, 255]}, {"Value": true}, {"Value": null}, {"Value": 7}]}"#,
        );
        assert!(skipped.is_empty());
        let e = &events[0];
        assert_eq!(e.level, Some(Level::AuditSuccess));
        let data: Vec<_> = e.data.iter().map(|d| d.value.as_str()).collect();
        assert_eq!(data, ["S-1-5-18", "0AFF", "true", "", "7"]);
        assert_eq!(e.data_known, DataKnown::Positions);
    }

    #[test]
    fn flattened_properties_are_unknown_and_counted() {
        let (events, skipped, _, _) = json(
            r#"[{"Id": 1, "ProviderName": "a", "Properties": "System.Collections.Generic.List`1[System.Diagnostics.Eventing.Reader.EventProperty]"},
                {"Id": 2, "ProviderName": "a", "Properties": ["System.Diagnostics.Eventing.Reader.EventProperty"]},
                {"Id": 3, "ProviderName": "a"}, 5]"#,
        );
        let known: Vec<_> = events.iter().map(|e| e.data_known).collect();
        assert_eq!(known, [DataKnown::Nothing; 3]);
        let reasons: Vec<_> = skipped
            .iter()
            .map(|s| (s.reason.as_str(), s.count))
            .collect();
        assert_eq!(
            reasons,
            [
                (
                    "event data written as type names (export with `ConvertTo-Json -Depth 3`) \
                     (first: entry 1)",
                    2
                ),
                ("entry that is not an object (first: entry 4)", 1)
            ]
        );
    }

    #[test]
    fn levels_from_display_names() {
        let (events, _, _, _) = json(
            r#"[{"Id": 1, "ProviderName": "a", "LevelDisplayName": "Warning"},
                {"Id": 2, "ProviderName": "a", "LevelDisplayName": "Information", "KeywordsDisplayNames": ["Audit Failure"]},
                {"Id": 3, "ProviderName": "a", "Level": 9}]"#,
        );
        let levels: Vec<_> = events.iter().map(|e| e.level).collect();
        assert_eq!(
            levels,
            [Some(Level::Warning), Some(Level::AuditFailure), None]
        );
    }

    #[test]
    fn recognises_wrappers_but_not_snapshots() {
        let wrapped =
            serde_json::json!({ "value": [{ "Id": 1, "LogName": "System" }], "Count": 1 });
        assert!(is_json(&wrapped));
        let (events, _, logs, _) = json(&wrapped.to_string());
        assert_eq!(events.len(), 1);
        assert_eq!(logs.get(events[0].log), "System");
        assert!(!is_json(
            &serde_json::json!({ "kbrules_snapshot": 1, "Id": 1, "LogName": "x" })
        ));
        assert!(!is_json(
            &serde_json::json!([{ "Name": "Spooler", "Status": 4 }])
        ));
    }
}
