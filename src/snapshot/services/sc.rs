//! The text `sc query`, `sc queryex` and `sc qc` print: blocks that start with
//! `SERVICE_NAME: X`, then `KEY : value` lines (`sc query`'s `DISPLAY_NAME:` at the margin,
//! the rest indented and aligned). A further `DEPENDENCIES` line starts with `:`. Lines without
//! a key (`(STOPPABLE, NOT_PAUSABLE, …)`, `[SC] QueryServiceConfig SUCCESS`) are ignored.

use super::{List, Written, service_state, start_type};
use crate::snapshot::Service;

const NO_NAME: &str = "`SERVICE_NAME:` with no name";
const BAD_STATE: &str = "service with a `STATE` sc does not write";
const BAD_START: &str = "service with a `START_TYPE` sc does not write";
const FAILED: &str = "`[SC] … FAILED` report";
const STRAY: &str = "line outside any `SERVICE_NAME:` block";

/// Whether a line among the first 64 starts with `SERVICE_NAME:`.
pub(super) fn is_sc(text: &str) -> bool {
    text.lines()
        .take(64)
        .any(|l| l.starts_with("SERVICE_NAME:"))
}

/// One block as read, before its fields are checked.
#[derive(Default)]
struct Block {
    line: usize,
    name: String,
    display_name: Option<String>,
    state: Option<String>,
    start_type: Option<String>,
    account: Option<String>,
    image_path: Option<String>,
    depends_on: Option<Vec<String>>,
}

pub(super) fn read(text: &str, list: &mut List) {
    let mut block: Option<Block> = None;
    // The key a line starting with `:` continues.
    let mut last_key = "";
    // After `[SC] … FAILED`, sc prints the reason in words: not a stray line.
    let mut after_failure = false;
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            last_key = "";
            continue;
        }
        if line.starts_with("[SC]") {
            if line.contains("FAILED") {
                list.skip(FAILED, || format!("line {number}"));
                finish(block.take(), list);
                after_failure = true;
            }
            continue;
        }
        let Some((key, value)) = key_line(line) else {
            if block.is_none() && !after_failure {
                list.skip(STRAY, || format!("line {number}"));
            }
            continue;
        };
        if key == "SERVICE_NAME" {
            finish(block.take(), list);
            after_failure = false;
            block = Some(Block {
                line: number,
                name: value.to_string(),
                ..Block::default()
            });
            last_key = "";
            continue;
        }
        let Some(current) = block.as_mut() else {
            if !after_failure {
                list.skip(STRAY, || format!("line {number}"));
            }
            continue;
        };
        let key = if key.is_empty() { last_key } else { key };
        let value = (!value.is_empty()).then(|| value.to_string());
        match key {
            "DISPLAY_NAME" => current.display_name = current.display_name.take().or(value),
            "STATE" => current.state = current.state.take().or(value),
            "START_TYPE" => current.start_type = current.start_type.take().or(value),
            "SERVICE_START_NAME" => current.account = current.account.take().or(value),
            "BINARY_PATH_NAME" => current.image_path = current.image_path.take().or(value),
            "DEPENDENCIES" => current
                .depends_on
                .get_or_insert_with(Vec::new)
                .extend(value),
            _ => {}
        }
        last_key = match key {
            "DEPENDENCIES" => "DEPENDENCIES",
            _ => "",
        };
    }
    finish(block, list);
}

/// `KEY : value`, the key in capitals (empty for a continuation), both trimmed.
fn key_line(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let key = key.trim();
    key.chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        .then_some((key, value.trim()))
}

fn finish(block: Option<Block>, list: &mut List) {
    let Some(block) = block else {
        return;
    };
    let at = || format!("line {}", block.line);
    match service(&block) {
        Ok(s) => list.add(s),
        Err(reason) => list.skip(reason, at),
    }
}

fn service(block: &Block) -> Result<Service, &'static str> {
    if block.name.is_empty() {
        return Err(NO_NAME);
    }
    let state = match block.state.as_deref().map(written) {
        None => None,
        Some(w) => service_state(w).map_err(|()| BAD_STATE)?,
    };
    let start = match block.start_type.as_deref().map(written) {
        None => None,
        Some(w) => start_type(w).map_err(|()| BAD_START)?,
    };
    Ok(Service {
        name: block.name.clone(),
        display_name: block.display_name.clone(),
        state,
        start_type: start,
        account: block.account.clone(),
        image_path: block.image_path.clone(),
        depends_on: block.depends_on.clone(),
    })
}

/// `4  RUNNING` or `2   AUTO_START  (DELAYED)`: the number when there is one, else the name.
fn written(value: &str) -> Written<'_> {
    let mut words = value.split_whitespace();
    let first = words.next().unwrap_or("");
    match first.parse::<i64>() {
        Ok(n) => Written::Number(n),
        Err(_) => Written::Name(first),
    }
}
