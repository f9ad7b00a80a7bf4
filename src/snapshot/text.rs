//! Decoding the text Windows tools write: UTF-16LE (PowerShell 5's `>` and `Out-File`), or
//! 8-bit: UTF-8 when it is valid UTF-8, otherwise Windows-1252, the ANSI code page of Western
//! European Windows.

use std::borrow::Cow;

/// A file's text: UTF-16LE when it starts with that byte-order mark, or without one has a NUL
/// as its second byte (ASCII text in UTF-16LE); otherwise 8-bit, without a UTF-8 mark. Valid
/// UTF-8 is borrowed, not copied.
pub(crate) fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let utf16 = match bytes {
        [0xff, 0xfe, rest @ ..] => Some(rest),
        [first, 0, ..] if *first != 0 => Some(bytes),
        _ => None,
    };
    if let Some(rest) = utf16 {
        let units = rest.chunks_exact(2).map(|pair| {
            u16::from_le_bytes([
                pair.first().copied().unwrap_or(0),
                pair.get(1).copied().unwrap_or(0),
            ])
        });
        return Cow::Owned(
            char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect(),
        );
    }
    let rest = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(rest) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(rest.iter().map(|&b| windows_1252(b)).collect()),
    }
}

/// 8-bit text: UTF-8 when it is valid UTF-8, otherwise Windows-1252.
pub(crate) fn eight_bit(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

/// One Windows-1252 byte; the five bytes the code page leaves undefined map to the C1 controls
/// of the same number, as browsers read them.
pub(crate) fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9f => HIGH
            .get(usize::from(b - 0x80))
            .copied()
            .unwrap_or('\u{fffd}'),
        _ => char::from(b),
    }
}
