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

use super::event_xml::Record;
use super::{Event, Names, Skipped};
use crate::diagnostics::{Code, Diagnostic};

/// The signature every event log file starts with.
const SIGNATURE: &[u8] = b"ElfFile\0";

/// The size of a chunk of records.
const CHUNK_SIZE: u64 = 64 * 1024;

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
    threads: usize,
    progress: &dyn Fn(u64),
) -> Result<(Vec<Event>, Vec<Skipped>), Diagnostic> {
    let mut events = Vec::new();
    let skipped = for_each_record(bytes, origin, threads, progress, |record| {
        events.push(record.into_event(logs, sources));
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
    let (events, skipped) = read(bytes, origin, &mut logs, &mut sources, cores(), &|_| {})?;
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

/// Calls `f` with each record that reads, in order, and returns what was skipped; tells
/// `progress` of each chunk (64 KiB) once its records are read. Chunks are rendered and
/// scanned on `threads` of the crate's worker threads (1: on the calling thread), and handed
/// back in file order.
fn for_each_record(
    bytes: &[u8],
    origin: &str,
    threads: usize,
    progress: &dyn Fn(u64),
    mut f: impl FnMut(Record),
) -> Result<Vec<Skipped>, Diagnostic> {
    if !is_evtx(bytes) {
        return Err(not_evtx(origin, "it does not start with `ElfFile`"));
    }
    let settings = ParserSettings::default()
        .num_threads(threads.max(1))
        .indent(false)
        .validate_checksums(false);
    let mut parser = EvtxParser::from_read_seek(Cursor::new(bytes))
        .map_err(|err| not_evtx(origin, &err.to_string()))?
        .with_configuration(settings);
    // Per reason: the first occurrence and the count.
    let mut chunks: Option<(String, u64)> = None;
    let mut records: Option<(String, u64)> = None;
    // Each record is scanned where it is rendered; it comes back with the first record id of
    // its chunk, which tells where a chunk ends.
    let records_of_chunks = parser.serialized_records(|record| {
        record.and_then(|record| {
            let chunk = record.chunk.header.first_event_record_id;
            record.into_xml_bytes().map(|xml| (chunk, scan(&xml.data)))
        })
    });
    let mut chunk = None;
    for item in records_of_chunks {
        match item {
            Ok((first, record)) => {
                if chunk.is_some_and(|c| c != first) {
                    progress(CHUNK_SIZE);
                }
                chunk = Some(first);
                f(record);
            }
            Err(err) => {
                let slot = match err {
                    EvtxError::FailedToParseRecord { .. }
                    | EvtxError::FailedToReadRecordAt { .. } => &mut records,
                    _ => {
                        progress(CHUNK_SIZE);
                        &mut chunks
                    }
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

/// The cores of the machine: how many threads an event log is read on by default.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A record's XML, as the crate renders it (UTF-8; the lossy path is for a record it got
/// wrong), scanned.
fn scan(xml: &[u8]) -> Record {
    match std::str::from_utf8(xml) {
        Ok(text) => Record::from_xml(text),
        Err(_) => Record::from_xml(&String::from_utf8_lossy(xml)),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
