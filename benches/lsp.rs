//! The language server's answer to an edit, measured as an editor sees it: in a workspace of 200
//! rule files (the 191 of `rules/` and 9 more) and the library's rule test files, the time from a
//! `textDocument/didChange` to the last `textDocument/publishDiagnostics` of the analysis it
//! causes (the whole workspace checked again, the index rebuilt, the test files' cases checked
//! against it, the diagnostics of every file sent). The server runs in-process
//! over `lsp-server`'s memory connection, so the time is the server's, not a pipe's. Run with
//! `cargo bench --bench lsp`; `book/src/performance.md` has the numbers.

// Benchmark code fails loudly on a broken input, as tests may (clippy.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use divan::Bencher;
use lsp_server::{Connection, Message, Notification, Request};
use serde_json::json;

fn main() {
    divan::main();
}

/// Copies `rules/` (rule files and test files) and adds rule files up to 200; the path of the
/// file edited, and how many files get diagnostics.
fn workspace() -> &'static (tempfile::TempDir, PathBuf, usize) {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf, usize)> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let mut files = 0;
        let mut tests = 0;
        let mut edited = None;
        copy(&root, dir.path(), &mut files, &mut tests, &mut edited);
        while files < 200 {
            let text = format!(
                "rule EXTRA{files} {{\n    title    \"extra\"\n    when service \"S{files}\" stopped\n    diagnose \"d\"\n}}\n"
            );
            std::fs::write(dir.path().join(format!("extra{files}.kbr")), text).unwrap();
            files += 1;
        }
        (dir, edited.unwrap(), files + tests)
    })
}

fn copy(
    from: &Path,
    to: &Path,
    files: &mut usize,
    tests: &mut usize,
    edited: &mut Option<PathBuf>,
) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy(&path, &target, files, tests, edited);
        } else if path.to_string_lossy().ends_with(".tests.json") {
            std::fs::copy(&path, &target).unwrap();
            *tests += 1;
        } else if path.extension().is_some_and(|e| e == "kbr") {
            std::fs::copy(&path, &target).unwrap();
            *files += 1;
            if path.ends_with("exchange/imc.kbr") {
                *edited = Some(target);
            }
        }
    }
}

/// Waits for the diagnostics of every file of one analysis.
fn drain_analysis(client: &Connection, files: usize) {
    let mut seen = 0;
    while seen < files {
        if let Message::Notification(n) = client.receiver.recv().unwrap()
            && n.method == "textDocument/publishDiagnostics"
        {
            seen += 1;
        }
    }
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn diagnostics_after_a_change(bencher: Bencher) {
    let (dir, edited, files) = workspace();
    let (server, client) = Connection::memory();
    let thread = std::thread::spawn(move || kbrules::cli::lsp::serve(&server));
    let root = lsp_types::Url::from_directory_path(dir.path().canonicalize().unwrap()).unwrap();
    let init = Request::new(
        1.into(),
        "initialize".into(),
        json!({"processId": null, "rootUri": root, "capabilities": {}}),
    );
    client.sender.send(Message::Request(init)).unwrap();
    let _ = client.receiver.recv().unwrap(); // the response
    let note = Notification::new("initialized".into(), json!({}));
    client.sender.send(Message::Notification(note)).unwrap();
    drain_analysis(&client, *files);
    let uri = lsp_types::Url::from_file_path(edited.canonicalize().unwrap()).unwrap();
    let text = std::fs::read_to_string(edited).unwrap();
    let mut version = 0;
    bencher.bench_local(|| {
        version += 1;
        // Each edit changes the text: a comment line, then without it.
        let body = if version % 2 == 0 {
            text.clone()
        } else {
            format!("// edit\n{text}")
        };
        let change = Notification::new(
            "textDocument/didChange".into(),
            json!({"textDocument": {"uri": uri, "version": version},
                   "contentChanges": [{"text": body}]}),
        );
        client.sender.send(Message::Notification(change)).unwrap();
        drain_analysis(&client, *files);
    });
    let shutdown = Request::new(2.into(), "shutdown".into(), json!(null));
    client.sender.send(Message::Request(shutdown)).unwrap();
    let _ = client.receiver.recv();
    let exit = Notification::new("exit".into(), json!(null));
    client.sender.send(Message::Notification(exit)).unwrap();
    thread.join().unwrap().unwrap();
}
