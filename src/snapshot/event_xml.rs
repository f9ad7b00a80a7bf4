//! Event records as XML: the scanner that reads one `<Event>` element into what the model
//! holds. The event log reader feeds it the XML the `evtx` crate renders for each record; the
//! rendered-event reader feeds it each `<Event>` of a `wevtutil qe /f:RenderedXml` export, which
//! adds `RenderingInfo` with the message. It owns no file format, only the element's layout.

use super::{DataField, DataKnown, Event, Names};
use crate::ir::Level;

/// Keyword bits of the Security log's audit events.
const AUDIT_SUCCESS: u64 = 0x0020_0000_0000_0000;
const AUDIT_FAILURE: u64 = 0x0010_0000_0000_0000;

/// The level Windows stores (0 and 4 information, 1 critical, 2 error, 3 warning, 5 verbose),
/// information read as an audit success or failure when the keywords carry an audit bit.
pub(crate) fn level(level: u64, keywords: Option<u64>) -> Option<Level> {
    let audit = |level| match keywords {
        Some(k) if k & AUDIT_SUCCESS != 0 => Level::AuditSuccess,
        Some(k) if k & AUDIT_FAILURE != 0 => Level::AuditFailure,
        _ => level,
    };
    match level {
        0 | 4 => Some(audit(Level::Information)),
        1 => Some(Level::Critical),
        2 => Some(Level::Error),
        3 => Some(Level::Warning),
        5 => Some(Level::Verbose),
        _ => None,
    }
}

/// What the model takes from one record.
#[derive(Debug, Default)]
pub(crate) struct Record {
    pub(crate) channel: Option<String>,
    pub(crate) provider_name: Option<String>,
    pub(crate) event_source_name: Option<String>,
    pub(crate) id: Option<u16>,
    pub(crate) level: Option<u64>,
    pub(crate) keywords: Option<u64>,
    /// `TimeCreated@SystemTime`, read.
    pub(crate) time: Option<i64>,
    pub(crate) record_id: Option<u64>,
    pub(crate) computer: Option<String>,
    pub(crate) data: Vec<DataField>,
    pub(crate) binary: Option<Vec<u8>>,
    /// `RenderingInfo/Message`: only a rendered export has one.
    pub(crate) message: Option<String>,
}

impl Record {
    /// The event, its log and source interned.
    pub(crate) fn into_event(self, logs: &mut Names, sources: &mut Names) -> Event {
        Event {
            log: logs.intern(self.channel.as_deref().unwrap_or("")),
            source: sources.intern(self.provider().unwrap_or("")),
            id: self.id.unwrap_or(0),
            level: self.level(),
            time: self.time,
            record_id: self.record_id,
            computer: self.computer,
            message: self.message,
            data: self.data,
            data_known: DataKnown::All,
            binary: self.binary,
        }
    }

    pub(crate) fn provider(&self) -> Option<&str> {
        self.provider_name
            .as_deref()
            .or(self.event_source_name.as_deref())
    }

    pub(crate) fn level(&self) -> Option<Level> {
        level(self.level?, self.keywords)
    }

    /// Scans a record's XML as the crate renders it: well-formed, escaped, no DTD. One pass
    /// over the bytes; the text of an element is gathered only when the model keeps it.
    pub(crate) fn from_xml(xml: &str) -> Record {
        let mut record = Record::default();
        // The local names of the open elements, and what each is.
        let mut names: Vec<&str> = Vec::with_capacity(8);
        let mut open: Vec<Open> = Vec::with_capacity(8);
        // The text of the innermost element since it opened, when it is kept.
        let mut text = String::new();
        let mut at = 0;
        let bytes = xml.as_bytes();
        while let Some(lt) = bytes
            .get(at..)
            .and_then(|r| memchr::memchr(b'<', r))
            .map(|i| at + i)
        {
            let keeping = open
                .last()
                .is_some_and(|o| o.slot != Slot::Ignored && !o.children);
            if keeping {
                unescape_into(xml.get(at..lt).unwrap_or(""), &mut text);
            }
            let after = xml.get(lt + 1..).unwrap_or("");
            let skip_past = |end: &str, from: usize| {
                xml.get(from..)
                    .and_then(|r| r.find(end))
                    .map_or(xml.len(), |i| from + i + end.len())
            };
            if after.starts_with('?') {
                at = skip_past("?>", lt);
            } else if after.starts_with("!--") {
                at = skip_past("-->", lt);
            } else if let Some(r) = after.strip_prefix("![CDATA[") {
                let end = r.find("]]>").unwrap_or(r.len());
                if keeping {
                    text.push_str(r.get(..end).unwrap_or(""));
                }
                at = skip_past("]]>", lt);
            } else if after.starts_with('/') {
                at = bytes
                    .get(lt..)
                    .and_then(|r| memchr::memchr(b'>', r))
                    .map_or(xml.len(), |i| lt + i + 1);
                let name = names.pop().unwrap_or("");
                if let Some(o) = open.pop()
                    && !o.children
                {
                    record.leaf(o.slot, name, o.data_name, &mut text);
                }
                text.clear();
            } else {
                let (tag, rest, empty) = split_tag(after);
                at = xml.len() - rest.len();
                let end = tag
                    .bytes()
                    .position(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                    .unwrap_or(tag.len());
                let name = local(tag.get(..end).unwrap_or(tag));
                if let Some(parent) = open.last_mut() {
                    parent.children = true;
                }
                let slot = Slot::of(&names, name);
                let data_name = record.attributes(&names, name, tag);
                text.clear();
                if empty {
                    record.leaf(slot, name, data_name, &mut String::new());
                } else {
                    names.push(name);
                    open.push(Open {
                        slot,
                        children: false,
                        data_name,
                    });
                }
            }
        }
        record
    }

    /// Takes the attributes of an element opening under `parents`; returns its `Name`
    /// attribute when it is an `EventData/Data` element.
    fn attributes(&mut self, parents: &[&str], name: &str, tag: &str) -> Option<String> {
        match (parents, name) {
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
                    .and_then(|(_, v)| super::time::parse(&v).ok());
                None
            }
            (["Event", "EventData"], "Data") => attributes(tag)
                .find(|(key, _)| *key == "Name")
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Takes the text of a leaf element named `name` that closed.
    fn leaf(&mut self, slot: Slot, name: &str, data_name: Option<String>, text: &mut String) {
        match slot {
            Slot::Ignored => {}
            Slot::Channel => self.channel = Some(std::mem::take(text)),
            Slot::Computer => self.computer = Some(std::mem::take(text)),
            Slot::EventId => {
                self.id = text
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .and_then(|n| u16::try_from(n & 0xffff).ok());
            }
            Slot::Level => self.level = text.trim().parse().ok(),
            Slot::Keywords => {
                let t = text.trim();
                self.keywords = t
                    .strip_prefix("0x")
                    .map_or_else(|| t.parse().ok(), |hex| u64::from_str_radix(hex, 16).ok());
            }
            Slot::RecordId => self.record_id = text.trim().parse().ok(),
            Slot::Data => self.data.push(DataField {
                name: data_name,
                value: std::mem::take(text),
            }),
            Slot::Binary => self.binary = parse_hex(text.trim()),
            Slot::Message => self.message = Some(std::mem::take(text)),
            Slot::UserData => self.data.push(DataField {
                name: Some(name.to_string()),
                value: std::mem::take(text),
            }),
        }
    }
}

/// An open element: what its text would be, whether it has element children (then it is no
/// leaf), and its `Name` attribute when it is an `EventData/Data` element.
struct Open {
    slot: Slot,
    children: bool,
    data_name: Option<String>,
}

/// What a leaf's text is to the model, known from where the element opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Ignored,
    Channel,
    Computer,
    EventId,
    Level,
    Keywords,
    RecordId,
    Data,
    Binary,
    Message,
    UserData,
}

impl Slot {
    fn of(parents: &[&str], name: &str) -> Slot {
        match (parents, name) {
            (["Event", "System"], "Channel") => Slot::Channel,
            (["Event", "System"], "Computer") => Slot::Computer,
            (["Event", "System"], "EventID") => Slot::EventId,
            (["Event", "System"], "Level") => Slot::Level,
            (["Event", "System"], "Keywords") => Slot::Keywords,
            (["Event", "System"], "EventRecordID") => Slot::RecordId,
            (["Event", "EventData"], "Data") => Slot::Data,
            (["Event", "EventData"], "Binary") => Slot::Binary,
            (["Event", "RenderingInfo"], "Message") => Slot::Message,
            (["Event", "UserData", _], _) => Slot::UserData,
            _ => Slot::Ignored,
        }
    }
}

/// A name without its namespace prefix.
fn local(name: &str) -> &str {
    // Names are short: a loop beats a search.
    match name.bytes().rposition(|b| b == b':') {
        Some(i) => name.get(i + 1..).unwrap_or(name),
        None => name,
    }
}

/// Splits a start tag (after its `<`) from what follows it, minding quoted values; says
/// whether it closes itself (`/>`).
fn split_tag(after: &str) -> (&str, &str, bool) {
    // The delimiters are ASCII, so each byte index found is a character boundary.
    let mut quote = None;
    for (i, b) in after.bytes().enumerate() {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => {
                let (tag, rest) = after.split_at(i);
                let rest = rest.get(1..).unwrap_or("");
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
        assert_eq!(
            r.time.map(super::super::time::format).as_deref(),
            Some("2020-09-23T16:57:41.372Z")
        );
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
    fn reads_escapes() {
        let mut out = String::new();
        unescape_into("a&#65;&#x42;&bogus;&", &mut out);
        assert_eq!(out, "aAB&bogus;&");
    }
}
