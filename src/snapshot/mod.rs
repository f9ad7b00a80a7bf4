//! A snapshot of a system's state: what the evaluator asks its questions of.
//!
//! One model, many ways in: the JSON snapshot ([`Snapshot::from_json`]) is the native format.
//! Loading normalizes what Windows compares without case (logs, sources, keys, value names,
//! services, files) and indexes what the evaluator looks up, so that evaluating many rules
//! reads each part once.
//!
//! A snapshot also says what was *collected* ([`Collected`]): an item missing from a collected
//! part is absent, one from a part that was not collected is unknown.

mod bundle;
mod event_xml;
pub mod evtx;
mod json;
mod load;
pub mod reg;
mod rendered;
pub mod services;
mod summary;
mod text;
pub mod time;
mod write;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{Level, RegKey, ServiceState, StartType, Version};

pub use json::SUPPORTED_VERSIONS;
pub(crate) use json::{parse_hex as parse_hex_text, parse_version as parse_version_text};
pub use load::Progress;
pub use summary::{HiveSummary, LogSummary, SourceCount, Summary};

/// The largest snapshot file read, in bytes.
pub const MAX_SNAPSHOT_SIZE: u64 = 2 << 30;

/// A system's state, loaded and indexed.
///
/// Loaded from a JSON snapshot ([`Snapshot::from_json`]), a registry export
/// ([`Snapshot::from_reg`]), an event log file ([`Snapshot::from_evtx`]) or a service list
/// ([`Snapshot::from_service_list`]); [`Snapshot::load`] recognises which by content.
///
/// ```
/// let snapshot = kbrules::Snapshot::from_json(r#"{
///     "kbrules_snapshot": 1,
///     "services": [ { "name": "MSExchangeIMC", "state": "stopped" } ]
/// }"#, "example.json").expect("a valid snapshot");
/// assert_eq!(snapshot.services().len(), 1);
/// assert!(snapshot.collected().services);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub(crate) origin: String,
    pub(crate) hash: u64,
    pub(crate) host: Host,
    pub(crate) os: Option<Installed>,
    pub(crate) products: Vec<Installed>,
    pub(crate) hotfixes: Vec<String>,
    pub(crate) components: Vec<String>,
    pub(crate) services: Vec<Service>,
    pub(crate) registry: Registry,
    pub(crate) events: Vec<Event>,
    pub(crate) logs: Names,
    pub(crate) sources: Names,
    pub(crate) files: Vec<FileEntry>,
    pub(crate) facts: BTreeMap<String, FactValue>,
    /// Environment variables by name as given, for `%NAME%` in file paths.
    pub(crate) environment: BTreeMap<String, String>,
    pub(crate) collected: Collected,
    pub(crate) skipped: Vec<Skipped>,
    service_index: HashMap<String, usize>,
    file_index: HashMap<String, usize>,
}

impl Snapshot {
    /// Reads a snapshot file, or a directory of inputs (a *bundle*: every file in it, merged;
    /// what it holds defines what was collected). Errors (I/O, JSON, a field that is not what the
    /// format says) are diagnostics naming the file, the JSON path and the line and column.
    pub fn load(path: impl AsRef<Path>) -> Result<Snapshot, Diagnostic> {
        let path = path.as_ref();
        Snapshot::load_each(&[path], None)
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(Diagnostic::global(Code::Internal, "nothing was read")))
    }

    /// Reads any input kbrules recognises, by its content rather than its name: a JSON
    /// snapshot, a registry export (`.reg`), an event log file (`.evtx`), a rendered event export
    /// (`wevtutil qe /f:RenderedXml`, `Get-WinEvent | ConvertTo-Json`) or a service list. Text
    /// may be UTF-8 or UTF-16LE, as Windows tools write it. Anything else is E0408, which lists
    /// what is read.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Snapshot, Diagnostic> {
        Snapshot::from_bytes_with(bytes, origin, &|_| {})
    }

    /// [`Snapshot::from_bytes`], telling `progress` how many bytes were read as it goes (an
    /// event log file, chunk by chunk; other inputs, not until they are read).
    pub(crate) fn from_bytes_with(
        bytes: &[u8],
        origin: &str,
        progress: &dyn Fn(u64),
    ) -> Result<Snapshot, Diagnostic> {
        if reg::is_reg(bytes) {
            return Snapshot::from_reg(bytes, origin);
        }
        if evtx::is_evtx(bytes) {
            return Snapshot::from_events(bytes, origin, |logs, sources| {
                evtx::read(bytes, origin, logs, sources, evtx::cores(), progress)
            });
        }
        let text = text::decode(bytes);
        match text.trim_start().chars().next() {
            Some('<') if rendered::is_xml(&text) => {
                Snapshot::from_events(bytes, origin, |logs, sources| {
                    Ok(rendered::read_xml(&text, origin, logs, sources))
                })
            }
            // A kbrules snapshot says so; other JSON is parsed once to see what it is.
            Some('{' | '[') if !text.contains("\"kbrules_snapshot\"") => {
                match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(value) if rendered::is_json(&value) => {
                        Snapshot::from_events(bytes, origin, |logs, sources| {
                            Ok(rendered::read_json(value, origin, logs, sources))
                        })
                    }
                    Ok(value) => match services::read_json_value(value, origin) {
                        Ok((services, skipped)) => {
                            Ok(Snapshot::from_services(bytes, origin, services, skipped))
                        }
                        Err(_) => Snapshot::from_json_bytes(text.as_bytes(), origin),
                    },
                    Err(_) => Snapshot::from_json_bytes(text.as_bytes(), origin),
                }
            }
            Some('{' | '[') => Snapshot::from_json_bytes(text.as_bytes(), origin),
            _ if services::detect(bytes).is_some() => Snapshot::from_service_list(bytes, origin),
            _ => Err(Diagnostic::global(
                Code::UnrecognizedInput,
                if text.trim().is_empty() {
                    format!("`{origin}` is empty")
                } else {
                    format!("`{origin}` is not an input kbrules reads")
                },
            )
            .with_file(origin)
            .with_help(
                "kbrules reads JSON snapshots (`\"kbrules_snapshot\": 1`), registry exports \
                 (`reg export`, `Windows Registry Editor Version 5.00` or `REGEDIT4`), event \
                 log files (`.evtx`, `wevtutil epl`), rendered event exports (`wevtutil qe \
                 /f:RenderedXml`, `Get-WinEvent | ConvertTo-Json`) and service lists \
                 (`Get-Service | ConvertTo-Json` or `Export-Csv`, `sc queryex`, `sc qc`)",
            )),
        }
    }

    /// Reads a rendered event export: `wevtutil qe LOG /f:RenderedXml` (a sequence of `<Event>`
    /// elements, with or without a root element) or `Get-WinEvent … | ConvertTo-Json` (an array
    /// of events or one). Unlike an .evtx, these carry the message text; the logs they hold
    /// count as collected. Events that cannot be read are skipped and counted. Bytes that are
    /// neither are E0408.
    pub fn from_event_export(bytes: &[u8], origin: &str) -> Result<Snapshot, Diagnostic> {
        let text = text::decode(bytes);
        if rendered::is_xml(&text) {
            return Snapshot::from_events(bytes, origin, |logs, sources| {
                Ok(rendered::read_xml(&text, origin, logs, sources))
            });
        }
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(value) if rendered::is_json(&value) => {
                Snapshot::from_events(bytes, origin, |logs, sources| {
                    Ok(rendered::read_json(value, origin, logs, sources))
                })
            }
            _ => Err(Diagnostic::global(
                Code::UnrecognizedInput,
                format!("`{origin}` is not a rendered event export"),
            )
            .with_file(origin)
            .with_help(
                "a rendered event export is what `wevtutil qe LOG /f:RenderedXml` or \
                 `Get-WinEvent -LogName LOG | ConvertTo-Json` writes",
            )),
        }
    }

    /// A snapshot of the events `read` gives, with the logs they are in counted as collected.
    fn from_events(
        bytes: &[u8],
        origin: &str,
        read: impl FnOnce(&mut Names, &mut Names) -> Result<(Vec<Event>, Vec<Skipped>), Diagnostic>,
    ) -> Result<Snapshot, Diagnostic> {
        let mut logs = Names::default();
        let mut sources = Names::default();
        let (events, skipped) = read(&mut logs, &mut sources)?;
        let read: Vec<String> = logs
            .names
            .iter()
            .filter(|l| !l.is_empty())
            .cloned()
            .collect();
        let mut snapshot = Snapshot {
            origin: origin.to_string(),
            hash: fingerprint(bytes),
            events,
            logs,
            sources,
            collected: Collected {
                events: Coverage::Only(read),
                ..Collected::default()
            },
            skipped,
            ..Snapshot::default()
        };
        snapshot.index();
        Ok(snapshot)
    }

    /// Reads an event log file (`.evtx`): its events, with the logs they are in counted as
    /// collected. An .evtx holds no rendered message text, so a condition on a message is not
    /// evaluable on it. Damaged chunks and records are skipped and counted in
    /// [`Snapshot::skipped`].
    pub fn from_evtx(bytes: &[u8], origin: &str) -> Result<Snapshot, Diagnostic> {
        Snapshot::from_evtx_on(bytes, origin, evtx::cores())
    }

    /// [`Snapshot::from_evtx`] on at most `threads` threads: with 1, the log is read on the
    /// calling thread alone; with more, its chunks are rendered and scanned on worker threads
    /// of a pool shared by the process (rayon's), and the events are in file order either way.
    /// [`Snapshot::from_evtx`] and [`Snapshot::load`] use one thread per core.
    pub fn from_evtx_on(
        bytes: &[u8],
        origin: &str,
        threads: usize,
    ) -> Result<Snapshot, Diagnostic> {
        Snapshot::from_events(bytes, origin, |logs, sources| {
            evtx::read(bytes, origin, logs, sources, threads, &|_| {})
        })
    }

    /// Reads a service list (`Get-Service | ConvertTo-Json` or `| Export-Csv`,
    /// `Get-CimInstance Win32_Service | ConvertTo-Json`, `sc queryex` with `sc qc`): the services,
    /// counted as the whole list; what the list does not say of a service (a start type, an
    /// account) is unknown.
    pub fn from_service_list(bytes: &[u8], origin: &str) -> Result<Snapshot, Diagnostic> {
        let (services, skipped) = services::read(bytes, origin)?;
        Ok(Snapshot::from_services(bytes, origin, services, skipped))
    }

    /// A snapshot of a service list, counted as the whole list.
    fn from_services(
        bytes: &[u8],
        origin: &str,
        services: Vec<Service>,
        skipped: Vec<Skipped>,
    ) -> Snapshot {
        let mut snapshot = Snapshot {
            origin: origin.to_string(),
            hash: fingerprint(bytes),
            services,
            collected: Collected {
                services: true,
                ..Collected::default()
            },
            skipped,
            ..Snapshot::default()
        };
        snapshot.index();
        snapshot
    }

    /// Reads a registry export (`.reg`): its keys and values, and every key it holds, with
    /// everything below it, counted as collected; nothing else is.
    pub fn from_reg(bytes: &[u8], origin: &str) -> Result<Snapshot, Diagnostic> {
        let export = reg::parse(bytes, origin)?;
        let roots = export
            .keys
            .iter()
            .map(|k| k.key.to_string())
            .chain(export.deleted_keys.iter().map(ToString::to_string))
            .collect();
        let mut snapshot = Snapshot {
            origin: origin.to_string(),
            hash: fingerprint(bytes),
            registry: Registry {
                keys: export.keys,
                ..Registry::default()
            },
            collected: Collected {
                registry: Coverage::Only(roots),
                ..Collected::default()
            },
            skipped: export.skipped,
            ..Snapshot::default()
        };
        snapshot.index();
        Ok(snapshot)
    }

    /// Reads a JSON snapshot from text; `origin` names it in errors and in the report.
    pub fn from_json(text: &str, origin: &str) -> Result<Snapshot, Diagnostic> {
        Snapshot::from_json_bytes(text.as_bytes(), origin)
    }

    /// Reads a JSON snapshot from bytes (UTF-8, with or without a byte-order mark).
    pub fn from_json_bytes(bytes: &[u8], origin: &str) -> Result<Snapshot, Diagnostic> {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let mut snapshot = json::parse(bytes, origin)?;
        snapshot.origin = origin.to_string();
        snapshot.hash = fingerprint(bytes);
        snapshot.index();
        Ok(snapshot)
    }

    /// Builds the lookup tables after loading.
    fn index(&mut self) {
        // A name listed twice is found as first listed.
        self.service_index.clear();
        for (i, s) in self.services.iter().enumerate() {
            self.service_index.entry(s.name.to_lowercase()).or_insert(i);
        }
        self.file_index.clear();
        for (i, f) in self.files.iter().enumerate() {
            self.file_index.entry(fold_path(&f.path)).or_insert(i);
        }
        // A file listed with `%NAME%` in its path is found by its expanded path too.
        for (i, f) in self.files.iter().enumerate() {
            if let Expanded::Path(p) = self.expand(&f.path) {
                self.file_index.entry(fold_path(&p)).or_insert(i);
            }
        }
        self.registry.index();
    }

    /// A path with its `%NAME%` environment variables replaced by their values (names compared
    /// without case, as Windows compares them).
    pub fn expand(&self, path: &str) -> Expanded {
        let mut out = String::with_capacity(path.len());
        let mut rest = path;
        while let Some((before, after)) = rest.split_once('%') {
            let Some((name, r)) = after.split_once('%') else {
                break;
            };
            out.push_str(before);
            if name.is_empty() || name.contains(['\\', '/']) {
                // `%%`, or a `%` in a name: not a variable.
                out.push('%');
                rest = after;
                continue;
            }
            match self.environment.iter().find(|(k, _)| eq_fold(k, name)) {
                Some((_, value)) => out.push_str(value),
                None if self.collected.environment => {
                    return Expanded::NoSuchVariable(name.to_string());
                }
                None => return Expanded::Unknown(name.to_string()),
            }
            rest = r;
        }
        out.push_str(rest);
        Expanded::Path(out)
    }

    /// Whether the files collected cover a path: a root (itself with its variables expanded)
    /// that is the path or holds it.
    pub(crate) fn files_cover(&self, path: &str) -> bool {
        match &self.collected.files {
            Coverage::Only(roots) => roots.iter().any(|root| {
                let root = match self.expand(root) {
                    Expanded::Path(p) => p,
                    _ => root.clone(),
                };
                Coverage::Only(vec![root]).covers_path(path)
            }),
            other => other.covers_path(path),
        }
    }

    /// The environment variables recorded, by name.
    pub fn environment(&self) -> &BTreeMap<String, String> {
        &self.environment
    }

    /// Where the snapshot came from, as given when it was loaded.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// A fingerprint of the input (64-bit, FNV-1a over 8-byte words; not a cryptographic hash).
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// The host's name and domain.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The operating system, when known.
    pub fn os(&self) -> Option<&Installed> {
        self.os.as_ref()
    }

    /// The installed products.
    pub fn products(&self) -> &[Installed] {
        &self.products
    }

    /// The installed hotfixes, as `KB…` ids.
    pub fn hotfixes(&self) -> &[String] {
        &self.hotfixes
    }

    /// The installed components.
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// The services.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// A service by name, ignoring case.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.service_index
            .get(&name.to_lowercase())
            .and_then(|&i| self.services.get(i))
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The event records, in the order given.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// An event's log, as first written.
    pub fn log_name(&self, event: &Event) -> &str {
        self.logs.get(event.log)
    }

    /// An event's source, as first written.
    pub fn source_name(&self, event: &Event) -> &str {
        self.sources.get(event.source)
    }

    /// The files.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// A file by path, ignoring case.
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.file_index(path).and_then(|i| self.files.get(i))
    }

    /// The position of a file in [`Snapshot::files`], by path, ignoring case.
    pub fn file_index(&self, path: &str) -> Option<usize> {
        self.file_index.get(&fold_path(path)).copied()
    }

    /// The facts, by name.
    pub fn facts(&self) -> &BTreeMap<String, FactValue> {
        &self.facts
    }

    /// A fact by name, ignoring case.
    pub fn fact(&self, name: &str) -> Option<&FactValue> {
        self.facts.get(name).or_else(|| {
            self.facts
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    /// What was collected.
    pub fn collected(&self) -> &Collected {
        &self.collected
    }

    /// What loading skipped, and why.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }
}

/// The host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Host {
    /// The computer name.
    pub name: Option<String>,
    /// Its domain.
    pub domain: Option<String>,
}

/// An installed product or operating system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The name, as the collector reported it.
    pub name: String,
    /// The version, when known.
    pub version: Option<Version>,
    /// The service-pack level; 0 when none is installed.
    pub service_pack: u64,
}

/// As the report shows it: `Microsoft Exchange Server 5.5.2653 SP3`.
impl std::fmt::Display for Installed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if let Some(v) = &self.version {
            write!(f, " {v}")?;
        }
        if self.service_pack > 0 {
            write!(f, " SP{}", self.service_pack)?;
        }
        Ok(())
    }
}

/// A service, as the service control manager lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Service {
    /// The service (key) name.
    pub name: String,
    /// The display name.
    pub display_name: Option<String>,
    /// Its state, when listed.
    pub state: Option<ServiceState>,
    /// Its start type, when listed.
    pub start_type: Option<StartType>,
    /// The account it logs on as.
    pub account: Option<String>,
    /// Its program, with arguments.
    pub image_path: Option<String>,
    /// The services it depends on; `None` when not listed.
    pub depends_on: Option<Vec<String>>,
}

/// A registry value's data, typed as Windows types it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegData {
    /// REG_SZ
    Sz(String),
    /// REG_EXPAND_SZ, unexpanded.
    ExpandSz(String),
    /// REG_MULTI_SZ
    MultiSz(Vec<String>),
    /// REG_DWORD
    Dword(u32),
    /// REG_QWORD
    Qword(u64),
    /// REG_BINARY
    Binary(Vec<u8>),
    /// Any other type (REG_NONE, REG_RESOURCE_LIST, …) by its number, with its raw bytes.
    Other(u32, Vec<u8>),
}

impl RegData {
    /// The type's name, `REG_SZ`.
    pub fn type_name(&self) -> String {
        match self {
            RegData::Sz(_) => "REG_SZ".into(),
            RegData::ExpandSz(_) => "REG_EXPAND_SZ".into(),
            RegData::MultiSz(_) => "REG_MULTI_SZ".into(),
            RegData::Dword(_) => "REG_DWORD".into(),
            RegData::Qword(_) => "REG_QWORD".into(),
            RegData::Binary(_) => "REG_BINARY".into(),
            RegData::Other(n, _) => match OTHER_REG_TYPES.iter().find(|(_, t)| t == n) {
                Some((name, _)) => (*name).into(),
                None => format!("REG_{n}"),
            },
        }
    }

    /// The data as text, the way the report shows it: strings as they are, a multi-string's
    /// strings separated by `, `, numbers in decimal, bytes as lowercase hex pairs.
    pub fn display(&self) -> String {
        match self {
            RegData::Sz(s) | RegData::ExpandSz(s) => s.clone(),
            RegData::MultiSz(items) => items.join(", "),
            RegData::Dword(n) => n.to_string(),
            RegData::Qword(n) => n.to_string(),
            RegData::Binary(bytes) | RegData::Other(_, bytes) => hex(bytes),
        }
    }
}

/// The registry value types kept as raw bytes, by name and number.
const OTHER_REG_TYPES: &[(&str, u32)] = &[
    ("REG_NONE", 0),
    ("REG_DWORD_BIG_ENDIAN", 5),
    ("REG_LINK", 6),
    ("REG_RESOURCE_LIST", 8),
    ("REG_FULL_RESOURCE_DESCRIPTOR", 9),
    ("REG_RESOURCE_REQUIREMENTS_LIST", 10),
];

/// The number of a type kept as raw bytes, from its name (in capitals) or `REG_` and its
/// number.
pub(crate) fn reg_type_number(upper: &str) -> Option<u32> {
    OTHER_REG_TYPES
        .iter()
        .find(|(name, _)| *name == upper)
        .map(|(_, n)| *n)
        .or_else(|| {
            let digits = upper.strip_prefix("REG_")?;
            let n: u32 = digits.parse().ok()?;
            // The types with a form of their own are written by name.
            (digits.bytes().all(|b| b.is_ascii_digit()) && !matches!(n, 1 | 2 | 3 | 4 | 7 | 11))
                .then_some(n)
        })
}

/// Bytes as space-separated lowercase hex pairs.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A registry value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegValue {
    /// The name; empty for the key's default value.
    pub name: String,
    /// The data.
    pub data: RegData,
}

/// A registry key with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegKeyEntry {
    /// The key.
    pub key: RegKey,
    /// Its values.
    pub values: Vec<RegValue>,
}

impl RegKeyEntry {
    /// A value by name, ignoring case; `""` or `"(Default)"` is the default value.
    pub fn value(&self, name: &str) -> Option<&RegValue> {
        let name = if name.eq_ignore_ascii_case("(default)") {
            ""
        } else {
            name
        };
        self.values.iter().find(|v| eq_fold(&v.name, name))
    }
}

/// The registry keys a snapshot holds.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub(crate) keys: Vec<RegKeyEntry>,
    by_path: HashMap<String, usize>,
    /// Every key that exists because a key below it was listed, by folded path: its position in
    /// `implied`.
    ancestors: HashMap<String, usize>,
    /// Those keys, spelt as the first key listed below each spells them. A key may be both
    /// listed and implied.
    implied: Vec<RegKey>,
}

impl Registry {
    fn index(&mut self) {
        self.by_path.clear();
        self.ancestors.clear();
        self.implied.clear();
        for (i, entry) in self.keys.iter().enumerate() {
            let hive = entry.key.hive;
            let mut path = entry.key.path.as_str();
            while !path.is_empty() {
                let parent = path.rsplit_once('\\').map_or("", |(parent, _)| parent);
                let key = RegKey {
                    hive,
                    path: parent.to_string(),
                };
                let folded = key.folded();
                if self.ancestors.contains_key(&folded) {
                    // Its own ancestors were recorded with it.
                    break;
                }
                self.ancestors.insert(folded, self.implied.len());
                self.implied.push(key);
                path = parent;
            }
            self.by_path.insert(entry.key.folded(), i);
        }
    }

    /// The keys, in the order given.
    pub fn keys(&self) -> &[RegKeyEntry] {
        &self.keys
    }

    /// A key by path, ignoring case; `HKLM` and `HKEY_LOCAL_MACHINE` are one hive.
    pub fn key(&self, key: &RegKey) -> Option<&RegKeyEntry> {
        self.by_path
            .get(&key.folded())
            .and_then(|&i| self.keys.get(i))
    }

    /// The position of a key in [`Registry::keys`], ignoring case.
    pub fn key_index(&self, key: &RegKey) -> Option<usize> {
        self.by_path.get(&key.folded()).copied()
    }

    /// Whether the key is listed, or a key below it is.
    pub fn key_exists(&self, key: &RegKey) -> bool {
        let folded = key.folded();
        self.by_path.contains_key(&folded) || self.ancestors.contains_key(&folded)
    }

    /// Where a key that exists is: listed, or implied by a key below it.
    pub(crate) fn find(&self, key: &RegKey) -> Option<KeyAt> {
        let folded = key.folded();
        match self.by_path.get(&folded) {
            Some(&i) => Some(KeyAt::Listed(i)),
            None => self.ancestors.get(&folded).map(|&i| KeyAt::Implied(i)),
        }
    }

    /// The keys a pattern (a key with placeholders, see [`RegKey::is_pattern`]) matches: the
    /// positions of those listed, in the order given, then of those that exist only because a key
    /// below them is listed.
    pub(crate) fn matching(&self, pattern: &RegKey) -> Vec<KeyAt> {
        let pattern = pattern.folded();
        let mut listed: Vec<usize> = self
            .by_path
            .iter()
            .filter(|(path, _)| crate::ir::path_matches(&pattern, path))
            .map(|(_, &i)| i)
            .collect();
        listed.sort_unstable();
        let mut implied: Vec<usize> = self
            .ancestors
            .iter()
            .filter(|(path, _)| !self.by_path.contains_key(*path))
            .filter(|(path, _)| crate::ir::path_matches(&pattern, path))
            .map(|(_, &i)| i)
            .collect();
        implied.sort_unstable();
        listed
            .into_iter()
            .map(KeyAt::Listed)
            .chain(implied.into_iter().map(KeyAt::Implied))
            .collect()
    }

    /// The path of a key that exists.
    pub(crate) fn key_at(&self, at: KeyAt) -> Option<&RegKey> {
        match at {
            KeyAt::Listed(i) => self.keys.get(i).map(|entry| &entry.key),
            KeyAt::Implied(i) => self.implied.get(i),
        }
    }
}

/// Where a registry key that exists is in a [`Registry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyAt {
    /// Listed, with its values: its position in the keys.
    Listed(usize),
    /// Implied by a key listed below it, its values unknown: its position among such keys.
    Implied(usize),
}

/// Interned names of event logs and sources, compared without case.
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    names: Vec<String>,
    ids: HashMap<String, u32>,
    /// Spellings seen, as written: most events spell their log and source alike, so most
    /// lookups need no folding.
    spelled: HashMap<String, u32>,
}

impl Names {
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.spelled.get(name) {
            return id;
        }
        let folded = name.to_lowercase();
        let id = match self.ids.get(&folded) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
                self.names.push(name.to_string());
                self.ids.insert(folded, id);
                id
            }
        };
        self.spelled.insert(name.to_string(), id);
        id
    }

    /// The id of a name, if any event carries it.
    pub(crate) fn lookup(&self, name: &str) -> Option<u32> {
        self.ids.get(&name.to_lowercase()).copied()
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn get(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
}

/// An event record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub(crate) log: u32,
    pub(crate) source: u32,
    /// The event id as Windows shows it: the low 16 bits, qualifiers masked off.
    pub id: u16,
    /// The level, when known.
    pub level: Option<Level>,
    /// When it was logged, in milliseconds since 1970-01-01 UTC.
    pub time: Option<i64>,
    /// The record number in its log.
    pub record_id: Option<u64>,
    /// The computer that logged it.
    pub computer: Option<String>,
    /// The rendered message; `None` when the export carries none (a bare .evtx).
    pub message: Option<String>,
    /// The insertion strings, in order, with their names when the event names them.
    pub data: Vec<DataField>,
    /// How much of the data fields the export carried: a field it did not carry is unknown,
    /// not missing.
    pub data_known: DataKnown,
    /// The binary data.
    pub binary: Option<Vec<u8>>,
}

impl Event {
    /// An insertion string by position, from 1.
    pub fn data_at(&self, position: u32) -> Option<&str> {
        let index = usize::try_from(position).ok()?.checked_sub(1)?;
        self.data.get(index).map(|f| f.value.as_str())
    }

    /// A data field by name, ignoring case.
    pub fn data_named(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|f| f.name.as_deref().is_some_and(|n| eq_fold(n, name)))
            .map(|f| f.value.as_str())
    }
}

/// How much of an event's data fields an export carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DataKnown {
    /// All of them, by position and by name where the event names them (an .evtx, a rendered
    /// XML export, a JSON snapshot).
    #[default]
    All,
    /// Their positions and text but not their names (`Get-WinEvent | ConvertTo-Json`).
    Positions,
    /// None: the export left them out (`Select-Object` without `Properties`).
    Nothing,
}

impl DataKnown {
    /// Whether a field missing by position is known to be missing.
    pub fn positions(self) -> bool {
        self != DataKnown::Nothing
    }

    /// Whether a field missing by name is known to be missing.
    pub fn names(self) -> bool {
        self == DataKnown::All
    }
}

/// A path with its environment variables expanded ([`Snapshot::expand`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expanded {
    /// The path, every variable replaced.
    Path(String),
    /// A variable the snapshot does not give, because it recorded no environment.
    Unknown(String),
    /// A variable the recorded environment does not have.
    NoSuchVariable(String),
}

/// An event data field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataField {
    /// Its name, when the event names its fields.
    pub name: Option<String>,
    /// Its text.
    pub value: String,
}

/// A file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// The full path.
    pub path: String,
    /// Its version resource, when it has one.
    pub version: Option<Version>,
}

/// A fact's value as the snapshot gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum FactValue {
    /// Text (also how versions are written).
    Text(String),
    /// A whole number.
    Number(u64),
    /// A boolean.
    Bool(bool),
}

/// What a snapshot collected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collected {
    /// The event logs read.
    pub events: Coverage,
    /// The registry subtrees read.
    pub registry: Coverage,
    /// Whether services were listed.
    pub services: bool,
    /// Whether installed products were listed.
    pub products: bool,
    /// Whether the operating system was recorded.
    pub os: bool,
    /// Whether hotfixes were listed.
    pub hotfixes: bool,
    /// Whether components were listed.
    pub components: bool,
    /// The files or directories looked at.
    pub files: Coverage,
    /// The facts gathered.
    pub facts: Coverage,
    /// Whether the environment variables were recorded (`%SystemRoot%` in file paths).
    pub environment: bool,
}

/// Which parts of a kind of data were collected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Coverage {
    /// None of it.
    #[default]
    Nothing,
    /// All of it.
    Everything,
    /// These parts (event logs, registry keys with their subtrees, directories with what they
    /// hold, fact names), compared without case.
    Only(Vec<String>),
}

impl Coverage {
    /// Whether a name (a log, a fact) was collected.
    pub fn covers_name(&self, name: &str) -> bool {
        match self {
            Coverage::Nothing => false,
            Coverage::Everything => true,
            Coverage::Only(names) => names.iter().any(|n| eq_fold(n, name)),
        }
    }

    /// Whether a path (a registry key, a file) was collected: it is one of the parts, or below
    /// one (parts separated by backslashes).
    pub fn covers_path(&self, path: &str) -> bool {
        match self {
            Coverage::Nothing => false,
            Coverage::Everything => true,
            Coverage::Only(roots) => {
                let path = fold_path(path);
                roots.iter().any(|root| {
                    let root = fold_path(root);
                    path == root
                        || (path.starts_with(&root)
                            && path.as_bytes().get(root.len()) == Some(&b'\\'))
                })
            }
        }
    }

    /// Whether anything was collected.
    pub fn any(&self) -> bool {
        match self {
            Coverage::Nothing => false,
            Coverage::Everything => true,
            Coverage::Only(parts) => !parts.is_empty(),
        }
    }
}

/// Something loading skipped, counted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// The file it was in.
    pub file: String,
    /// Why.
    pub reason: String,
    /// How many.
    pub count: u64,
}

/// Compares text the way Windows compares names: ignoring case.
pub(crate) fn eq_fold(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.eq_ignore_ascii_case(b)
        || a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
}

/// A path folded for comparison: lowercase, `/` read as `\`, no trailing separator.
pub(crate) fn fold_path(path: &str) -> String {
    let lower = path.trim().replace('/', "\\").to_lowercase();
    let trimmed = lower.trim_end_matches('\\');
    match RegKey::parse(trimmed) {
        // A registry path: its hive in one spelling.
        Some(key) => key.folded(),
        None => trimmed.to_string(),
    }
}

/// A 64-bit fingerprint of bytes: FNV-1a over 8-byte little-endian words (and the last bytes
/// one by one), so that a 20 MB event log costs a few milliseconds. Not cryptographic.
pub(crate) fn fingerprint(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    let hash = words.fold(0xcbf2_9ce4_8422_2325, |hash, word| {
        let mut w = [0; 8];
        w.copy_from_slice(word);
        (hash ^ u64::from_le_bytes(w)).wrapping_mul(PRIME)
    });
    let hash = tail
        .iter()
        .fold(hash, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(PRIME));
    // The length, so that trailing zero bytes change the fingerprint.
    (hash ^ bytes.len() as u64).wrapping_mul(PRIME)
}
