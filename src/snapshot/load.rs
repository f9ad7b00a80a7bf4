//! Loading many inputs: in parallel, with progress, merged or one by one.
//!
//! Owns the order and the threads, not the formats: each file is read by
//! [`Snapshot::from_bytes_with`], directories are expanded as bundles are (sorted, hidden files
//! left out), and merged snapshots are merged by [`super::bundle::merge`]. Files are read by
//! up to as many threads as the machine has cores; results are kept in input order, so the
//! merge, and the first error reported, do not depend on which thread finished first.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{MAX_SNAPSHOT_SIZE, Snapshot, bundle, fingerprint};
use crate::diagnostics::{Code, Diagnostic};

/// Told how loading advances, in bytes of input read; shared by the loading threads.
pub trait Progress: Sync {
    /// Loading starts: this many bytes in all.
    fn start(&self, total: u64);
    /// This many more bytes were read.
    fn advance(&self, bytes: u64);
}

/// Progress that nobody watches.
struct Quiet;

impl Progress for Quiet {
    fn start(&self, _: u64) {}
    fn advance(&self, _: u64) {}
}

/// A file to read, with its size.
struct Input {
    path: PathBuf,
    size: u64,
}

fn io_error(path: &Path, err: &std::io::Error) -> Diagnostic {
    let name = path.display().to_string();
    Diagnostic::global(Code::Io, format!("cannot read `{name}`: {err}")).with_file(name)
}

/// The files an input path stands for: itself, or every file below a directory.
fn expand(path: &Path) -> Result<Vec<Input>, Diagnostic> {
    let files = if path.is_dir() {
        let files = bundle::files(path)?;
        if files.is_empty() {
            return Err(bundle::empty(path));
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    files
        .into_iter()
        .map(|path| {
            let size = std::fs::metadata(&path)
                .map_err(|e| io_error(&path, &e))?
                .len();
            Ok(Input { path, size })
        })
        .collect()
}

/// Reads one file, reporting progress as it goes and the rest of its size when done.
fn read(input: &Input, progress: &dyn Progress) -> Result<Snapshot, Diagnostic> {
    let name = input.path.display().to_string();
    if input.size > MAX_SNAPSHOT_SIZE {
        progress.advance(input.size);
        return Err(Diagnostic::global(
            Code::SnapshotTooLarge,
            format!(
                "`{name}` is {} bytes, more than the {MAX_SNAPSHOT_SIZE} a snapshot may hold",
                input.size
            ),
        )
        .with_file(name));
    }
    let bytes = std::fs::read(&input.path).map_err(|e| io_error(&input.path, &e));
    let reported = AtomicUsize::new(0);
    let result = bytes.and_then(|bytes| {
        Snapshot::from_bytes_with(&bytes, &name, &|n| {
            reported.fetch_add(usize::try_from(n).unwrap_or(usize::MAX), Ordering::Relaxed);
            progress.advance(n);
        })
    });
    let reported = u64::try_from(reported.load(Ordering::Relaxed)).unwrap_or(u64::MAX);
    progress.advance(input.size.saturating_sub(reported));
    result
}

/// Reads the files on up to as many threads as there are cores, in input order.
fn read_all(inputs: &[Input], progress: &dyn Progress) -> Vec<Result<Snapshot, Diagnostic>> {
    progress.start(inputs.iter().map(|i| i.size).sum());
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(inputs.len());
    if threads <= 1 {
        return inputs.iter().map(|i| read(i, progress)).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<Snapshot, Diagnostic>>>> =
        inputs.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let (Some(input), Some(slot)) = (inputs.get(i), results.get(i)) else {
                        break;
                    };
                    let result = read(input, progress);
                    if let Ok(mut slot) = slot.lock() {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .zip(inputs)
        .map(|(slot, input)| {
            slot.into_inner().ok().flatten().unwrap_or_else(|| {
                Err(Diagnostic::global(
                    Code::Internal,
                    format!("`{}` was not read", input.path.display()),
                ))
            })
        })
        .collect()
}

/// Merges the snapshots read from one group of inputs, in order; the first error is the
/// group's.
fn merge(
    parts: impl IntoIterator<Item = Result<Snapshot, Diagnostic>>,
    origin: String,
) -> Result<Snapshot, Diagnostic> {
    let mut merged = Snapshot::default();
    let mut hashes = Vec::new();
    for part in parts {
        let part = part?;
        hashes.extend_from_slice(&part.hash.to_le_bytes());
        bundle::merge(&mut merged, part);
    }
    merged.origin = origin;
    merged.hash = fingerprint(&hashes);
    merged.index();
    Ok(merged)
}

impl Snapshot {
    /// Reads several inputs and merges them into one snapshot, as a bundle is merged: files,
    /// and directories (every file below them), read in parallel, merged in the order given;
    /// what they hold is what was collected. `progress` is told how many bytes were read.
    pub fn load_merged(
        paths: &[impl AsRef<Path>],
        progress: Option<&dyn Progress>,
    ) -> Result<Snapshot, Diagnostic> {
        let progress = progress.unwrap_or(&Quiet);
        let mut inputs = Vec::new();
        for path in paths {
            inputs.extend(expand(path.as_ref())?);
        }
        let origin = paths
            .iter()
            .map(|p| p.as_ref().display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        merge(read_all(&inputs, progress), origin)
    }

    /// Reads several inputs, each into a snapshot of its own (a directory is one bundle), in
    /// parallel; the results are in the order given.
    pub fn load_each(
        paths: &[impl AsRef<Path>],
        progress: Option<&dyn Progress>,
    ) -> Vec<Result<Snapshot, Diagnostic>> {
        let progress = progress.unwrap_or(&Quiet);
        // Every file of every path, read together; then each path's files merged.
        let mut counts = Vec::new();
        let mut inputs = Vec::new();
        for path in paths {
            counts.push(expand(path.as_ref()).map(|files| {
                let n = files.len();
                inputs.extend(files);
                n
            }));
        }
        let mut read = read_all(&inputs, progress).into_iter();
        counts
            .into_iter()
            .zip(paths)
            .map(|(count, path)| {
                let parts: Vec<_> = read.by_ref().take(count?).collect();
                let path = path.as_ref();
                if path.is_dir() {
                    merge(parts, path.display().to_string())
                } else {
                    parts.into_iter().next().unwrap_or_else(|| {
                        Err(Diagnostic::global(
                            Code::Internal,
                            format!("`{}` was not read", path.display()),
                        ))
                    })
                }
            })
            .collect()
    }
}
