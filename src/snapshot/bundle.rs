//! Bundles: a directory holding any mix of inputs, read as one snapshot.
//!
//! Every file in the directory (and below it, in sorted order) is read as the input its content
//! says it is; a file that is no input kbrules reads is an error (E0408), so that nothing a
//! support engineer collected is silently left out. The snapshots are merged: what the bundle
//! holds defines what was collected. A JSON snapshot in it (conventionally `system.json`) gives
//! the sections no export carries: the host, operating system, products, hotfixes, components,
//! files and facts.

use std::path::{Path, PathBuf};

use super::{Collected, Coverage, Snapshot, fingerprint};
use crate::diagnostics::{Code, Diagnostic};

/// Reads every file below `dir` and merges them into one snapshot.
pub(super) fn load(dir: &Path) -> Result<Snapshot, Diagnostic> {
    let name = dir.display().to_string();
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    if files.is_empty() {
        return Err(Diagnostic::global(
            Code::UnrecognizedInput,
            format!("the directory `{name}` holds no input"),
        )
        .with_file(name)
        .with_help("put the exports collected from the system in it: .evtx, .reg, service lists, system.json"));
    }
    let mut merged = Snapshot::default();
    let mut hashes = Vec::new();
    for file in files {
        let part = Snapshot::load(&file)?;
        hashes.extend_from_slice(&part.hash.to_le_bytes());
        merge(&mut merged, part);
    }
    merged.origin = name;
    merged.hash = fingerprint(&hashes);
    merged.index();
    Ok(merged)
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
    for mut e in events {
        e.log = into.logs.intern(logs.get(e.log));
        e.source = into.sources.intern(sources.get(e.source));
        into.events.push(e);
    }
    into.files.extend(files);
    for (name, value) in facts {
        into.facts.entry(name).or_insert(value);
    }
    into.collected = union(std::mem::take(&mut into.collected), collected);
    into.skipped.extend(skipped);
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
