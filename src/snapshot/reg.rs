//! Windows registry exports (`.reg` files): reading one into registry keys and values.
//!
//! Owns the text format regedit writes: the `REGEDIT4` and `Windows Registry Editor Version 5.00`
//! headers, `[KEY]` and `[-KEY]` lines, value lines (`"name"=…` or `@=…` for the default value)
//! of every type, `;` comments and `\` line continuations. It returns keys and values; it must
//! not decide what a snapshot collected (that is the loader's), nor touch the other readers.
//!
//! Decisions, each also tested below:
//!
//! - **Encoding.** A file starting with the UTF-16LE byte-order mark (or, without one, with the
//!   header in UTF-16LE) is UTF-16LE; anything else is 8-bit, with or without a UTF-8 mark.
//!   Each line of an 8-bit file is read as UTF-8 when it is valid UTF-8, and otherwise byte by
//!   byte as Windows-1252, the ANSI code page of Western European Windows, which is what
//!   REGEDIT4 files hold: such a file always loads, and a file in another code page (932, 1251)
//!   loads with wrong letters in names and strings but its structure intact. Per line, so that a
//!   file pasted together from both encodings reads as well as it can.
//! - **Strings in hex.** `hex(1)`, `hex(2)` and `hex(7)` data is UTF-16LE in a version 5 file and
//!   8-bit (read as above) in a REGEDIT4 file, whatever the file's own encoding. A string ends at
//!   its first NUL; a multi-string's empty strings are dropped, as regedit's editor drops them.
//!   `hex(4)` of 4 bytes is a dword and `hex(b)` of 8 bytes a qword; of any other length, and for
//!   every other type number, the value keeps its type number and raw bytes.
//! - **Continuations.** Only hex data continues: a `\` at the end of its line (before any
//!   comment) joins the next line, whose leading blanks are dropped. Regedit wraps nothing else,
//!   so a `\` after a dword is a malformed value.
//! - **Order.** The file is applied as an import would apply it: a key listed twice is merged
//!   (names compared without case, the first spelling kept); `[-KEY]` removes the key and the
//!   keys below it that were listed before it, and `"name"=-` removes a value listed before it.
//! - **What is fatal.** A file without a header is not a registry export (E0407); Wine's own
//!   registry files (`WINE REGISTRY Version 2`, keys relative to a hive that only a comment
//!   names) are refused with the same code and a way out. A key line that cannot be read — no
//!   `]`, no name, a hive that does not exist — is E0406: every value after it would belong to
//!   an unknown key. A value line that cannot be read is skipped and counted, with the line of
//!   the first one; so are values that belong to no key, and keys in the hives a snapshot has no
//!   place for (`HKEY_DYN_DATA`, `HKEY_PERFORMANCE_DATA`).
//! - **Positions.** Lines count from 1 and columns from 1, in characters, not bytes.
//! - **Key names.** A key name runs to the last `]` on its line (names may hold `]`); what
//!   follows it is ignored. Doubled backslashes are read as one (as [`RegKey::parse`] does).
//! - **Escapes.** In quoted names and strings, `\\` is a backslash and `\"` a quote; regedit
//!   writes no other escape, and a backslash before anything else is kept as written.

use std::collections::HashMap;

use super::text::eight_bit;
use super::{RegData, RegKeyEntry, RegValue, Skipped, eq_fold};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::RegKey;

const REGEDIT4: &str = "REGEDIT4";
const REGEDIT5: &str = "Windows Registry Editor Version 5.00";
const WINE: &str = "WINE REGISTRY Version 2";

/// Hives that exist on some Windows but that a snapshot has no place for.
const HIVES_NOT_HELD: &[&str] = &[
    "hkey_dyn_data",
    "hkey_performance_data",
    "hkey_performance_text",
    "hkey_performance_nlstext",
];

const HIVE_HELP: &str = "a key line names a hive first: HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER, \
                         HKEY_USERS, HKEY_CLASSES_ROOT or HKEY_CURRENT_CONFIG";

// Why a line was skipped; each is counted once per file, with the line of its first occurrence.
const BAD_VALUE: &str = "value line that cannot be read";
const CUT_OFF: &str = "hex value cut off (its last line ends with `\\` but no data follows)";
const NOT_A_LINE: &str = "line that is neither a key, a value nor a comment";
const NO_KEY: &str = "value before any key";
const DELETED_KEY: &str = "value under a deleted key (`[-…]`), which belongs to no key";
const HIVE_NOT_HELD: &str = "key or value in a hive a snapshot does not hold (`HKEY_DYN_DATA`, \
                             `HKEY_PERFORMANCE_DATA`)";
const ODD_BYTE: &str = "odd byte at the end of a UTF-16 file (a cut-off character)";

/// What one .reg export holds.
pub(crate) struct RegExport {
    /// The keys with their values, in file order; a key listed twice is merged.
    pub(crate) keys: Vec<RegKeyEntry>,
    /// The keys that `[-KEY]` lines delete, in file order, each once.
    pub(crate) deleted_keys: Vec<RegKey>,
    /// Lines that could not be read, counted by reason (never silently dropped).
    pub(crate) skipped: Vec<Skipped>,
}

/// Reads a `.reg` export into its keys (with their values, in file order), the keys its
/// `[-KEY]` lines delete, and what it skipped, counted by reason.
///
/// This is the reader `kbrules` uses for `.reg` input, exposed for tests and tools; an error
/// names the file, the line and the column.
///
/// ```
/// let text = "REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso]\n\"Level\"=dword:00000003\n";
/// let (keys, deleted, skipped) =
///     kbrules::snapshot::reg::parse_reg_export(text.as_bytes(), "contoso.reg")
///         .expect("a valid export");
/// assert_eq!(keys.len(), 1);
/// assert_eq!(keys[0].values[0].data, kbrules::snapshot::RegData::Dword(3));
/// assert!(deleted.is_empty() && skipped.is_empty());
/// ```
#[expect(
    clippy::type_complexity,
    reason = "three plain lists; a type for them would be one more name to learn"
)]
pub fn parse_reg_export(
    bytes: &[u8],
    origin: &str,
) -> Result<(Vec<RegKeyEntry>, Vec<RegKey>, Vec<Skipped>), Diagnostic> {
    let export = parse(bytes, origin)?;
    Ok((export.keys, export.deleted_keys, export.skipped))
}

/// Whether bytes look like a .reg export, by their first line: a regedit header, in UTF-16LE or
/// 8-bit. Wine's registry files count too, so that reading one says why it is refused.
pub(crate) fn is_reg(bytes: &[u8]) -> bool {
    let head = bytes.get(..bytes.len().min(512)).unwrap_or(bytes);
    let (lines, _) = decode(head);
    lines
        .first()
        .is_some_and(|line| !matches!(header(line), Header::Other))
}

/// Reads a .reg export; an error (not a .reg file, an unknown hive, …) is a diagnostic with a
/// code, the file and the line and column.
pub(crate) fn parse(bytes: &[u8], origin: &str) -> Result<RegExport, Diagnostic> {
    let (lines, odd_byte) = decode(bytes);
    let first = lines.first().map_or("", String::as_str);
    let version = match header(first) {
        Header::Regedit(version) => version,
        Header::Wine => {
            return Err(Diagnostic::global(
                Code::NotARegExport,
                format!("this is Wine's registry file (`{WINE}`), not a regedit export"),
            )
            .with_file(origin)
            .with_position(1, 1)
            .with_help(
                "export the keys with `wine regedit /e FILE.reg KEY`, which writes regedit's format",
            ));
        }
        Header::Other => {
            let shown: String = first.trim().chars().take(40).collect();
            let message = if shown.is_empty() {
                "this is not a registry export: its first line is empty".to_string()
            } else {
                format!("this is not a registry export: it starts with `{shown}`")
            };
            return Err(Diagnostic::global(Code::NotARegExport, message)
                .with_file(origin)
                .with_position(1, 1)
                .with_help(format!(
                    "a .reg file starts with `{REGEDIT5}` (regedit on Windows 2000 and later) \
                     or `{REGEDIT4}` (older versions)"
                )));
        }
    };
    let mut reader = Reader {
        origin,
        version,
        keys: Vec::new(),
        index: HashMap::new(),
        deleted_keys: Vec::new(),
        current: Current::NoKey,
        skipped: Vec::new(),
    };
    let mut i = 1;
    while let Some(line) = lines.get(i) {
        i = reader.line(&lines, i, line)?;
    }
    if odd_byte {
        reader.skip(ODD_BYTE, lines.len());
    }
    let skipped = reader
        .skipped
        .into_iter()
        .map(|(reason, line, count)| Skipped {
            file: origin.to_string(),
            reason: format!("{reason} (first at line {line})"),
            count,
        })
        .collect();
    Ok(RegExport {
        keys: reader.keys,
        deleted_keys: reader.deleted_keys,
        skipped,
    })
}

/// A regedit format version: how hex strings are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    /// `REGEDIT4`: 8-bit strings.
    Four,
    /// `Windows Registry Editor Version 5.00`: UTF-16LE strings.
    Five,
}

enum Header {
    Regedit(Version),
    Wine,
    Other,
}

/// What a first line says the file is.
fn header(line: &str) -> Header {
    let line = line.trim_start_matches(is_blank);
    for (name, header) in [
        (REGEDIT5, Header::Regedit(Version::Five)),
        (REGEDIT4, Header::Regedit(Version::Four)),
        (WINE, Header::Wine),
    ] {
        let Some(start) = line.get(..name.len()) else {
            continue;
        };
        let rest = line.get(name.len()..).unwrap_or("");
        if start.eq_ignore_ascii_case(name)
            && rest.chars().next().is_none_or(|c| is_blank(c) || c == ';')
        {
            return header;
        }
    }
    Header::Other
}

/// Whitespace, NUL padding, and a byte-order mark left inside by concatenating files.
fn is_blank(c: char) -> bool {
    c.is_whitespace() || c == '\0' || c == '\u{feff}'
}

/// The file's lines, without line ends (CR LF, LF or a lone CR), and whether a UTF-16 file had an
/// odd byte at its end.
fn decode(bytes: &[u8]) -> (Vec<String>, bool) {
    let utf16 = if let Some(rest) = bytes.strip_prefix(b"\xff\xfe") {
        Some(rest)
    } else if bytes.starts_with(b"W\0i\0n\0") || bytes.starts_with(b"R\0E\0G\0") {
        Some(bytes)
    } else {
        None
    };
    if let Some(rest) = utf16 {
        let units: Vec<u16> = utf16_units(rest).collect();
        let lines = utf16_text(&units)
            .split('\n')
            .flat_map(|l| l.strip_suffix('\r').unwrap_or(l).split('\r'))
            .map(str::to_string)
            .collect();
        return (lines, rest.len() % 2 == 1);
    }
    let rest = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let lines = rest
        .split(|&b| b == b'\n')
        .flat_map(|l| l.strip_suffix(b"\r").unwrap_or(l).split(|&b| b == b'\r'))
        .map(eight_bit)
        .collect();
    (lines, false)
}

/// Little-endian 16-bit units; an odd last byte is left out.
fn utf16_units(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes.chunks_exact(2).map(|pair| {
        u16::from_le_bytes([
            pair.first().copied().unwrap_or(0),
            pair.get(1).copied().unwrap_or(0),
        ])
    })
}

/// UTF-16 text; a unit that is half of a pair left alone reads as U+FFFD.
fn utf16_text(units: &[u16]) -> String {
    char::decode_utf16(units.iter().copied())
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Which key the value lines that follow belong to.
enum Current {
    /// None yet.
    NoKey,
    /// `keys[i]`.
    Key(usize),
    /// A key that `[-…]` deleted.
    Deleted,
    /// A key in a hive a snapshot does not hold.
    NotHeld,
}

struct Reader<'a> {
    origin: &'a str,
    version: Version,
    keys: Vec<RegKeyEntry>,
    /// Folded key path → position in `keys`.
    index: HashMap<String, usize>,
    deleted_keys: Vec<RegKey>,
    current: Current,
    /// Reason, first line, count.
    skipped: Vec<(&'static str, usize, u64)>,
}

/// A value line's data, as written.
enum Data {
    Set(RegData),
    Delete,
}

impl Reader<'_> {
    /// Reads the logical line starting at `lines[i]`; returns the index of the next one.
    fn line(&mut self, lines: &[String], i: usize, line: &str) -> Result<usize, Diagnostic> {
        let number = i + 1;
        let text = line.trim_start_matches(is_blank);
        let indent = line.len() - text.len();
        match text.chars().next() {
            None | Some(';') => Ok(i + 1),
            Some('[') => {
                self.key_line(text, number, column(line, indent))?;
                Ok(i + 1)
            }
            Some('"' | '@') => Ok(self.value_line(lines, i, text)),
            Some(_) if !matches!(header(text), Header::Other) => {
                // Exports concatenated into one file: each part's header sets its version.
                if let Header::Regedit(version) = header(text) {
                    self.version = version;
                }
                Ok(i + 1)
            }
            Some(_) => {
                self.skip(NOT_A_LINE, number);
                Ok(i + 1)
            }
        }
    }

    /// `[KEY]` or `[-KEY]`, starting at `column` of line `number`.
    fn key_line(&mut self, text: &str, number: usize, column: usize) -> Result<(), Diagnostic> {
        let origin = self.origin;
        let error = |message: String, col: usize| {
            Diagnostic::global(Code::InvalidRegExport, message)
                .with_file(origin)
                .with_position(number, col)
        };
        let inner = text.get(1..).unwrap_or("");
        let Some(end) = inner.rfind(']') else {
            return Err(error("key line without a closing `]`".into(), column)
                .with_help("write the key as `[HKEY_LOCAL_MACHINE\\SOFTWARE\\…]`, on one line"));
        };
        let name = inner.get(..end).unwrap_or("");
        let (deleting, name) = match name.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, name),
        };
        let name_column = column + 1 + usize::from(deleting);
        let hive_word = name
            .trim()
            .trim_start_matches('\\')
            .split('\\')
            .next()
            .unwrap_or("");
        if hive_word.is_empty() {
            return Err(error("key line with no key name".into(), name_column).with_help(HIVE_HELP));
        }
        let Some(key) = RegKey::parse(name) else {
            if HIVES_NOT_HELD
                .iter()
                .any(|h| h.eq_ignore_ascii_case(hive_word))
            {
                self.skip(HIVE_NOT_HELD, number);
                self.current = Current::NotHeld;
                return Ok(());
            }
            return Err(error(
                format!("`{hive_word}` is not a registry hive"),
                name_column + name.chars().take_while(|&c| c == ' ' || c == '\\').count(),
            )
            .with_help(HIVE_HELP));
        };
        let folded = key.folded();
        if deleting {
            let below = format!("{folded}\\");
            let before = self.keys.len();
            self.keys
                .retain(|e| !(e.key.folded() == folded || e.key.folded().starts_with(&below)));
            if self.keys.len() != before {
                self.index = self
                    .keys
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (e.key.folded(), i))
                    .collect();
            }
            if !self.deleted_keys.iter().any(|k| k.folded() == folded) {
                self.deleted_keys.push(key);
            }
            self.current = Current::Deleted;
        } else {
            let at = *self.index.entry(folded).or_insert(self.keys.len());
            if at == self.keys.len() {
                self.keys.push(RegKeyEntry {
                    key,
                    values: Vec::new(),
                });
            }
            self.current = Current::Key(at);
        }
        Ok(())
    }

    /// `"name"=data` or `@=data` at `lines[i]` (already trimmed to `text`), with the lines its
    /// hex data continues on; returns the index of the line after it.
    fn value_line(&mut self, lines: &[String], i: usize, text: &str) -> usize {
        let number = i + 1;
        let (next, name, data) = match value(text, lines, i, self.version) {
            Ok(read) => read,
            Err((next, reason)) => {
                self.skip(reason, number);
                return next;
            }
        };
        let entry = match self.current {
            Current::Key(at) => self.keys.get_mut(at),
            Current::NoKey => {
                self.skip(NO_KEY, number);
                None
            }
            Current::Deleted => {
                self.skip(DELETED_KEY, number);
                None
            }
            Current::NotHeld => {
                self.skip(HIVE_NOT_HELD, number);
                None
            }
        };
        let Some(entry) = entry else {
            return next;
        };
        let existing = entry.values.iter().position(|v| eq_fold(&v.name, &name));
        match (data, existing) {
            (Data::Set(data), Some(at)) => {
                if let Some(v) = entry.values.get_mut(at) {
                    v.data = data;
                }
            }
            (Data::Set(data), None) => entry.values.push(RegValue { name, data }),
            (Data::Delete, Some(at)) => {
                entry.values.remove(at);
            }
            (Data::Delete, None) => {}
        }
        next
    }

    fn skip(&mut self, reason: &'static str, line: usize) {
        match self.skipped.iter_mut().find(|(r, _, _)| *r == reason) {
            Some((_, _, count)) => *count += 1,
            None => self.skipped.push((reason, line, 1)),
        }
    }
}

/// The 1-based column, in characters, of byte offset `at` of `line`.
fn column(line: &str, at: usize) -> usize {
    line.get(..at)
        .map_or(1, |before| before.chars().count() + 1)
}

/// The next line index and what was skipped, for a value that cannot be read.
type Bad = (usize, &'static str);

/// Reads a value line: its name, its data, and the index of the line after it.
fn value(
    text: &str,
    lines: &[String],
    i: usize,
    version: Version,
) -> Result<(usize, String, Data), Bad> {
    let next = i + 1;
    let (name, rest) = if let Some(rest) = text.strip_prefix('@') {
        (String::new(), rest)
    } else {
        quoted(text).ok_or((next, BAD_VALUE))?
    };
    let rest = rest
        .trim_start()
        .strip_prefix('=')
        .ok_or((next, BAD_VALUE))?
        .trim_start();
    if let Some(after) = rest.strip_prefix('-') {
        return if ends(after) {
            Ok((next, name, Data::Delete))
        } else {
            Err((next, BAD_VALUE))
        };
    }
    if rest.starts_with('"') {
        let (data, after) = quoted(rest).ok_or((next, BAD_VALUE))?;
        return if ends(after) {
            Ok((next, name, Data::Set(RegData::Sz(data))))
        } else {
            Err((next, BAD_VALUE))
        };
    }
    if let Some(digits) = strip_prefix_ignore_case(rest, "dword:") {
        let digits = uncommented(digits).trim_end();
        let ok = (1..=8).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_hexdigit());
        return match u32::from_str_radix(digits, 16) {
            Ok(n) if ok => Ok((next, name, Data::Set(RegData::Dword(n)))),
            _ => Err((next, BAD_VALUE)),
        };
    }
    let Some(after_hex) = strip_prefix_ignore_case(rest, "hex") else {
        return Err((next, BAD_VALUE));
    };
    let (kind, data) = if let Some(data) = after_hex.strip_prefix(':') {
        (3, data)
    } else {
        let inner = after_hex.strip_prefix('(').ok_or((next, BAD_VALUE))?;
        let (number, after) = inner.split_once("):").ok_or((next, BAD_VALUE))?;
        let ok = (1..=8).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_hexdigit());
        match u32::from_str_radix(number, 16) {
            Ok(kind) if ok => (kind, after),
            _ => return Err((next, BAD_VALUE)),
        }
    };
    let (next, joined) = continued(data, lines, i)?;
    let bytes = hex_bytes(&joined).ok_or((next, BAD_VALUE))?;
    Ok((next, name, Data::Set(typed(kind, bytes, version))))
}

/// Hex data with its continuation lines joined, and the index of the line after it.
fn continued(first: &str, lines: &[String], i: usize) -> Result<(usize, String), Bad> {
    let mut joined = String::new();
    let mut piece = first;
    let mut at = i;
    loop {
        let data = uncommented(piece).trim_end();
        let Some(before) = data.strip_suffix('\\') else {
            joined.push_str(data);
            return Ok((at + 1, joined));
        };
        joined.push_str(before);
        at += 1;
        let next = lines
            .get(at)
            .map(|l| l.trim_start_matches(is_blank))
            .filter(|l| !l.is_empty() && !l.starts_with(['[', '"', '@']));
        match next {
            Some(line) => piece = line,
            // The file ends, or a new key or value starts, where the data should go on.
            None => return Err((at, CUT_OFF)),
        }
    }
}

/// `61,00,0a`: bytes written as hex pairs separated by commas; a trailing comma is allowed.
fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.is_empty() {
        return Some(Vec::new());
    }
    let text = text.strip_suffix(',').unwrap_or(text);
    text.split(',')
        .map(|item| {
            let item = item.trim();
            if (1..=2).contains(&item.len()) && item.bytes().all(|b| b.is_ascii_hexdigit()) {
                u8::from_str_radix(item, 16).ok()
            } else {
                None
            }
        })
        .collect()
}

/// Registry data from a type number and its bytes.
fn typed(kind: u32, bytes: Vec<u8>, version: Version) -> RegData {
    match kind {
        1 => RegData::Sz(
            strings(&bytes, version)
                .into_iter()
                .next()
                .unwrap_or_default(),
        ),
        2 => RegData::ExpandSz(
            strings(&bytes, version)
                .into_iter()
                .next()
                .unwrap_or_default(),
        ),
        3 => RegData::Binary(bytes),
        4 => match <[u8; 4]>::try_from(bytes.as_slice()) {
            Ok(four) => RegData::Dword(u32::from_le_bytes(four)),
            Err(_) => RegData::Other(4, bytes),
        },
        7 => RegData::MultiSz(
            strings(&bytes, version)
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect(),
        ),
        11 => match <[u8; 8]>::try_from(bytes.as_slice()) {
            Ok(eight) => RegData::Qword(u64::from_le_bytes(eight)),
            Err(_) => RegData::Other(11, bytes),
        },
        n => RegData::Other(n, bytes),
    }
}

/// The NUL-separated strings in string data: UTF-16LE in version 5, 8-bit in REGEDIT4. An odd
/// last byte of UTF-16 is dropped; nothing follows the last NUL.
fn strings(bytes: &[u8], version: Version) -> Vec<String> {
    let mut out = match version {
        Version::Five => {
            let units: Vec<u16> = utf16_units(bytes).collect();
            units
                .split(|&u| u == 0)
                .map(utf16_text)
                .collect::<Vec<String>>()
        }
        Version::Four => bytes.split(|&b| b == 0).map(eight_bit).collect(),
    };
    // `a\0` splits into `a` and an empty tail: the terminator, not a string.
    if out.len() > 1 && out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// A quoted string at the start of `text` (which starts with `"`), unescaped, and the rest.
fn quoted(text: &str) -> Option<(String, &str)> {
    let inner = text.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = inner.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((out, inner.get(at + 1..).unwrap_or(""))),
            '\\' => match chars.next() {
                Some((_, e @ ('\\' | '"'))) => out.push(e),
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => return None,
            },
            c => out.push(c),
        }
    }
    None
}

/// Text before a `;` comment (for text that holds no quoted string).
fn uncommented(text: &str) -> &str {
    text.split_once(';').map_or(text, |(before, _)| before)
}

/// Whether the rest of a line is blank or a comment.
fn ends(rest: &str) -> bool {
    let rest = rest.trim_start_matches(is_blank);
    rest.is_empty() || rest.starts_with(';')
}

fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let start = text.get(..prefix.len())?;
    start
        .eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..).unwrap_or(""))
}

#[cfg(test)]
mod tests;
