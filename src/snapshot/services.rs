//! Service lists as Windows tools write them: reading one into [`Service`]s.
//!
//! Owns three formats, recognised by content and never by file name: PowerShell's JSON
//! (`Get-Service | ConvertTo-Json`, also `Get-CimInstance Win32_Service | ConvertTo-Json`), its
//! CSV (`Get-Service | Export-Csv`) and the text `sc query`, `sc queryex` and `sc qc` print. It
//! returns services and what it skipped; it must not decide what a snapshot collected (that is
//! the loader's), nor touch the other readers.
//!
//! Decisions, each also tested:
//!
//! - **Encoding.** A file with the UTF-16LE byte-order mark, or without one but with a NUL as
//!   its second byte, is UTF-16LE (what PowerShell 5's `>` and `Out-File` write); anything else
//!   is 8-bit, with or without a UTF-8 mark, read as UTF-8 when it is valid UTF-8 and otherwise
//!   byte by byte as Windows-1252. `sc` redirected from `cmd` writes the OEM code page, so a
//!   non-ASCII display name from it loads with wrong letters but the list intact.
//! - **Recognising.** JSON is a service list when it is an array holding at least one
//!   service-shaped object, a single service-shaped object, or PowerShell 5's
//!   `{"value": [...], "Count": n}` wrapper around such an array; service-shaped means a string
//!   `Name` and one of `Status`, `State` or `ServiceName`. A kbrules snapshot
//!   (`"kbrules_snapshot"`) never is. CSV is a service list when its header (after an optional
//!   `#TYPE …` line) has a `Name` column and one of those three; its delimiter is the character
//!   after the first header field, so `-UseCulture`'s `;` reads too. `sc` text is a service list
//!   when a line among its first 64 starts with `SERVICE_NAME:`.
//! - **Fields.** Property names are compared without case, as PowerShell compares them; every
//!   property not named here is ignored. The name is `Name`, else `ServiceName`. A
//!   `Win32_Service` object (one with `State` or `StartMode`) takes its state from `State` (its
//!   `Status` is a health, `OK`), its start type from `StartMode`, its account from `StartName`
//!   and its program from `PathName`; a `Get-Service` object takes `Status`, `StartType` (else
//!   PowerShell 7's `StartupType`), `UserName` and `BinaryPathName`. States and start types are
//!   read as numbers (the .NET enums' values, or `sc`'s) or as names in any of the spellings
//!   the tools write (`Running`, `RUNNING`, `Start Pending`, `START_PENDING`; `Automatic`,
//!   `Auto`, `AUTO_START`, `AutomaticDelayedStart`, `DEMAND_START`). A delayed automatic start
//!   is automatic. `Unknown` (a `Win32_Service` state), `null` and an empty CSV field leave the
//!   field unknown.
//! - **Dependencies.** `ServicesDependedOn`, else `RequiredServices` (its alias): an array of
//!   names or of objects with a `Name`, at any depth of nesting PowerShell wrote. Where
//!   `ConvertTo-Json`'s depth limit or CSV flattened the list to a type name
//!   (`System.ServiceProcess.ServiceController[]`), the dependencies are unknown, not empty.
//!   `sc qc`'s `DEPENDENCIES` run over several lines, each further one starting with `:`;
//!   `sc query` lists none, so its services' dependencies are unknown.
//! - **Merging.** A service listed twice (names compared without case) is one service: each
//!   field keeps the first value given and takes a later one only where it had none. So
//!   `sc queryex` followed by several `sc qc` outputs, in one file, gives each service its state
//!   and its configuration; the order is that of first listing.
//! - **What is skipped.** An entry that cannot be read — no name, a state or start type no tool
//!   writes, a CSV row with more or fewer fields than the header or cut off inside quotes, a JSON
//!   element that is not an object — is skipped and counted by reason, with the line (or, in
//!   JSON, the entry) of the first one; so are `sc`'s `[SC] … FAILED` reports and text outside
//!   any `SERVICE_NAME:` block.
//! - **What is fatal.** Only a file that is no service list at all, or JSON that does not parse:
//!   E0410, with the line and column where JSON broke.

mod csv;
mod json;
mod sc;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use super::{Service, Skipped};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{ServiceState, StartType};

/// A service-list format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceFormat {
    /// `ConvertTo-Json` of `Get-Service` or `Win32_Service` objects.
    PowerShellJson,
    /// `Export-Csv` of the same.
    PowerShellCsv,
    /// `sc query`, `sc queryex` or `sc qc` text, or several concatenated.
    ScText,
}

const FORMATS_HELP: &str = "kbrules reads service lists written by `Get-Service | ConvertTo-Json`, \
                            `Get-Service | Export-Csv`, `Get-CimInstance Win32_Service | \
                            ConvertTo-Json` and `sc queryex` or `sc qc`, as they are";

/// Reads a service list (any of the formats above) into its services, in the order first listed,
/// and what it skipped, counted by reason.
///
/// This is the reader `kbrules` uses for service lists, exposed for tests and tools; an error
/// (E0410) names the file and, for broken JSON, the line and column.
///
/// ```
/// let text = "SERVICE_NAME: Spooler\nDISPLAY_NAME: Print Spooler\n        STATE              : 4  RUNNING\n";
/// let (services, skipped) =
///     kbrules::snapshot::services::read_service_list(text.as_bytes(), "sc.txt")
///         .expect("a service list");
/// assert_eq!(services[0].name, "Spooler");
/// assert_eq!(services[0].state, Some(kbrules::ir::ServiceState::Running));
/// assert!(skipped.is_empty());
/// ```
pub fn read_service_list(
    bytes: &[u8],
    origin: &str,
) -> Result<(Vec<Service>, Vec<Skipped>), Diagnostic> {
    read(bytes, origin)
}

/// Which service-list format bytes hold, if any, recognised by content as [`read_service_list`]
/// recognises it; a kbrules snapshot and a registry export are never service lists.
///
/// ```
/// use kbrules::snapshot::services::{ServiceFormat, detect_service_list};
/// let json = br#"[{"Name": "Spooler", "Status": 4}]"#;
/// assert_eq!(detect_service_list(json), Some(ServiceFormat::PowerShellJson));
/// assert_eq!(detect_service_list(br#"{"kbrules_snapshot": 1}"#), None);
/// ```
pub fn detect_service_list(bytes: &[u8]) -> Option<ServiceFormat> {
    detect(bytes)
}

/// Which service-list format bytes hold, if any (recognised by content, not by file name).
pub(crate) fn detect(bytes: &[u8]) -> Option<ServiceFormat> {
    match recognise(&super::text::decode(bytes)) {
        Recognised::Json(_) => Some(ServiceFormat::PowerShellJson),
        Recognised::Csv => Some(ServiceFormat::PowerShellCsv),
        Recognised::Sc => Some(ServiceFormat::ScText),
        Recognised::BrokenJson(..) | Recognised::Snapshot | Recognised::Other => None,
    }
}

/// Reads parsed JSON that is a service list (`Ok`), or gives it back (`Err`).
pub(crate) fn read_json_value(
    value: serde_json::Value,
    origin: &str,
) -> Result<(Vec<Service>, Vec<Skipped>), serde_json::Value> {
    if !json::is_list(&value) {
        return Err(value);
    }
    let mut list = List::default();
    if let Ok(entries) = json::entries(value) {
        json::read(&entries, &mut list);
    }
    Ok(list.finish(origin))
}

/// Reads a service list; a malformed entry is skipped and counted, a file that is not a service
/// list is an error with a code.
pub(crate) fn read(bytes: &[u8], origin: &str) -> Result<(Vec<Service>, Vec<Skipped>), Diagnostic> {
    let text = super::text::decode(bytes);
    let mut list = List::default();
    let not_a_list = |message: String| {
        Diagnostic::global(Code::InvalidServiceList, message)
            .with_file(origin)
            .with_help(FORMATS_HELP)
    };
    match recognise(&text) {
        Recognised::Json(entries) => json::read(&entries, &mut list),
        Recognised::Csv => csv::read(&text, &mut list),
        Recognised::Sc => sc::read(&text, &mut list),
        Recognised::BrokenJson(message, line, column) => {
            return Err(not_a_list(format!(
                "`{origin}` is not a service list: its JSON does not parse: {message}"
            ))
            .with_position(line, column));
        }
        Recognised::Snapshot => {
            return Err(not_a_list(format!(
                "`{origin}` is a kbrules snapshot, not a service list"
            )));
        }
        Recognised::Other => {
            return Err(not_a_list(if text.trim().is_empty() {
                format!("`{origin}` is empty")
            } else {
                format!("`{origin}` is not a service list")
            }));
        }
    }
    Ok(list.finish(origin))
}

/// What text holds.
enum Recognised {
    /// A JSON service list: its entries.
    Json(Vec<serde_json::Value>),
    /// A CSV service list.
    Csv,
    /// `sc` text.
    Sc,
    /// JSON that does not parse: the message, line and column.
    BrokenJson(String, usize, usize),
    /// A kbrules snapshot.
    Snapshot,
    /// Anything else.
    Other,
}

fn recognise(text: &str) -> Recognised {
    match text.trim_start().chars().next() {
        Some('{' | '[') => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(value) => json::entries(value).map_or_else(
                |snapshot| {
                    if snapshot {
                        Recognised::Snapshot
                    } else {
                        Recognised::Other
                    }
                },
                Recognised::Json,
            ),
            Err(err) => {
                Recognised::BrokenJson(err.to_string(), err.line().max(1), err.column().max(1))
            }
        },
        Some(_) if csv::is_csv(text) => Recognised::Csv,
        Some(_) if sc::is_sc(text) => Recognised::Sc,
        _ => Recognised::Other,
    }
}

/// The services read so far, merged by name, and what was skipped.
#[derive(Default)]
pub(super) struct List {
    services: Vec<Service>,
    by_name: HashMap<String, usize>,
    /// Reason, where the first was (`line 4`, `entry 2`), how many.
    skipped: Vec<(&'static str, String, u64)>,
}

impl List {
    /// Adds a service, merging it into one of the same name listed before.
    pub(super) fn add(&mut self, service: Service) {
        let key = service.name.to_lowercase();
        match self
            .by_name
            .get(&key)
            .and_then(|&i| self.services.get_mut(i))
        {
            Some(first) => merge(first, service),
            None => {
                self.by_name.insert(key, self.services.len());
                self.services.push(service);
            }
        }
    }

    /// Counts something skipped; `at` says where the first one was.
    pub(super) fn skip(&mut self, reason: &'static str, at: impl FnOnce() -> String) {
        match self.skipped.iter_mut().find(|(r, _, _)| *r == reason) {
            Some((_, _, count)) => *count += 1,
            None => self.skipped.push((reason, at(), 1)),
        }
    }

    fn finish(self, origin: &str) -> (Vec<Service>, Vec<Skipped>) {
        let skipped = self
            .skipped
            .into_iter()
            .map(|(reason, at, count)| Skipped {
                file: origin.to_string(),
                reason: format!("{reason} (first at {at})"),
                count,
            })
            .collect();
        (self.services, skipped)
    }
}

/// Fills what `first` lacks from `later`.
fn merge(first: &mut Service, later: Service) {
    first.display_name = first.display_name.take().or(later.display_name);
    first.state = first.state.or(later.state);
    first.start_type = first.start_type.or(later.start_type);
    first.account = first.account.take().or(later.account);
    first.image_path = first.image_path.take().or(later.image_path);
    first.depends_on = first.depends_on.take().or(later.depends_on);
}

/// A state or start type as a tool wrote it: a number or a name.
pub(super) enum Written<'a> {
    Number(i64),
    Name(&'a str),
}

/// A state: `Ok(None)` when the tool says it does not know, `Err` when no tool writes it.
pub(super) fn service_state(written: Written<'_>) -> Result<Option<ServiceState>, ()> {
    use ServiceState::*;
    let state = match written {
        Written::Number(n) => [
            Stopped,
            StartPending,
            StopPending,
            Running,
            ContinuePending,
            PausePending,
            Paused,
        ]
        .get(usize::try_from(n.checked_sub(1).ok_or(())?).map_err(drop)?)
        .copied()
        .ok_or(())?,
        Written::Name(name) => match fold(name).as_str() {
            "stopped" => Stopped,
            "startpending" => StartPending,
            "stoppending" => StopPending,
            "running" => Running,
            "continuepending" => ContinuePending,
            "pausepending" => PausePending,
            "paused" => Paused,
            "unknown" => return Ok(None),
            _ => return Err(()),
        },
    };
    Ok(Some(state))
}

/// A start type: `Ok(None)` when the tool says it does not know, `Err` when no tool writes it.
pub(super) fn start_type(written: Written<'_>) -> Result<Option<StartType>, ()> {
    use StartType::*;
    let start = match written {
        Written::Number(0) => Boot,
        Written::Number(1) => System,
        // 10 is PowerShell 7's `AutomaticDelayedStart` in `StartupType`.
        Written::Number(2 | 10) => Automatic,
        Written::Number(3) => Manual,
        Written::Number(4) => Disabled,
        Written::Number(_) => return Err(()),
        Written::Name(name) => match fold(name).as_str() {
            "boot" | "bootstart" => Boot,
            "system" | "systemstart" => System,
            "automatic" | "auto" | "autostart" | "automaticdelayedstart" => Automatic,
            "manual" | "demand" | "demandstart" => Manual,
            "disabled" => Disabled,
            "unknown" | "invalidvalue" => return Ok(None),
            _ => return Err(()),
        },
    };
    Ok(Some(start))
}

/// A name folded for matching: lowercase, without spaces, `_` or `-`.
fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}
