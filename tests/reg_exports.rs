//! The .reg reader against real exports: every file in `../shared/data/reg/` (see its README)
//! loads with the number of keys and values counted by reading the files, and the values checked
//! here by hand; and no truncation or mutation of them makes the reader panic.

// Test helpers fail loudly on a broken fixture, as the tests themselves may (clippy.toml).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kbrules::Code;
use kbrules::ir::RegKey;
use kbrules::snapshot::reg::parse_reg_export;
use kbrules::snapshot::{RegData, RegKeyEntry, Skipped};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/reg")
}

/// Every `.reg` file in the data folder, as `folder/name`.
fn files() -> Vec<String> {
    let mut out = Vec::new();
    for folder in std::fs::read_dir(data_dir()).expect("../shared/data/reg") {
        let folder = folder.unwrap().path();
        if !folder.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&folder).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "reg") {
                let name = file.strip_prefix(data_dir()).unwrap();
                out.push(name.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(data_dir().join(name)).unwrap()
}

type Export = (Vec<RegKeyEntry>, Vec<RegKey>, Vec<Skipped>);

fn load(name: &str) -> Export {
    parse_reg_export(&bytes(name), name)
        .unwrap_or_else(|d| panic!("{name}: {}: {} at {:?}", d.code, d.message, d.position))
}

fn key<'a>(keys: &'a [RegKeyEntry], path: &str) -> &'a RegKeyEntry {
    let wanted = RegKey::parse(path).unwrap().folded();
    keys.iter()
        .find(|k| k.key.folded() == wanted)
        .unwrap_or_else(|| panic!("no key {path}"))
}

fn value(keys: &[RegKeyEntry], path: &str, name: &str) -> RegData {
    key(keys, path)
        .value(name)
        .unwrap_or_else(|| panic!("no value {name} in {path}"))
        .data
        .clone()
}

fn sz(text: &str) -> RegData {
    RegData::Sz(text.into())
}

fn multi(items: &[&str]) -> RegData {
    RegData::MultiSz(items.iter().map(|s| s.to_string()).collect())
}

/// Per file: keys, values, deleted keys, skipped lines.
const COUNTS: &[(&str, usize, usize, usize, u64)] = &[
    ("atlas/AtlasOS_software_export_utf16.reg", 54, 106, 0, 0),
    ("atlas/win10_20H2_default_drivers_start.reg", 258, 258, 0, 0),
    (
        "atlas/win10_20H2_default_services_start.reg",
        142,
        142,
        0,
        0,
    ),
    ("regashii/complex-regedit4.reg", 1, 13, 0, 0),
    ("regashii/complex-regedit5.reg", 1, 13, 0, 0),
    // `"invalid-backslash"=dword:00000000\` is skipped.
    ("regashii/irregular-regedit5.reg", 1, 6, 0, 1),
    ("regashii/japanese-regedit5.reg", 1, 4, 0, 0),
    ("regashii/multi-sz-separation-regedit4.reg", 1, 5, 0, 0),
    ("regashii/multi-sz-separation-regedit5.reg", 1, 5, 0, 0),
    // Applied in order: the first key is deleted, the other three spellings merge; the value
    // after the deletion belongs to no key.
    ("regashii/repetition-regedit5.reg", 2, 3, 1, 1),
    ("regashii/sample.reg", 1, 2, 0, 0),
    // `"remove"=-` removes nothing that was set; `[-…\remove]` is a deleted key.
    ("regashii/simple-regedit4.reg", 1, 4, 1, 0),
    ("regashii/simple-regedit5.reg", 1, 4, 1, 0),
];

const WINE: &str = "regashii/wine-v2.reg";

#[test]
fn every_file_loads_with_the_counted_keys_and_values() {
    let mut listed: Vec<&str> = COUNTS.iter().map(|c| c.0).collect();
    listed.push(WINE);
    listed.sort_unstable();
    assert_eq!(
        files(),
        listed,
        "a file in the data folder is not checked here"
    );
    for &(name, keys, values, deleted, skipped) in COUNTS {
        let (k, d, s) = load(name);
        let found = (
            k.len(),
            k.iter().map(|e| e.values.len()).sum::<usize>(),
            d.len(),
            s.iter().map(|s| s.count).sum::<u64>(),
        );
        assert_eq!(found, (keys, values, deleted, skipped), "{name}: {s:?}");
        assert!(s.iter().all(|s| s.file == name));
    }
}

#[test]
fn wine_registry_files_are_refused_with_a_code() {
    let d = parse_reg_export(&bytes(WINE), WINE).unwrap_err();
    assert_eq!(d.code, Code::NotARegExport);
    assert_eq!(d.position, Some((1, 1)));
    assert_eq!(d.file.as_deref(), Some(WINE));
    assert!(d.message.contains("Wine"), "{}", d.message);
}

#[test]
fn every_value_type_reads_the_same_from_regedit4_and_version_5() {
    let expected = vec![
        ("binary-a", RegData::Binary(vec![0x61])),
        ("binary-a-b", RegData::Binary(vec![0x61, 0x62])),
        ("dword-0", RegData::Dword(0)),
        ("dword-255", RegData::Dword(255)),
        ("expand-sz", RegData::ExpandSz(String::new())),
        ("expand-sz-a", RegData::ExpandSz("a".into())),
        ("multi-sz", multi(&[])),
        ("multi-sz-a", multi(&["a"])),
        ("multi-sz-a-b", multi(&["a", "b"])),
        ("qword-0", RegData::Qword(0)),
        ("qword-255", RegData::Qword(255)),
        ("sz-a", sz("a")),
        (r#"sz-sp\ec"ial"#, sz(r#"sp\ec"ial"#)),
    ];
    for name in [
        "regashii/complex-regedit4.reg",
        "regashii/complex-regedit5.reg",
    ] {
        let (keys, _, _) = load(name);
        assert_eq!(keys[0].key.to_string(), r"HKCU\Software\regashii\complex");
        let found: Vec<(&str, RegData)> = keys[0]
            .values
            .iter()
            .map(|v| (v.name.as_str(), v.data.clone()))
            .collect();
        assert_eq!(found, expected, "{name}");
    }
    for name in [
        "regashii/multi-sz-separation-regedit4.reg",
        "regashii/multi-sz-separation-regedit5.reg",
    ] {
        let (keys, _, _) = load(name);
        let found: Vec<RegData> = keys[0].values.iter().map(|v| v.data.clone()).collect();
        let ab = multi(&["a", "b"]);
        assert_eq!(
            found,
            [multi(&["a"]), multi(&["a"]), ab.clone(), ab.clone(), ab],
            "{name}"
        );
    }
}

#[test]
fn values_read_by_hand_from_the_files() {
    let (keys, _, _) = load("regashii/sample.reg");
    assert_eq!(value(&keys, r"HKCU\Software\Foo", ""), sz("some string"));
    assert_eq!(
        value(&keys, r"HKCU\Software\Foo", "this is a dword"),
        RegData::Dword(255)
    );

    let (keys, _, _) = load("regashii/japanese-regedit5.reg");
    let path = r"HKCU\Software\regashii\日本語";
    assert_eq!(value(&keys, path, "sz-あ"), sz("あ"));
    assert_eq!(
        value(&keys, path, "expand-sz"),
        RegData::ExpandSz("あ".into())
    );
    assert_eq!(value(&keys, path, "multi-sz-2"), multi(&["あ", "い"]));

    let (keys, _, skipped) = load("regashii/irregular-regedit5.reg");
    let path = r#"HKCU\Software\regashii\irre]";gular"#;
    assert_eq!(value(&keys, path, "(Default)"), sz(""));
    assert_eq!(value(&keys, path, "dword"), RegData::Other(4, vec![0]));
    assert_eq!(value(&keys, path, "sz-line-break"), sz("a\nb"));
    assert_eq!(
        value(&keys, path, "hex-continuations"),
        RegData::Binary(vec![0, 1, 2])
    );
    assert_eq!(value(&keys, path, "semi;colons"), sz("and\"quotes;"));
    let long = "hex-continuations-with-long-name ............................................ end";
    assert_eq!(value(&keys, path, long), RegData::Binary((0..32).collect()));
    assert_eq!(skipped.len(), 1);
    assert_eq!(
        skipped[0].reason,
        "value line that cannot be read (first at line 11)"
    );

    let (keys, deleted, skipped) = load("regashii/repetition-regedit5.reg");
    let merged = key(&keys, r"HKCU\Software\regashii\repeated-key");
    assert_eq!(merged.key.path, r"Software\regashii\repeated-kEy");
    assert_eq!(merged.value("bar").unwrap().data, sz("2"));
    assert_eq!(merged.value("baz").unwrap().data, sz("3"));
    assert!(merged.value("foo").is_none());
    let values = &key(&keys, r"HKCU\Software\regashii\repeated-value").values;
    assert_eq!(values.len(), 1);
    assert_eq!(
        (values[0].name.as_str(), &values[0].data),
        ("fOo", &sz("3"))
    );
    assert_eq!(
        deleted[0].to_string(),
        r"HKCU\Software\regashii\repeated-key"
    );
    assert!(skipped[0].reason.ends_with("(first at line 7)"));

    let (keys, deleted, _) = load("regashii/simple-regedit4.reg");
    let path = r"HKCU\Software\regashii\simple";
    assert_eq!(value(&keys, path, ""), sz("default"));
    assert!(key(&keys, path).value("remove").is_none());
    assert_eq!(deleted[0].to_string(), r"HKCU\Software\regashii\remove");

    let (keys, _, _) = load("atlas/AtlasOS_software_export_utf16.reg");
    assert!(key(&keys, r"HKLM\SOFTWARE\AtlasOS").values.is_empty());
    let path = r"HKLM\SOFTWARE\AtlasOS\Services\Animation";
    assert_eq!(value(&keys, path, "state"), RegData::Dword(0));
    assert_eq!(
        value(&keys, path, "path"),
        sz(
            r"C:\Windows\AtlasDesktop\4. Interface Tweaks\Visual Effects (Animations)\Atlas Visual Effects (default).cmd"
        )
    );
}

/// How many services have each `Start` value.
fn start_histogram(name: &str) -> BTreeMap<u32, usize> {
    let (keys, _, _) = load(name);
    let mut out = BTreeMap::new();
    for entry in &keys {
        assert!(
            entry
                .key
                .path
                .starts_with(r"SYSTEM\CurrentControlSet\Services\")
        );
        match entry.value("Start").map(|v| &v.data) {
            Some(RegData::Dword(n)) => *out.entry(*n).or_default() += 1,
            other => panic!("{}: Start is {other:?}", entry.key),
        }
    }
    out
}

#[test]
fn start_types_of_default_services_and_drivers() {
    let services = "atlas/win10_20H2_default_services_start.reg";
    assert_eq!(
        start_histogram(services),
        BTreeMap::from([(2, 43), (3, 97), (4, 2)])
    );
    let (keys, _, _) = load(services);
    let alg = r"HKLM\SYSTEM\CurrentControlSet\Services\ALG";
    assert_eq!(value(&keys, alg, "Start"), RegData::Dword(3));
    assert_eq!(
        start_histogram("atlas/win10_20H2_default_drivers_start.reg"),
        BTreeMap::from([(0, 68), (1, 20), (2, 6), (3, 159), (4, 5)])
    );
}

/// How reading went: 0 loaded with nothing skipped, 1 loaded with lines skipped, 2 refused.
fn survives(input: &[u8], what: &str) -> usize {
    match parse_reg_export(input, "t.reg") {
        Ok((_, _, skipped)) => usize::from(!skipped.is_empty()),
        Err(d) => {
            assert!(
                matches!(d.code, Code::NotARegExport | Code::InvalidRegExport),
                "{what}: {}",
                d.code
            );
            assert!(d.position.is_some(), "{what}: no position");
            2
        }
    }
}

/// Where to cut a file: at every byte of its first 4 KiB (which holds every construct of every
/// file here: the larger files repeat one key-and-value block) and at every 29th byte after it, so
/// that cutting the three large files does not parse 600 MB (40 s unoptimized).
fn cuts(len: usize) -> impl Iterator<Item = usize> {
    (0..=len).filter(move |&end| end <= 4096 || end % 29 == 0 || end == len)
}

#[test]
fn every_truncation_loads_or_fails_with_a_code() {
    for name in files() {
        let whole = bytes(&name);
        for end in cuts(whole.len()) {
            survives(&whole[..end], &format!("{name} cut at {end}"));
        }
        // Cut at its end, a regedit file still loads; cut in its header, it is refused.
        assert_eq!(survives(&whole, &name) == 2, name == WINE, "{name}");
        assert_eq!(survives(&whole[..5], &name), 2, "{name}");
    }
}

#[test]
fn byte_mutations_load_or_fail_with_a_code() {
    const BYTES: &[u8] = b"\\\"[]-@=;:(),\r\n\0\xff\xfe\x80\xc30aF";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % below as u64).unwrap()
    };
    let mut outcomes = [0; 3];
    for name in files() {
        let whole = bytes(&name);
        for round in 0..300 {
            let mut mutated = whole.clone();
            for _ in 0..=next(4) {
                let at = next(mutated.len());
                let byte = BYTES[next(BYTES.len())];
                match next(3) {
                    0 => mutated[at] = byte,
                    1 => mutated.insert(at, byte),
                    _ => {
                        mutated.remove(at);
                    }
                }
            }
            outcomes[survives(&mutated, &format!("{name} mutation {round}"))] += 1;
        }
    }
    // The mutations reach every path: clean loads, skipped lines and refusals.
    assert!(outcomes.iter().all(|&n| n > 100), "{outcomes:?}");
}
