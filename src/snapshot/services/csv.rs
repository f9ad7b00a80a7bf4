//! PowerShell's CSV (`Export-Csv`) of `Get-Service` or `Win32_Service` objects: an optional
//! `#TYPE …` line, a header of column names, one quoted row per service. Each row is read as an
//! object of its columns, with the JSON reader's field mapping.

use serde_json::{Map, Value};

use super::{List, json};

const WRONG_WIDTH: &str = "row with more or fewer fields than the header";
const CUT_OFF: &str = "row cut off inside a quoted field";

/// Whether the header (after an optional `#TYPE` line) names a service list's columns.
pub(super) fn is_csv(text: &str) -> bool {
    let Some((_, header)) = header(text) else {
        return false;
    };
    let has = |name: &str| header.iter().any(|h| h.eq_ignore_ascii_case(name));
    has("Name") && (has("Status") || has("State") || has("ServiceName"))
}

/// The delimiter and the header's fields.
fn header(text: &str) -> Option<(char, Vec<String>)> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let delimiter = delimiter(line);
    let record = records(line, delimiter).into_iter().next()?;
    Some((delimiter, record.fields))
}

/// The character after the first field: `,` unless `-Delimiter` or `-UseCulture` chose another.
fn delimiter(header: &str) -> char {
    let after = match header.strip_prefix('"') {
        Some(rest) => rest.split_once('"').map(|(_, after)| after),
        None => header.find([',', ';', '\t']).and_then(|i| header.get(i..)),
    };
    after.and_then(|a| a.chars().next()).unwrap_or(',')
}

pub(super) fn read(text: &str, list: &mut List) {
    let Some((delimiter, columns)) = header(text) else {
        return;
    };
    let mut rows = records(text, delimiter)
        .into_iter()
        .filter(|r| !(r.fields.len() == 1 && r.fields.iter().all(String::is_empty)))
        .filter(|r| {
            !r.fields
                .first()
                .is_some_and(|f| f.starts_with('#') && !r.quoted_first)
        });
    // The header itself.
    rows.next();
    for row in rows {
        let at = || format!("line {}", row.line);
        if !row.closed {
            list.skip(CUT_OFF, at);
            continue;
        }
        if row.fields.len() != columns.len() {
            list.skip(WRONG_WIDTH, at);
            continue;
        }
        let object: Map<String, Value> = columns
            .iter()
            .zip(&row.fields)
            .map(|(c, f)| {
                let value = if f.is_empty() {
                    Value::Null
                } else {
                    Value::String(f.clone())
                };
                (c.clone(), value)
            })
            .collect();
        match json::service(&object) {
            Ok(s) => list.add(s),
            Err(reason) => list.skip(reason, at),
        }
    }
}

/// One CSV record.
struct Record {
    /// The line it starts on, from 1.
    line: usize,
    fields: Vec<String>,
    /// Whether its first field was quoted (a quoted `#…` is data, not a comment).
    quoted_first: bool,
    /// False when the text ends inside a quoted field.
    closed: bool,
}

/// The records of CSV text: fields separated by `delimiter`, quoted with `"` (a quote inside
/// doubled), a quoted field may hold line breaks; CR LF, LF or a lone CR end a record.
fn records(text: &str, delimiter: char) -> Vec<Record> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut record = Record {
        line,
        fields: Vec::new(),
        quoted_first: false,
        closed: true,
    };
    let mut field = String::new();
    let mut quoted = false; // inside quotes
    let mut at_start = true; // nothing of this field read yet
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
                if record.fields.is_empty() {
                    record.quoted_first = true;
                }
            }
            c if c == delimiter => {
                record.fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                line += 1;
                record.fields.push(std::mem::take(&mut field));
                let next = Record {
                    line,
                    fields: Vec::new(),
                    quoted_first: false,
                    closed: true,
                };
                out.push(std::mem::replace(&mut record, next));
                at_start = true;
            }
            c => {
                at_start = false;
                field.push(c);
            }
        }
    }
    if quoted || !field.is_empty() || !record.fields.is_empty() {
        record.fields.push(field);
        record.closed = !quoted;
        out.push(record);
    }
    out
}
