//! Bundles: a directory holding any mix of inputs, read as one snapshot.
//!
//! Every file in the directory (and below it, in sorted order) is read as the input its content
//! says it is; a file that is no input kbrules reads is an error (E0408), so that nothing a
//! support engineer collected is silently left out. The snapshots are merged: what the bundle
//! holds defines what was collected. A JSON snapshot in it (conventionally `system.json`) gives
//! the sections no export carries: the host, operating system, products, hotfixes, components,
//! files and facts.

use std::path::{Path, PathBuf};

use super::{Collected, Coverage, DataKnown, Event, Snapshot};
use crate::diagnostics::{Code, Diagnostic};

/// The files below `dir`, in sorted order, hidden ones left out.
pub(super) fn files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    Ok(files)
}

/// The error for a directory that holds no input.
pub(super) fn empty(dir: &Path) -> Diagnostic {
    let name = dir.display().to_string();
    Diagnostic::global(
        Code::UnrecognizedInput,
        format!("the directory `{name}` holds no input"),
    )
    .with_file(name)
    .with_help(
        "put the exports collected from the system in it: .evtx, .reg, rendered event exports, \
         service lists, system.json",
    )
}

/// The files below a directory, sorted, skipping hidden ones (`.DS_Store`, editors' files).
fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Diagnostic> {
    let io = |err: std::io::Error| {
        Diagnostic::global(Code::Io, format!("cannot read `{}`: {err}", dir.display()))
            .with_file(dir.display().to_string())
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for path in entries {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            collect(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Adds what `part` holds and collected to `into`.
pub(super) fn merge(into: &mut Snapshot, part: Snapshot) {
    let Snapshot {
        host,
        os,
        products,
        hotfixes,
        components,
        services,
        registry,
        events,
        logs,
        sources,
        files,
        facts,
        environment,
        collected,
        skipped,
        ..
    } = part;
    if into.host.name.is_none() {
        into.host.name = host.name;
    }
    if into.host.domain.is_none() {
        into.host.domain = host.domain;
    }
    if into.os.is_none() {
        into.os = os;
    }
    into.products.extend(products);
    for h in hotfixes {
        if !into.hotfixes.iter().any(|x| x.eq_ignore_ascii_case(&h)) {
            into.hotfixes.push(h);
        }
    }
    for c in components {
        if !into.components.iter().any(|x| super::eq_fold(x, &c)) {
            into.components.push(c);
        }
    }
    // A service listed twice is one: the first listing wins, later ones fill what it lacks.
    for s in services {
        match into
            .services
            .iter_mut()
            .find(|x| super::eq_fold(&x.name, &s.name))
        {
            Some(x) => {
                x.display_name = x.display_name.take().or(s.display_name);
                x.state = x.state.or(s.state);
                x.start_type = x.start_type.or(s.start_type);
                x.account = x.account.take().or(s.account);
                x.image_path = x.image_path.take().or(s.image_path);
                x.depends_on = x.depends_on.take().or(s.depends_on);
            }
            None => into.services.push(s),
        }
    }
    // Keys by folded path: a whole-hive export has tens of thousands.
    let mut at: std::collections::HashMap<String, usize> = into
        .registry
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.key.folded(), i))
        .collect();
    for key in registry.keys {
        let folded = key.key.folded();
        match at.get(&folded).and_then(|&i| into.registry.keys.get_mut(i)) {
            Some(k) => {
                for v in key.values {
                    if !k.values.iter().any(|x| super::eq_fold(&x.name, &v.name)) {
                        k.values.push(v);
                    }
                }
            }
            None => {
                at.insert(folded, into.registry.keys.len());
                into.registry.keys.push(key);
            }
        }
    }
    // The same record from two exports of a log (an .evtx for its named data, a rendered
    // export for its message) is one event, with what each carries.
    let mut records: std::collections::HashMap<(u32, u64), usize> = into
        .events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some(((e.log, e.record_id?), i)))
        .collect();
    for mut e in events {
        e.log = into.logs.intern(logs.get(e.log));
        e.source = into.sources.intern(sources.get(e.source));
        let same = e
            .record_id
            .and_then(|r| records.get(&(e.log, r)))
            .and_then(|&i| into.events.get_mut(i))
            .filter(|x| x.id == e.id && x.source == e.source);
        match same {
            Some(x) => fill(x, e),
            None => {
                if let Some(r) = e.record_id {
                    records.insert((e.log, r), into.events.len());
                }
                into.events.push(e);
            }
        }
    }
    into.files.extend(files);
    for (name, value) in facts {
        into.facts.entry(name).or_insert(value);
    }
    for (name, value) in environment {
        if !into.environment.keys().any(|k| super::eq_fold(k, &name)) {
            into.environment.insert(name, value);
        }
    }
    into.collected = union(std::mem::take(&mut into.collected), collected);
    into.skipped.extend(skipped);
}

/// Fills what an event lacks from another reading of the same record.
fn fill(into: &mut Event, other: Event) {
    into.level = into.level.or(other.level);
    into.time = into.time.or(other.time);
    into.computer = into.computer.take().or(other.computer);
    into.message = into.message.take().or(other.message);
    into.binary = into.binary.take().or(other.binary);
    let rank = |k: DataKnown| match k {
        DataKnown::Nothing => 0,
        DataKnown::Positions => 1,
        DataKnown::All => 2,
    };
    if rank(other.data_known) > rank(into.data_known) {
        into.data = other.data;
        into.data_known = other.data_known;
    }
}

fn union(a: Collected, b: Collected) -> Collected {
    Collected {
        events: cover(a.events, b.events),
        registry: cover(a.registry, b.registry),
        services: a.services || b.services,
        products: a.products || b.products,
        os: a.os || b.os,
        hotfixes: a.hotfixes || b.hotfixes,
        components: a.components || b.components,
        files: cover(a.files, b.files),
        facts: cover(a.facts, b.facts),
        environment: a.environment || b.environment,
    }
}

fn cover(a: Coverage, b: Coverage) -> Coverage {
    match (a, b) {
        (Coverage::Everything, _) | (_, Coverage::Everything) => Coverage::Everything,
        (Coverage::Nothing, other) | (other, Coverage::Nothing) => other,
        (Coverage::Only(mut x), Coverage::Only(y)) => {
            for part in y {
                if !x.iter().any(|p| super::eq_fold(p, &part)) {
                    x.push(part);
                }
            }
            Coverage::Only(x)
        }
    }
}
