//! The language server, spoken to as an editor speaks to it: `kbrules lsp` is started as a
//! process and driven with JSON-RPC messages over its standard input and output (initialize,
//! didOpen, didChange, hover, definition, references, completion, documentSymbol, formatting,
//! codeAction, shutdown, exit). The responses are snapshotted, with the workspace's path
//! written `<root>`.

// Test helpers fail loudly on a broken exchange, as the tests themselves may (clippy.toml).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use serde_json::{Value, json};

const SHARED: &str = r#"// Shared conditions and warnings.
condition imc_installed = service "MSExchangeIMC" present

warning registry_edit = "Back up the registry first."
"#;

const RULE: &str = r#"rule Q298565 {
    title    "Internet Mail Connector does not start, event 4086"
    severity error

    when event Application source "MSExchangeIMC" id 4086 as failure
     and imc_installed
    diagnose "The IMC did not start at {failure.time}."
    warn registry_edit
}
"#;

/// A language server process and what it has said.
struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
    /// Notifications received while waiting for responses.
    notifications: Vec<Value>,
    root: String,
}

impl Client {
    fn start(root: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kbrules"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("kbrules lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        length = n.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("a Content-Length header")];
                reader.read_exact(&mut body).unwrap();
                let value: Value = serde_json::from_slice(&body).expect("a JSON message");
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            messages: rx,
            next_id: 1,
            notifications: Vec::new(),
            root: root.canonicalize().unwrap().display().to_string(),
        }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn receive(&mut self) -> Value {
        match self.messages.recv_timeout(Duration::from_secs(20)) {
            Ok(v) => v,
            Err(RecvTimeoutError::Timeout) => panic!("no message from the server in 20 s"),
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive();
            if message.get("id") == Some(&json!(id)) {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return self.relative(message["result"].clone());
            }
            self.notifications.push(message);
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next diagnostics published for a file.
    fn diagnostics(&mut self, file: &str) -> Value {
        let uri = self.uri(file);
        loop {
            let position = self.notifications.iter().position(|n| {
                n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri
            });
            if let Some(i) = position {
                let note = self.notifications.remove(i);
                return self.relative(note["params"]["diagnostics"].clone());
            }
            let message = self.receive();
            self.notifications.push(message);
        }
    }

    fn uri(&self, file: &str) -> String {
        format!("file://{}/{file}", self.root)
    }

    /// A value with the workspace's path written `<root>`.
    fn relative(&self, value: Value) -> Value {
        let text = value.to_string().replace(&self.root, "<root>");
        serde_json::from_str(&text).unwrap()
    }

    fn at(&self, file: &str, line: u32, character: u32) -> Value {
        json!({
            "textDocument": {"uri": self.uri(file)},
            "position": {"line": line, "character": character},
        })
    }
}

/// A server started on `root` and initialized: the client, and the answer to `initialize`.
fn initialized(root: &Path) -> (Client, Value) {
    let mut client = Client::start(root);
    let root = client.uri("").trim_end_matches('/').to_string();
    let init = client.request(
        "initialize",
        json!({"processId": null, "rootUri": root, "capabilities": {}}),
    );
    client.notify("initialized", json!({}));
    (client, init)
}

/// Shuts the server down as an editor does; it must exit with success.
fn shut_down(mut client: Client) {
    let shutdown = client.request("shutdown", Value::Null);
    assert_eq!(shutdown, Value::Null);
    client.notify("exit", Value::Null);
    let status = client.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap()
}

#[test]
fn an_editor_session() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shared.kbr"), SHARED).unwrap();
    std::fs::write(dir.path().join("rule.kbr"), RULE).unwrap();
    let (mut client, init) = initialized(dir.path());
    insta::assert_snapshot!("initialize", pretty(&init));

    // The workspace is checked at once: the rule resolves the other file's condition.
    assert_eq!(client.diagnostics("rule.kbr"), json!([]));
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": client.uri("rule.kbr"), "languageId": "kbrules",
               "version": 1, "text": RULE}}),
    );
    assert_eq!(client.diagnostics("rule.kbr"), json!([]));

    // A misspelt condition: an error with the code `check` gives, and a quick fix.
    let broken = RULE.replace("and imc_installed", "and imc_instaled");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": client.uri("rule.kbr"), "version": 2},
               "contentChanges": [{"text": broken}]}),
    );
    let diagnostics = client.diagnostics("rule.kbr");
    insta::assert_snapshot!("diagnostics after a change", pretty(&diagnostics));
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": client.uri("rule.kbr")},
               "range": diagnostics[0]["range"],
               "context": {"diagnostics": diagnostics}}),
    );
    insta::assert_snapshot!("code action", pretty(&actions));
    let hover = client.request("textDocument/hover", client.at("rule.kbr", 5, 10));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        text.starts_with("**E0101**: unknown condition `imc_instaled`"),
        "{text}"
    );
    assert!(
        text.contains("## How to fix"),
        "the book's page follows: {text}"
    );

    // Fixed again, unformatted.
    let messy = RULE.replace("    severity error\n", "  severity   error\n");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": client.uri("rule.kbr"), "version": 3},
               "contentChanges": [{"text": messy}]}),
    );
    assert_eq!(client.diagnostics("rule.kbr"), json!([]));

    let hover = client.request("textDocument/hover", client.at("rule.kbr", 5, 10));
    insta::assert_snapshot!("hover on a condition", pretty(&hover));
    let hover = client.request("textDocument/hover", client.at("rule.kbr", 0, 7));
    insta::assert_snapshot!("hover on a rule", pretty(&hover));
    let definition = client.request("textDocument/definition", client.at("rule.kbr", 5, 10));
    insta::assert_snapshot!("definition", pretty(&definition));
    let references = client.request(
        "textDocument/references",
        json!({"textDocument": {"uri": client.uri("shared.kbr")},
               "position": {"line": 3, "character": 10},
               "context": {"includeDeclaration": true}}),
    );
    insta::assert_snapshot!("references of a warning", pretty(&references));
    let labels = |completion: Value| -> Vec<String> {
        let items = completion.as_array().unwrap().iter();
        items
            .map(|i| i["label"].as_str().unwrap().to_string())
            .collect()
    };
    let completion = client.request("textDocument/completion", client.at("rule.kbr", 7, 9));
    assert_eq!(
        labels(completion),
        ["registry_edit"],
        "after `warn`, the warnings"
    );
    let completion = client.request("textDocument/completion", client.at("rule.kbr", 5, 9));
    let labels = labels(completion);
    let has = |w: &str| labels.iter().any(|l| l == w);
    assert!(has("imc_installed") && has("event"), "{labels:?}");
    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": client.uri("shared.kbr")}}),
    );
    insta::assert_snapshot!("document symbols", pretty(&symbols));
    let formatting = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": client.uri("rule.kbr")},
               "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    assert_eq!(formatting[0]["newText"], json!(RULE));

    shut_down(client);
}

#[test]
fn a_root_with_a_rules_folder_is_checked_as_that_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::create_dir_all(dir.path().join("fixtures")).unwrap();
    std::fs::write(dir.path().join("rules/shared.kbr"), SHARED).unwrap();
    std::fs::write(dir.path().join("rules/rule.kbr"), RULE).unwrap();
    std::fs::write(
        dir.path().join("fixtures/broken.kbr"),
        "rule Q1 { when and }\n",
    )
    .unwrap();
    let (mut client, _) = initialized(dir.path());
    assert_eq!(client.diagnostics("rules/shared.kbr"), json!([]));
    // Answered after the first analysis: every diagnostic it published has arrived.
    client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": client.uri("rules/shared.kbr")}}),
    );
    let broken = client.uri("fixtures/broken.kbr");
    assert!(
        !client
            .notifications
            .iter()
            .any(|n| n["params"]["uri"] == broken),
        "a fixture outside rules/ was checked: {:?}",
        client.notifications
    );
    shut_down(client);
}

const TESTS: &str = r#"{
  "kbrules_tests": 1,
  "cases": [
    { "name": "fires", "rule": "Q298565", "verdict": "fired",
      "snapshot": { "kbrules_snapshot": 1 } },
    { "name": "a misspelt rule and a snapshot that is not there", "rule": "Q298556",
      "verdict": "not_fired", "snapshot": "fixtures/none.json" }
  ]
}
"#;

#[test]
fn rule_tests_are_part_of_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shared.kbr"), SHARED).unwrap();
    std::fs::write(dir.path().join("rule.kbr"), RULE).unwrap();
    std::fs::write(dir.path().join("rule.tests.json"), TESTS).unwrap();
    let (mut client, _) = initialized(dir.path());

    // A case of a rule the library lacks, and a snapshot path that names nothing.
    let diagnostics = client.diagnostics("rule.tests.json");
    insta::assert_snapshot!("test file diagnostics", pretty(&diagnostics));

    // The rule a case names: its title, its definition, and the case among its references.
    let hover = client.request("textDocument/hover", client.at("rule.tests.json", 3, 34));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("Internet Mail Connector does not start, event 4086"),
        "{text}"
    );
    let definition = client.request(
        "textDocument/definition",
        client.at("rule.tests.json", 3, 34),
    );
    assert_eq!(
        definition["uri"],
        json!(client.relative(json!(client.uri("rule.kbr"))))
    );
    assert_eq!(
        definition["range"]["start"],
        json!({"line": 0, "character": 5})
    );
    let references = client.request(
        "textDocument/references",
        json!({"textDocument": {"uri": client.uri("rule.kbr")},
               "position": {"line": 0, "character": 7},
               "context": {"includeDeclaration": false}}),
    );
    insta::assert_snapshot!("references of a rule with a test", pretty(&references));

    // Completion of rule ids inside a case's `"rule"`.
    let fixed = TESTS.replace("\"Q298556\"", "\"Q\"");
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": client.uri("rule.tests.json"), "languageId": "json",
               "version": 1, "text": fixed}}),
    );
    let diagnostics = client.diagnostics("rule.tests.json");
    assert_eq!(diagnostics.as_array().unwrap().len(), 2, "{diagnostics}");
    let completion = client.request(
        "textDocument/completion",
        client.at("rule.tests.json", 5, 76),
    );
    let labels: Vec<&str> = completion
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Q298565"]);

    // Text that is not a test file: one error, where the JSON breaks.
    let broken = TESTS.replace("\"verdict\": \"fired\",", "\"verdict\": \"fired\"");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": client.uri("rule.tests.json"), "version": 2},
               "contentChanges": [{"text": broken}]}),
    );
    let diagnostics = client.diagnostics("rule.tests.json");
    insta::assert_snapshot!("broken test file", pretty(&diagnostics));

    shut_down(client);
}
