//! Windows event log files (`.evtx`): reading one into event records.
//!
//! The `evtx` crate owns the binary format (file header, 64 KiB chunks, BinXML templates); this
//! module asks it for each record as XML and takes from that only what the model holds. It must
//! not decide what a snapshot collected (that is the loader's), nor touch the other readers.
//!
//! Decisions, each also tested (`tests/evtx_ground_truth.rs`):
//!
//! - **Which records.** Every chunk slot of the file, also past the chunk count the file header
//!   states (a log that was not closed cleanly has more), in the order the crate gives them:
//!   from the chunk holding the oldest records on, as Windows reads a log that has wrapped
//!   around. Checksums are not checked: a chunk with a stale checksum usually still reads.
//! - **What is fatal.** Only a file that does not start with an event log header (E0409). A
//!   chunk that cannot be read, or a record, is skipped and counted, with the first one's
//!   number, and the rest of the file is read.
//! - **The cheap path.** Each record is rendered to XML by the crate and scanned here once,
//!   without building a tree: the crate's own record tree is not public, and its JSON form
//!   (which `serde_json::Value` would hold) renumbers repeated data names and loses the order
//!   of named and unnamed fields.
//! - **Fields.** The log is `System/Channel`; the source `Provider@Name`, or
//!   `Provider@EventSourceName` without one; a record with neither gets an empty log or source
//!   rather than being dropped. The id is the `EventID` text masked to 16 bits (classic events
//!   carry their upper bits in a `Qualifiers` attribute, which Windows does not show). The level
//!   is `Level` (0 and 4 information, 1 critical, 2 error, 3 warning, 5 verbose); an
//!   information-level record whose `Keywords` carry the audit bits (the Security log) is an
//!   audit success or failure. The data fields are the `EventData/Data` elements, named by their
//!   `Name` attribute when they have one, and otherwise the leaf elements under `UserData`'s
//!   one child, named by their element names; `EventData/Binary` is the binary data. There is
//!   no message: an .evtx file does not carry the rendered text.

use std::collections::BTreeMap;
use std::io::Cursor;

use evtx::err::EvtxError;
use evtx::{EvtxParser, ParserSettings};

use super::{DataField, Event, Names, Skipped};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::Level;

/// The signature every event log file starts with.
const SIGNATURE: &[u8] = b"ElfFile\0";

/// Keyword bits of the Security log's audit events.
const AUDIT_SUCCESS: u64 = 0x0020_0000_0000_0000;
const AUDIT_FAILURE: u64 = 0x0010_0000_0000_0000;

const BAD_CHUNK: &str = "damaged chunk skipped with its records";
const BAD_RECORD: &str = "unreadable record skipped";

/// Whether the bytes start with the event log file signature.
pub(crate) fn is_evtx(bytes: &[u8]) -> bool {
    bytes.starts_with(SIGNATURE)
}

/// The events of one .evtx file, in file order, interned into `logs`/`sources`, and what was
/// skipped.
pub(crate) fn read(
    bytes: &[u8],
    origin: &str,
    logs: &mut Names,
    sources: &mut Names,
) -> Result<(Vec<Event>, Vec<Skipped>), Diagnostic> {
    let mut events = Vec::new();
    let skipped = for_each_record(bytes, origin, |record| {
        events.push(Event {
            log: logs.intern(record.channel.as_deref().unwrap_or("")),
            source: sources.intern(record.provider().unwrap_or("")),
            id: record.id.unwrap_or(0),
            level: record.level(),
            time: record
                .time
                .as_deref()
                .and_then(|t| super::time::parse(t).ok()),
            record_id: record.record_id,
            computer: record.computer,
            message: None,
            data: record.data,
            binary: record.binary,
        });
    })?;
    Ok((events, skipped))
}

/// What one .evtx file holds, in numbers: for tests and quick looks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvtxSummary {
    /// The records read.
    pub records: u64,
    /// The chunks and records skipped because they could not be read.
    pub skipped: u64,
    /// Why they were skipped.
    pub skipped_reasons: Vec<Skipped>,
    /// The records per (source, event id); the source is `?` where a record names none.
    pub histogram: BTreeMap<(String, u16), u64>,
}

/// Reads an .evtx file and counts its records by source and event id.
pub fn read_evtx_summary(bytes: &[u8], origin: &str) -> Result<EvtxSummary, Diagnostic> {
    let (events, skipped) = read_evtx_events(bytes, origin)?;
    let mut histogram = BTreeMap::new();
    for (_, source, event) in &events {
        let source = if source.is_empty() { "?" } else { source };
        *histogram.entry((source.to_string(), event.id)).or_insert(0) += 1;
    }
    Ok(EvtxSummary {
        records: u64::try_from(events.len()).unwrap_or(u64::MAX),
        skipped: skipped.iter().map(|s| s.count).sum(),
        skipped_reasons: skipped,
        histogram,
    })
}

/// An event with its log and source by name.
pub type NamedEvent = (String, String, Event);

/// Reads an .evtx file into its events, each with its log and source, and what was skipped.
pub fn read_evtx_events(
    bytes: &[u8],
    origin: &str,
) -> Result<(Vec<NamedEvent>, Vec<Skipped>), Diagnostic> {
    let (mut logs, mut sources) = (Names::default(), Names::default());
    let (events, skipped) = read(bytes, origin, &mut logs, &mut sources)?;
    let events = events
        .into_iter()
        .map(|e| {
            (
                logs.get(e.log).to_string(),
                sources.get(e.source).to_string(),
                e,
            )
        })
        .collect();
    Ok((events, skipped))
}

/// Calls `f` with each record that reads, in order, and returns what was skipped.
fn for_each_record(
    bytes: &[u8],
    origin: &str,
    mut f: impl FnMut(Record),
) -> Result<Vec<Skipped>, Diagnostic> {
    if !is_evtx(bytes) {
        return Err(not_evtx(origin, "it does not start with `ElfFile`"));
    }
    let settings = ParserSettings::default()
        .num_threads(1)
        .indent(false)
        .validate_checksums(false);
    let mut parser = EvtxParser::from_read_seek(Cursor::new(bytes))
        .map_err(|err| not_evtx(origin, &err.to_string()))?
        .with_configuration(settings);
    // Per reason: the first occurrence and the count.
    let mut chunks: Option<(String, u64)> = None;
    let mut records: Option<(String, u64)> = None;
    for item in parser.records_bytes() {
        match item {
            Ok(record) => {
                let xml = String::from_utf8_lossy(&record.data);
                f(Record::from_xml(&xml));
            }
            Err(err) => {
                let slot = match err {
                    EvtxError::FailedToParseRecord { .. }
                    | EvtxError::FailedToReadRecordAt { .. } => &mut records,
                    _ => &mut chunks,
                };
                match slot {
                    Some((_, count)) => *count += 1,
                    None => *slot = Some((describe(&err), 1)),
                }
            }
        }
    }
    let skipped = [(BAD_CHUNK, chunks), (BAD_RECORD, records)]
        .into_iter()
        .filter_map(|(reason, slot)| {
            slot.map(|(first, count)| Skipped {
                file: origin.to_string(),
                reason: format!("{reason} (first: {first})"),
                count,
            })
        })
        .collect();
    Ok(skipped)
}

/// An error of the crate, with its causes, in lowercase as messages are written.
fn describe(err: &EvtxError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    let text = text.replace(".:", ":");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

fn not_evtx(origin: &str, why: &str) -> Diagnostic {
    Diagnostic::global(
        Code::NotAnEventLog,
        format!(
            "`{origin}` is not an event log file: {}",
            lowercase_first(why)
        ),
    )
    .with_file(origin)
    .with_help(
        "kbrules reads event log files as Windows writes them (`wevtutil epl`, or a copy of \
         `C:\\Windows\\System32\\winevt\\Logs\\*.evtx`); a log saved as text, XML or CSV is \
         not one",
    )
}

fn lowercase_first(text: &str) -> String {
    let text = text.trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// What the model takes from one record.
#[derive(Debug, Default)]
struct Record {
    channel: Option<String>,
    provider_name: Option<String>,
    event_source_name: Option<String>,
    id: Option<u16>,
    level: Option<u8>,
    keywords: Option<u64>,
    time: Option<String>,
    record_id: Option<u64>,
    computer: Option<String>,
    data: Vec<DataField>,
    binary: Option<Vec<u8>>,
}

impl Record {
    fn provider(&self) -> Option<&str> {
        self.provider_name
            .as_deref()
            .or(self.event_source_name.as_deref())
    }

    fn level(&self) -> Option<Level> {
        let audit = |level| match self.keywords {
            Some(k) if k & AUDIT_SUCCESS != 0 => Level::AuditSuccess,
            Some(k) if k & AUDIT_FAILURE != 0 => Level::AuditFailure,
            _ => level,
        };
        match self.level? {
            0 | 4 => Some(audit(Level::Information)),
            1 => Some(Level::Critical),
            2 => Some(Level::Error),
            3 => Some(Level::Warning),
            5 => Some(Level::Verbose),
            _ => None,
        }
    }

    /// Scans a record's XML as the crate renders it: well-formed, escaped, no DTD.
    fn from_xml(xml: &str) -> Record {
        let mut record = Record::default();
        // The open elements: local name, whether it has element children, its `Name` attribute.
        let mut stack: Vec<(&str, bool, Option<String>)> = Vec::new();
        // The text of the innermost element since it opened (what a leaf holds).
        let mut text = String::new();
        let mut rest = xml;
        while let Some((before, after)) = rest.split_once('<') {
            unescape_into(before, &mut text);
            if let Some(r) = after.strip_prefix('?') {
                rest = r.split_once("?>").map_or("", |(_, r)| r);
            } else if let Some(r) = after.strip_prefix("!--") {
                rest = r.split_once("-->").map_or("", |(_, r)| r);
            } else if let Some(r) = after.strip_prefix("![CDATA[") {
                let (cdata, r) = r.split_once("]]>").unwrap_or((r, ""));
                text.push_str(cdata);
                rest = r;
            } else if let Some(r) = after.strip_prefix('/') {
                rest = r.split_once('>').map_or("", |(_, r)| r);
                if let Some((name, false, data_name)) = stack.pop() {
                    record.leaf(&stack, name, data_name, &text);
                }
                text.clear();
            } else {
                let (tag, r, empty) = split_tag(after);
                rest = r;
                let name = local(tag.split([' ', '\t', '\r', '\n']).next().unwrap_or(""));
                if let Some(parent) = stack.last_mut() {
                    parent.1 = true;
                }
                let data_name = record.attributes(&stack, name, tag);
                text.clear();
                if empty {
                    record.leaf(&stack, name, data_name, "");
                } else {
                    stack.push((name, false, data_name));
                }
            }
        }
        record
    }

    /// Takes the attributes of an element opening under `stack`; returns its `Name` attribute
    /// when it is an `EventData/Data` element.
    fn attributes(
        &mut self,
        stack: &[(&str, bool, Option<String>)],
        name: &str,
        tag: &str,
    ) -> Option<String> {
        match (path(stack).as_slice(), name) {
            (["Event", "System"], "Provider") => {
                for (key, value) in attributes(tag) {
                    match key {
                        "Name" => self.provider_name = Some(value),
                        "EventSourceName" => self.event_source_name = Some(value),
                        _ => {}
                    }
                }
                None
            }
            (["Event", "System"], "TimeCreated") => {
                self.time = attributes(tag)
                    .find(|(key, _)| *key == "SystemTime")
                    .map(|(_, v)| v);
                None
            }
            (["Event", "EventData"], "Data") => attributes(tag)
                .find(|(key, _)| *key == "Name")
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Takes the text of a leaf element closing under `stack`.
    fn leaf(
        &mut self,
        stack: &[(&str, bool, Option<String>)],
        name: &str,
        data_name: Option<String>,
        text: &str,
    ) {
        match (path(stack).as_slice(), name) {
            (["Event", "System"], "Channel") => self.channel = Some(text.to_string()),
            (["Event", "System"], "Computer") => self.computer = Some(text.to_string()),
            (["Event", "System"], "EventID") => {
                self.id = text
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .and_then(|n| u16::try_from(n & 0xffff).ok());
            }
            (["Event", "System"], "Level") => self.level = text.trim().parse().ok(),
            (["Event", "System"], "Keywords") => {
                let t = text.trim();
                self.keywords = t
                    .strip_prefix("0x")
                    .map_or_else(|| t.parse().ok(), |hex| u64::from_str_radix(hex, 16).ok());
            }
            (["Event", "System"], "EventRecordID") => self.record_id = text.trim().parse().ok(),
            (["Event", "EventData"], "Data") => self.data.push(DataField {
                name: data_name,
                value: text.to_string(),
            }),
            (["Event", "EventData"], "Binary") => self.binary = parse_hex(text.trim()),
            (["Event", "UserData", _], _) => self.data.push(DataField {
                name: Some(name.to_string()),
                value: text.to_string(),
            }),
            _ => {}
        }
    }
}

/// The local names of the open elements.
fn path<'a>(stack: &[(&'a str, bool, Option<String>)]) -> Vec<&'a str> {
    stack.iter().map(|(name, _, _)| *name).collect()
}

/// A name without its namespace prefix.
fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

/// Splits a start tag (after its `<`) from what follows it, minding quoted values; says
/// whether it closes itself (`/>`).
fn split_tag(after: &str) -> (&str, &str, bool) {
    let mut quote = None;
    for (i, c) in after.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => {
                let (tag, rest) = after.split_at(i);
                let rest = rest.strip_prefix('>').unwrap_or(rest);
                return match tag.strip_suffix('/') {
                    Some(tag) => (tag, rest, true),
                    None => (tag, rest, false),
                };
            }
            _ => {}
        }
    }
    (after, "", false)
}

/// The attributes of a start tag, values unescaped.
fn attributes(tag: &str) -> impl Iterator<Item = (&str, String)> {
    let mut rest = tag
        .split_once(|c: char| c.is_whitespace())
        .map_or("", |(_, r)| r);
    std::iter::from_fn(move || {
        let (key, r) = rest.split_once('=')?;
        let r = r.trim_start();
        let quote = r.chars().next()?;
        let (value, r) = r.get(1..)?.split_once(quote)?;
        rest = r;
        let mut text = String::new();
        unescape_into(value, &mut text);
        Some((local(key.trim()), text))
    })
}

/// Appends XML text with its character and entity references resolved; an unknown reference
/// stays as written.
fn unescape_into(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some((before, after)) = rest.split_once('&') {
        out.push_str(before);
        let resolved = after.split_once(';').and_then(|(entity, r)| {
            let c = match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let n = match entity.strip_prefix("#x").or(entity.strip_prefix("#X")) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => entity.strip_prefix('#')?.parse().ok()?,
                    };
                    char::from_u32(n)?
                }
            };
            Some((c, r))
        });
        match resolved {
            Some((c, r)) => {
                out.push(c);
                rest = r;
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

/// Hex digits as bytes; `None` when they are not an even number of hex digits.
fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_a_classic_record() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>
<Provider Name="Service Control Manager" Guid="{555908d1}" EventSourceName="Service Control Manager"/>
<EventID Qualifiers="16384">7036</EventID><Level>4</Level><Keywords>0x8080000000000000</Keywords>
<TimeCreated SystemTime="2020-09-23T16:57:41.3726306Z"/><EventRecordID>42</EventRecordID>
<Channel>System</Channel><Computer>HOST</Computer><Security/></System>
<EventData><Data Name="param1">A &amp; B &lt;x&gt;</Data><Data>two</Data><Data/><Binary>0A0b</Binary></EventData></Event>"#;
        let r = Record::from_xml(xml);
        assert_eq!(r.provider(), Some("Service Control Manager"));
        assert_eq!(r.id, Some(7036));
        assert_eq!(r.level(), Some(Level::Information));
        assert_eq!(r.time.as_deref(), Some("2020-09-23T16:57:41.3726306Z"));
        assert_eq!(r.record_id, Some(42));
        assert_eq!(r.channel.as_deref(), Some("System"));
        assert_eq!(r.computer.as_deref(), Some("HOST"));
        let data: Vec<_> = r
            .data
            .iter()
            .map(|d| (d.name.as_deref(), d.value.as_str()))
            .collect();
        assert_eq!(
            data,
            [(Some("param1"), "A & B <x>"), (None, "two"), (None, "")]
        );
        assert_eq!(r.binary, Some(vec![10, 11]));
    }

    #[test]
    fn scans_user_data_and_audit_keywords() {
        let xml = r#"<Event><System><Provider Name="Microsoft-Windows-Eventlog"/><EventID>1102</EventID>
<Level>4</Level><Keywords>0x4020000000000000</Keywords><Channel>Security</Channel></System>
<UserData><LogFileCleared xmlns="x"><SubjectUserName>admin</SubjectUserName><BackupPath></BackupPath></LogFileCleared></UserData></Event>"#;
        let r = Record::from_xml(xml);
        assert_eq!(r.level(), Some(Level::AuditSuccess));
        let data: Vec<_> = r
            .data
            .iter()
            .map(|d| (d.name.as_deref(), d.value.as_str()))
            .collect();
        assert_eq!(
            data,
            [(Some("SubjectUserName"), "admin"), (Some("BackupPath"), "")]
        );
    }

    #[test]
    fn refuses_what_is_not_an_event_log() {
        let err = read_evtx_summary(b"{}", "x.evtx")
            .err()
            .map(|d| d.to_string());
        assert!(err.is_some_and(|m| m.contains("not an event log file")));
        let mut header = b"ElfFile\0".to_vec();
        header.resize(64, 0);
        assert!(read_evtx_summary(&header, "x.evtx").is_err());
    }

    #[test]
    fn reads_escapes() {
        let mut out = String::new();
        unescape_into("a&#65;&#x42;&bogus;&", &mut out);
        assert_eq!(out, "aAB&bogus;&");
    }
}
