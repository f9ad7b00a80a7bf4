//! PowerShell's JSON (`ConvertTo-Json`) of `Get-Service` and `Win32_Service` objects, and the
//! field mapping the CSV reader shares (a CSV row is read as an object of strings).

use serde_json::{Map, Value};

use super::{List, Written, service_state, start_type};
use crate::snapshot::Service;

/// Where `ConvertTo-Json`'s depth limit, or CSV, wrote a list as its type's name.
const FLATTENED: &str = "System.ServiceProcess.ServiceController";

const NOT_AN_OBJECT: &str = "entry that is not an object";
const NO_NAME: &str = "entry without a `Name`";
const BAD_STATE: &str = "entry with a state no tool writes";
const BAD_START: &str = "entry with a start type no tool writes";

/// The entries of a JSON service list; `Err(true)` for a kbrules snapshot, `Err(false)` for
/// other JSON.
pub(super) fn entries(value: Value) -> Result<Vec<Value>, bool> {
    match value {
        Value::Array(items) if items.iter().any(is_service) => Ok(items),
        Value::Object(map) if map.contains_key("kbrules_snapshot") => Err(true),
        Value::Object(ref map) if is_service(&value) => Ok(vec![Value::Object(map.clone())]),
        // PowerShell 5 wraps some arrays as `{"value": [...], "Count": n}`.
        Value::Object(mut map) => match (take(&mut map, "value"), map.len()) {
            (Some(inner @ Value::Array(_)), 1) => entries(inner).map_err(|_| false),
            _ => Err(false),
        },
        _ => Err(false),
    }
}

/// Whether a JSON value is a service list, as [`entries`] reads one.
pub(super) fn is_list(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().any(is_service),
        Value::Object(map) if map.contains_key("kbrules_snapshot") => false,
        Value::Object(_) if is_service(value) => true,
        Value::Object(map) => {
            map.len() == 2 && get(map, "value").is_some_and(|v| v.is_array() && is_list(v))
        }
        _ => false,
    }
}

fn take(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let found = map.keys().find(|k| k.eq_ignore_ascii_case(key))?.clone();
    map.remove(&found)
}

/// A string `Name` and one of `Status`, `State` or `ServiceName`.
fn is_service(value: &Value) -> bool {
    let Value::Object(map) = value else {
        return false;
    };
    matches!(get(map, "Name"), Some(Value::String(_)))
        && ["Status", "State", "ServiceName"]
            .iter()
            .any(|k| get(map, k).is_some())
}

/// A property by name, ignoring case, as PowerShell finds it.
pub(super) fn get<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

pub(super) fn read(entries: &[Value], list: &mut List) {
    for (i, entry) in entries.iter().enumerate() {
        let at = || format!("entry {}", i + 1);
        match entry {
            Value::Object(map) => match service(map) {
                Ok(s) => list.add(s),
                Err(reason) => list.skip(reason, at),
            },
            _ => list.skip(NOT_AN_OBJECT, at),
        }
    }
}

/// A service from one object's properties, or why it cannot be read.
pub(super) fn service(map: &Map<String, Value>) -> Result<Service, &'static str> {
    let name = text(get(map, "Name"))
        .or_else(|| text(get(map, "ServiceName")))
        .ok_or(NO_NAME)?;
    let cim = get(map, "State").is_some() || get(map, "StartMode").is_some();
    let (state, start, account, image) = if cim {
        ("State", &["StartMode"][..], "StartName", "PathName")
    } else {
        (
            "Status",
            &["StartType", "StartupType"][..],
            "UserName",
            "BinaryPathName",
        )
    };
    let state = match written(get(map, state)) {
        None => None,
        Some(w) => service_state(w).map_err(|()| BAD_STATE)?,
    };
    let start = match start.iter().find_map(|k| written(get(map, k))) {
        None => None,
        Some(w) => start_type(w).map_err(|()| BAD_START)?,
    };
    Ok(Service {
        name,
        display_name: text(get(map, "DisplayName")),
        state,
        start_type: start,
        account: text(get(map, account)),
        image_path: text(get(map, image)),
        depends_on: get(map, "ServicesDependedOn")
            .and_then(dependencies)
            .or_else(|| get(map, "RequiredServices").and_then(dependencies)),
    })
}

/// A non-empty string.
fn text(value: Option<&Value>) -> Option<String> {
    match value {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// A number, or a name (a string of digits is a number); `None` for `null` or empty.
fn written(value: Option<&Value>) -> Option<Written<'_>> {
    match value? {
        Value::Number(n) => Some(n.as_i64().map_or(Written::Number(-1), Written::Number)),
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(
            s.trim()
                .parse::<i64>()
                .map_or(Written::Name(s.trim()), Written::Number),
        ),
        Value::Null => None,
        _ => Some(Written::Number(-1)),
    }
}

/// Dependency names; `None` when the list is not there to read (null, or flattened to a type
/// name by a depth limit).
fn dependencies(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter(|item| !item.is_null())
            .map(dependency)
            .collect(),
        Value::Null => None,
        single => dependency(single).map(|name| vec![name]),
    }
}

fn dependency(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if s.starts_with(FLATTENED) => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => text(get(map, "Name")).or_else(|| text(get(map, "ServiceName"))),
        _ => None,
    }
}
