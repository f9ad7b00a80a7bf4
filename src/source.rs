//! Loaded rule files and locations in them.
//!
//! Owns [`Sources`] (every file handed to the compiler, by [`SourceId`]), [`Span`] (a byte range
//! in one file) and the mapping from byte offsets to lines and columns. Nothing here knows the
//! language; every later phase refers to text only through a `Span`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostics::{Code, Diagnostic};

/// Identifies one loaded file within a [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SourceId(pub(crate) u32);

impl SourceId {
    /// The position of the file in load order.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A byte range `start..end` in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// The file the range is in.
    pub source: SourceId,
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from byte offsets in `source`.
    pub fn new(source: SourceId, start: usize, end: usize) -> Span {
        Span {
            source,
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    /// The smallest span covering both (both must be in the same file).
    pub fn to(self, other: Span) -> Span {
        Span {
            source: self.source,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The length in bytes.
    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }

    /// Whether the span covers no bytes.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// A line and column, both counted from 1; the column counts characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    /// The line, from 1.
    pub line: u32,
    /// The column in characters, from 1.
    pub column: u32,
}

/// One loaded file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    name: String,
    text: Arc<str>,
    line_starts: Vec<u32>,
}

impl SourceFile {
    fn new(name: String, text: Arc<str>) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| u32::try_from(i + 1).unwrap_or(u32::MAX)),
        );
        SourceFile {
            name,
            text,
            line_starts,
        }
    }

    /// The name the file was loaded under (its path, or a label such as `<stdin>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The file's text, shared.
    pub fn shared_text(&self) -> Arc<str> {
        Arc::clone(&self.text)
    }

    /// The line and column of a byte offset (clamped to the file).
    pub fn line_col(&self, offset: u32) -> LineCol {
        let offset = offset.min(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(start as usize..offset as usize)
            .map_or(0, |s| s.chars().count());
        LineCol {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }

    /// The text a span covers, or `""` if the span is outside the file.
    pub fn slice(&self, span: Span) -> &str {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }
}

/// Every file given to the compiler.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

/// The largest rule file accepted, in bytes.
pub const MAX_FILE_SIZE: usize = 16 * 1024 * 1024;

impl Sources {
    /// No files.
    pub fn new() -> Sources {
        Sources::default()
    }

    /// Adds a file from its text.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> SourceId {
        let id = SourceId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile::new(name.into(), text.into()));
        id
    }

    /// Replaces the text of a file, which keeps its id (an editor's buffer that changed).
    pub fn set_text(&mut self, id: SourceId, text: impl Into<Arc<str>>) {
        if let Some(file) = self.files.get_mut(id.index()) {
            *file = SourceFile::new(std::mem::take(&mut file.name), text.into());
        }
    }

    /// Adds a file from raw bytes; text that is not UTF-8 is an error naming the byte offset.
    pub fn add_bytes(
        &mut self,
        name: impl Into<String>,
        bytes: &[u8],
    ) -> Result<SourceId, Diagnostic> {
        let name = name.into();
        if bytes.len() > MAX_FILE_SIZE {
            return Err(Diagnostic::global(
                Code::FileTooLarge,
                format!(
                    "`{name}` is {} bytes, more than the {MAX_FILE_SIZE} a rule file may hold",
                    bytes.len()
                ),
            )
            .with_file(name)
            .with_help("split the rules into several files"));
        }
        // A byte-order mark says "UTF-8"; it is not part of the text.
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(self.add(name, text)),
            Err(err) => {
                let offset = err.valid_up_to();
                let (line, column) = line_col_of_bytes(bytes, offset);
                Err(Diagnostic::global(
                    Code::InvalidUtf8,
                    format!("`{name}` is not UTF-8: invalid byte at offset {offset} (line {line}, column {column})"),
                )
                .with_file(name)
                .with_position(line, column)
                .with_help("save the file as UTF-8"))
            }
        }
    }

    /// Reads files and directories: a directory is searched recursively for `*.kbr` files, in
    /// sorted order so that results are deterministic. I/O problems come back as diagnostics.
    pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> (Sources, Vec<Diagnostic>) {
        let mut sources = Sources::new();
        let mut errors = Vec::new();
        let mut files = Vec::new();
        for path in paths {
            collect_files(path.as_ref(), true, &mut files, &mut errors);
        }
        for file in files {
            let name = file.display().to_string();
            match std::fs::read(&file) {
                Ok(bytes) => {
                    if let Err(diagnostic) = sources.add_bytes(name, &bytes) {
                        errors.push(diagnostic);
                    }
                }
                Err(err) => errors.push(io_error(&name, &err)),
            }
        }
        (sources, errors)
    }

    /// A file by id.
    pub fn get(&self, id: SourceId) -> Option<&SourceFile> {
        self.files.get(id.index())
    }

    /// Every file with its id, in load order.
    pub fn iter(&self) -> impl Iterator<Item = (SourceId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (SourceId(u32::try_from(i).unwrap_or(u32::MAX)), f))
    }

    /// How many files are loaded.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file is loaded.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The text a span covers.
    pub fn slice(&self, span: Span) -> &str {
        self.get(span.source).map_or("", |f| f.slice(span))
    }
}

fn io_error(name: &str, err: &std::io::Error) -> Diagnostic {
    Diagnostic::global(Code::Io, format!("cannot read `{name}`: {err}"))
        .with_file(name.to_string())
        .with_help("check the path and its permissions; directories are searched for `*.kbr` files")
}

fn collect_files(
    path: &Path,
    explicit: bool,
    out: &mut Vec<PathBuf>,
    errors: &mut Vec<Diagnostic>,
) {
    let name = path.display().to_string();
    let metadata = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(err) => {
            errors.push(io_error(&name, &err));
            return;
        }
    };
    if metadata.is_dir() {
        let entries = match std::fs::read_dir(path) {
            Ok(entries) => entries,
            Err(err) => {
                errors.push(io_error(&name, &err));
                return;
            }
        };
        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        children.sort();
        for child in children {
            collect_files(&child, false, out, errors);
        }
    } else if explicit || path.extension().is_some_and(|e| e == "kbr") {
        out.push(path.to_path_buf());
    }
}

fn line_col_of_bytes(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(before.get(line_start..).unwrap_or(&[]))
        .chars()
        .count()
        + 1;
    (line, column)
}
