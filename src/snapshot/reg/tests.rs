//! Unit tests of the .reg reader: one per form of the format, on small texts.

use super::*;

const V5: &str = "Windows Registry Editor Version 5.00\r\n\r\n";
const V4: &str = "REGEDIT4\n\n";

fn read(text: &str) -> RegExport {
    match parse(text.as_bytes(), "t.reg") {
        Ok(export) => export,
        Err(d) => panic!("{}: {} at {:?}", d.code, d.message, d.position),
    }
}

fn error(bytes: &[u8]) -> Diagnostic {
    match parse(bytes, "t.reg") {
        Ok(export) => panic!("loaded {} keys", export.keys.len()),
        Err(d) => d,
    }
}

/// UTF-16LE with a byte-order mark, as regedit writes version 5 exports.
fn utf16(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    bytes
}

/// The data of the one value of a one-key file.
fn only(export: &RegExport) -> &RegData {
    assert_eq!(export.keys.len(), 1, "{:?}", export.keys);
    let values = &export.keys[0].values;
    assert_eq!(values.len(), 1, "{values:?}");
    &values[0].data
}

fn data(header: &str, line: &str) -> RegData {
    let export = read(&format!("{header}[HKEY_LOCAL_MACHINE\\K]\n{line}\n"));
    assert!(export.skipped.is_empty(), "{:?}", export.skipped);
    only(&export).clone()
}

fn reasons(export: &RegExport) -> Vec<(String, u64)> {
    export
        .skipped
        .iter()
        .map(|s| (s.reason.clone(), s.count))
        .collect()
}

#[test]
fn strings_dwords_and_binary() {
    assert_eq!(data(V5, r#""a"="text""#), RegData::Sz("text".into()));
    assert_eq!(data(V5, r#""a"="""#), RegData::Sz(String::new()));
    assert_eq!(data(V5, r#""a"=dword:000000ff"#), RegData::Dword(255));
    assert_eq!(data(V5, r#""a"=DWORD:FFFFFFFF"#), RegData::Dword(u32::MAX));
    assert_eq!(
        data(V5, r#""a"=hex:61,62"#),
        RegData::Binary(b"ab".to_vec())
    );
    assert_eq!(data(V5, r#""a"=hex:"#), RegData::Binary(Vec::new()));
    assert_eq!(data(V5, r#""a"=hex(3):01"#), RegData::Binary(vec![1]));
}

#[test]
fn every_hex_type() {
    assert_eq!(data(V5, r#""a"=hex(0):"#), RegData::Other(0, vec![]));
    assert_eq!(
        data(V5, r#""a"=hex(1):61,00,0a,00,62,00,00,00"#),
        RegData::Sz("a\nb".into())
    );
    assert_eq!(
        data(V5, r#""a"=hex(2):25,00,53,00,52,00,25,00,00,00"#),
        RegData::ExpandSz("%SR%".into())
    );
    assert_eq!(
        data(V5, r#""a"=hex(4):01,02,00,00"#),
        RegData::Dword(0x0201)
    );
    assert_eq!(data(V5, r#""a"=hex(4):00"#), RegData::Other(4, vec![0]));
    assert_eq!(
        data(V5, r#""a"=hex(5):00,00,01,00"#),
        RegData::Other(5, vec![0, 0, 1, 0])
    );
    assert_eq!(
        data(V5, r#""a"=hex(7):61,00,00,00,62,00,00,00,00,00"#),
        RegData::MultiSz(vec!["a".into(), "b".into()])
    );
    assert_eq!(data(V5, r#""a"=hex(7):00,00"#), RegData::MultiSz(vec![]));
    assert_eq!(
        data(V5, r#""a"=hex(b):ff,00,00,00,00,00,00,01"#),
        RegData::Qword(0x0100_0000_0000_00ff)
    );
    assert_eq!(data(V5, r#""a"=hex(b):ff"#), RegData::Other(11, vec![0xff]));
    assert_eq!(data(V5, r#""a"=hex(a):01"#), RegData::Other(10, vec![1]));
    assert_eq!(
        data(V5, r#""a"=hex(100000):01"#),
        RegData::Other(0x10_0000, vec![1])
    );
}

#[test]
fn regedit4_strings_in_hex_are_8_bit() {
    assert_eq!(
        data(V4, r#""a"=hex(2):25,53,52,25,00"#),
        RegData::ExpandSz("%SR%".into())
    );
    assert_eq!(
        data(V4, r#""a"=hex(7):61,00,62,00,00"#),
        RegData::MultiSz(vec!["a".into(), "b".into()])
    );
    // UTF-8 when valid, Windows-1252 otherwise.
    assert_eq!(data(V4, r#""a"=hex(1):c3,a9,00"#), RegData::Sz("é".into()));
    assert_eq!(data(V4, r#""a"=hex(1):e9,80,00"#), RegData::Sz("é€".into()));
    // The same bytes in a version 5 file are UTF-16LE.
    assert_eq!(
        data(V5, r#""a"=hex(2):25,53,52,25,00,00"#),
        RegData::ExpandSz("\u{5325}\u{2552}".into())
    );
}

#[test]
fn multi_strings_drop_empty_strings() {
    assert_eq!(
        data(V5, r#""a"=hex(7):61,00,00,00,00,00,62,00,00,00,00,00"#),
        RegData::MultiSz(vec!["a".into(), "b".into()])
    );
    assert_eq!(
        data(V4, r#""a"=hex(7):61,00,00,62,00"#),
        RegData::MultiSz(vec!["a".into(), "b".into()])
    );
}

#[test]
fn default_value_and_escapes() {
    let export = read(&format!(
        "{V5}[HKEY_CURRENT_USER\\K]\n@=\"d\"\n\"a\\\\b\\\"c\"=\"x\\\\y\\\"z\\q\"\n"
    ));
    let values = &export.keys[0].values;
    assert_eq!(values[0].name, "");
    assert_eq!(values[0].data, RegData::Sz("d".into()));
    assert_eq!(values[1].name, r#"a\b"c"#);
    assert_eq!(values[1].data, RegData::Sz(r#"x\y"z\q"#.into()));
    assert_eq!(export.keys[0].value("(Default)"), Some(&values[0]));
}

#[test]
fn hex_data_continues_after_a_backslash() {
    let export = read(&format!(
        "{V5}[HKEY_LOCAL_MACHINE\\K]\n\"a\"=hex:00,\\\n  01,\\ ; comment\n\t02\n\"b\"=dword:00000001\n"
    ));
    assert_eq!(
        export.keys[0].values[0].data,
        RegData::Binary(vec![0, 1, 2])
    );
    assert_eq!(export.keys[0].values[1].data, RegData::Dword(1));
    assert!(export.skipped.is_empty());
}

#[test]
fn a_cut_off_continuation_is_skipped_and_the_next_value_kept() {
    let export = read(&format!(
        "{V5}[HKEY_LOCAL_MACHINE\\K]\n\"a\"=hex:00,\\\n\"b\"=dword:00000001\n\"c\"=hex:01,\\\n"
    ));
    assert_eq!(export.keys[0].values.len(), 1);
    assert_eq!(export.keys[0].values[0].name, "b");
    assert_eq!(
        reasons(&export),
        vec![(format!("{CUT_OFF} (first at line 4)"), 2)]
    );
}

#[test]
fn comments_are_ignored() {
    let export = read(
        "Windows Registry Editor Version 5.00 ;c\n; one\n  ; two\n[HKEY_LOCAL_MACHINE\\K] ; key\n\
         \"a;b\"=\"c;d\" ; e\n\"n\"=dword:00000002;x\n",
    );
    let values = &export.keys[0].values;
    assert_eq!(values[0].name, "a;b");
    assert_eq!(values[0].data, RegData::Sz("c;d".into()));
    assert_eq!(values[1].data, RegData::Dword(2));
    assert!(export.skipped.is_empty());
}

#[test]
fn deletions_apply_in_file_order() {
    let export = read(&format!(
        "{V5}[HKEY_LOCAL_MACHINE\\A]\n\"x\"=\"1\"\n\"y\"=\"2\"\n\"Y\"=-\n\"z\"=-\n\
         [HKEY_LOCAL_MACHINE\\B\\C]\n[-HKEY_LOCAL_MACHINE\\b]\n\"lost\"=\"1\"\n\
         [-HKEY_LOCAL_MACHINE\\B]\n[HKEY_LOCAL_MACHINE\\B]\n\"back\"=\"1\"\n"
    ));
    let names: Vec<String> = export.keys.iter().map(|k| k.key.to_string()).collect();
    assert_eq!(names, ["HKLM\\A", "HKLM\\B"]);
    assert_eq!(export.keys[0].values.len(), 1);
    assert_eq!(export.keys[0].values[0].name, "x");
    assert_eq!(export.keys[1].values[0].name, "back");
    let deleted: Vec<String> = export.deleted_keys.iter().map(|k| k.to_string()).collect();
    assert_eq!(deleted, ["HKLM\\b"]);
    assert_eq!(
        reasons(&export),
        vec![(format!("{DELETED_KEY} (first at line 10)"), 1)]
    );
}

#[test]
fn a_key_listed_twice_is_merged() {
    let export = read(&format!(
        "{V5}[HKEY_LOCAL_MACHINE\\Soft]\n\"a\"=\"1\"\n[HKEY_LOCAL_MACHINE\\SOFT]\n\"A\"=\"2\"\n\"b\"=\"3\"\n"
    ));
    assert_eq!(export.keys.len(), 1);
    assert_eq!(export.keys[0].key.path, "Soft");
    let values: Vec<(&str, RegData)> = export.keys[0]
        .values
        .iter()
        .map(|v| (v.name.as_str(), v.data.clone()))
        .collect();
    assert_eq!(
        values,
        [
            ("a", RegData::Sz("2".into())),
            ("b", RegData::Sz("3".into()))
        ]
    );
}

#[test]
fn regedit4_and_version_5_headers() {
    for header in [
        V4,
        V5,
        "regedit4\n",
        "Windows Registry Editor Version 5.00 \n",
    ] {
        let text = format!("{header}[HKEY_USERS\\.DEFAULT]\n\"a\"=\"b\"\n");
        assert!(is_reg(text.as_bytes()), "{header}");
        assert_eq!(read(&text).keys.len(), 1);
    }
    for text in ["", "REGEDIT", "REGEDIT40\n", "{\"kbrules_snapshot\": 1}"] {
        assert!(!is_reg(text.as_bytes()), "{text}");
        assert_eq!(error(text.as_bytes()).code, Code::NotARegExport, "{text}");
    }
}

#[test]
fn utf16le_with_a_byte_order_mark() {
    let text = format!(
        "{V5}[HKEY_CURRENT_USER\\日本語]\r\n\"sz-あ\"=\"あ\"\r\n\"e\"=hex(2):42,30,00,00\r\n"
    );
    let bytes = utf16(&text);
    assert!(is_reg(&bytes));
    let export = parse(&bytes, "t.reg").unwrap();
    assert_eq!(export.keys[0].key.path, "日本語");
    assert_eq!(export.keys[0].values[0].name, "sz-あ");
    assert_eq!(export.keys[0].values[0].data, RegData::Sz("あ".into()));
    assert_eq!(
        export.keys[0].values[1].data,
        RegData::ExpandSz("あ".into())
    );
    // Without the mark too, and an odd last byte is counted.
    let mut bare = bytes[2..].to_vec();
    assert!(is_reg(&bare));
    bare.push(b'x');
    let export = parse(&bare, "t.reg").unwrap();
    assert_eq!(export.keys[0].values.len(), 2);
    assert_eq!(export.skipped.len(), 1);
    assert!(export.skipped[0].reason.starts_with(ODD_BYTE));
}

#[test]
fn utf8_with_a_mark_and_windows_1252_without() {
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend(format!("{V4}[HKEY_LOCAL_MACHINE\\Caf\u{e9}]\n").as_bytes());
    assert!(is_reg(&bytes));
    assert_eq!(parse(&bytes, "t.reg").unwrap().keys[0].key.path, "Café");
    let ansi = b"REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\Caf\xe9]\r\n\"\x80\"=\"\x93x\x94\"\r\n";
    let export = parse(ansi, "t.reg").unwrap();
    assert_eq!(export.keys[0].key.path, "Café");
    assert_eq!(export.keys[0].values[0].name, "€");
    assert_eq!(export.keys[0].values[0].data, RegData::Sz("“x”".into()));
}

#[test]
fn malformed_value_lines_are_skipped_and_counted() {
    let export = read(&format!(
        "{V5}\"orphan\"=\"1\"\n[HKEY_LOCAL_MACHINE\\K]\n\"a\"=dword:00000000\\\n\"b\"=dword:1234567890\n\
         \"c\"=hex:0g\n\"d\"=str:\"x\"\n\"e\"\"f\"\n\"g=\"1\"\ngarbage\n\"ok\"=\"1\"\n"
    ));
    assert_eq!(export.keys[0].values.len(), 1);
    assert_eq!(
        reasons(&export),
        vec![
            (format!("{NO_KEY} (first at line 3)"), 1),
            (format!("{BAD_VALUE} (first at line 5)"), 6),
            (format!("{NOT_A_LINE} (first at line 11)"), 1),
        ]
    );
}

#[test]
fn key_lines_that_cannot_be_read_are_errors_with_a_position() {
    let d = error(format!("{V4}[HKEY_LOCAL_MACHINE\\K]\n\n  [HKEY_LOCAL_MACHIN\\X]\n").as_bytes());
    assert_eq!(d.code, Code::InvalidRegExport);
    assert_eq!(d.message, "`HKEY_LOCAL_MACHIN` is not a registry hive");
    assert_eq!(d.position, Some((5, 4)));
    assert_eq!(d.file.as_deref(), Some("t.reg"));
    let d = error(format!("{V4}[-HKEY_LOCAL_MACHINE\\K\n").as_bytes());
    assert_eq!((d.code, d.position), (Code::InvalidRegExport, Some((3, 1))));
    let d = error(format!("{V4}[]\n").as_bytes());
    assert_eq!((d.code, d.position), (Code::InvalidRegExport, Some((3, 2))));
}

#[test]
fn hives_a_snapshot_does_not_hold_are_skipped() {
    let export = read(&format!(
        "{V4}[HKEY_DYN_DATA\\PerfStats]\n\"a\"=\"1\"\n[HKEY_LOCAL_MACHINE\\K]\n\"b\"=\"2\"\n"
    ));
    assert_eq!(export.keys.len(), 1);
    assert_eq!(
        reasons(&export),
        vec![(format!("{HIVE_NOT_HELD} (first at line 3)"), 2)]
    );
}

#[test]
fn key_names_run_to_the_last_bracket() {
    let export = read(&format!(
        "{V5} [HKEY_CURRENT_USER\\a\\\\b]\";c] addendum ; d\n@=\"\"\n"
    ));
    assert_eq!(export.keys[0].key.to_string(), "HKCU\\a\\b]\";c");
}

#[test]
fn wine_registry_files_are_refused_clearly() {
    let text = b"WINE REGISTRY Version 2\n;; All keys relative to HKEY_CURRENT_USER\n\n[Software\\\\x] 1729718050\n";
    assert!(is_reg(text));
    let d = error(text);
    assert_eq!(d.code, Code::NotARegExport);
    assert!(d.message.contains("Wine"), "{}", d.message);
    assert!(d.help.is_some_and(|h| h.contains("regedit /e")));
}

#[test]
fn concatenated_exports_switch_version_at_each_header() {
    let export = read(&format!(
        "{V5}[HKEY_LOCAL_MACHINE\\A]\n\"a\"=hex(2):61,00,00,00\n{V4}[HKEY_LOCAL_MACHINE\\B]\n\"b\"=hex(2):61,00\n"
    ));
    assert_eq!(export.keys[0].values[0].data, RegData::ExpandSz("a".into()));
    assert_eq!(export.keys[1].values[0].data, RegData::ExpandSz("a".into()));
    assert!(export.skipped.is_empty());
}

#[test]
fn lines_may_end_in_cr_lf_lf_or_a_lone_cr() {
    for end in ["\r\n", "\n", "\r"] {
        let text =
            format!("REGEDIT4{end}{end}[HKEY_LOCAL_MACHINE\\K]{end}\"a\"=hex:00,\\{end}  01{end}");
        assert_eq!(only(&read(&text)), &RegData::Binary(vec![0, 1]), "{end:?}");
        assert_eq!(
            only(&parse(&utf16(&text), "t.reg").unwrap()),
            &RegData::Binary(vec![0, 1])
        );
    }
}
