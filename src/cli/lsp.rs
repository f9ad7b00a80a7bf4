//! `kbrules lsp`: a language server over standard input and output.
//!
//! Built on `lsp-server`, the synchronous scaffold rust-analyzer uses: one thread reads and
//! writes messages, and the main loop handles them in order. Every request the server answers
//! is fast (a whole library checks in milliseconds), so there is no async runtime, and a burst
//! of edits is folded into one analysis: the loop handles every message already queued before
//! it checks the workspace again.
//!
//! The workspace is every `*.kbr` file under the root folder, read at start, with the open
//! documents' text in place of what is on disk. It is checked as one library, as
//! `kbrules check` checks it, so a rule that uses a condition of another file resolves. The rule
//! test files beside the rules (`*.tests.json`) are part of it: their errors, and the rule ids
//! their cases name, for hover, definition, references and completion.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{self as lsp, Url};

use super::{EXIT_OK, EXIT_USAGE};
use crate::diagnostics::{Diagnostic, Severity};
use crate::ide::{self, Context, Index, SymbolKind};
use crate::source::{SourceId, Sources, Span};
use crate::testing::{Fixture, TEST_FILE_SUFFIX, parse_test_file};

pub(super) fn run() -> u8 {
    let (connection, io_threads) = Connection::stdio();
    let code = match serve(&connection) {
        Ok(()) => EXIT_OK,
        Err(message) => {
            eprintln!("kbrules lsp: {message}");
            EXIT_USAGE
        }
    };
    drop(connection);
    let _ = io_threads.join();
    code
}

/// The capabilities the server offers.
fn capabilities() -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Kind(
            lsp::TextDocumentSyncKind::FULL,
        )),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        references_provider: Some(lsp::OneOf::Left(true)),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Simple(true)),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec!["\"".into(), " ".into()]),
            ..lsp::CompletionOptions::default()
        }),
        ..lsp::ServerCapabilities::default()
    }
}

/// Runs the protocol: initialization, then messages until `exit`.
pub fn serve(connection: &Connection) -> Result<(), String> {
    let (id, params) = connection
        .initialize_start()
        .map_err(|e| format!("initialization failed: {e}"))?;
    let params: lsp::InitializeParams =
        serde_json::from_value(params).map_err(|e| format!("bad initialize parameters: {e}"))?;
    let result = serde_json::json!({
        "capabilities": capabilities(),
        "serverInfo": { "name": "kbrules", "version": env!("CARGO_PKG_VERSION") },
    });
    connection
        .initialize_finish(id, result)
        .map_err(|e| format!("initialization failed: {e}"))?;
    let mut server = Server::new(root_of(&params));
    server.load_workspace();
    server.analyze(connection);
    loop {
        let Ok(message) = connection.receiver.recv() else {
            return Ok(());
        };
        let mut changed = false;
        let mut next = Some(message);
        // Everything already queued is handled before the workspace is checked again.
        while let Some(message) = next.take() {
            match message {
                Message::Request(request) => {
                    if connection.handle_shutdown(&request).unwrap_or(true) {
                        return Ok(());
                    }
                    if changed {
                        server.analyze(connection);
                        changed = false;
                    }
                    let response = server.request(request);
                    let _ = connection.sender.send(Message::Response(response));
                }
                Message::Notification(note) if note.method == "exit" => return Ok(()),
                Message::Notification(note) => changed |= server.notification(note),
                Message::Response(_) => {}
            }
            next = connection.receiver.try_recv().ok();
        }
        if changed {
            server.analyze(connection);
        }
    }
}

fn root_of(params: &lsp::InitializeParams) -> Option<PathBuf> {
    let from_folders = params
        .workspace_folders
        .as_ref()
        .and_then(|f| f.first())
        .and_then(|f| f.uri.to_file_path().ok());
    #[allow(deprecated)] // `rootUri` is what older clients send
    let from_root = params.root_uri.as_ref().and_then(|u| u.to_file_path().ok());
    from_folders.or(from_root)
}

/// A rule file or a rule test file of the workspace.
struct Document {
    text: String,
    /// Open in the editor: its text is the editor's, not the disk's.
    open: bool,
}

/// What a rule test file says: read again only when its text changes, since a library's test
/// files are megabytes of JSON.
#[derive(Default)]
struct TestFacts {
    /// The text they were read from.
    text: String,
    /// The rule ids its cases name: where (quotes included), and the id.
    rules: Vec<(Range<usize>, String)>,
    /// What the text alone shows: where it does not read, and snapshot paths that name nothing.
    read_errors: Vec<lsp::Diagnostic>,
    /// Those, and the cases of rules the library lacks, as of the last analysis.
    diagnostics: Vec<lsp::Diagnostic>,
}

struct Server {
    root: Option<PathBuf>,
    documents: BTreeMap<PathBuf, Document>,
    /// The rule test files, apart: they are not rule text.
    tests: BTreeMap<PathBuf, Document>,
    test_facts: HashMap<PathBuf, TestFacts>,
    /// The workspace as last analysed: a file keeps its id while the server runs (a file that
    /// is gone keeps its id with no text), so the parse of a file that did not change is kept.
    sources: Sources,
    ids: HashMap<PathBuf, SourceId>,
    parsed: HashMap<SourceId, crate::check::Parsed>,
    index: Index,
    diagnostics: HashMap<PathBuf, Vec<Diagnostic>>,
    /// The files diagnostics were last published for, to clear those that have none now.
    published: Vec<PathBuf>,
}

impl Server {
    fn new(root: Option<PathBuf>) -> Server {
        Server {
            root,
            documents: BTreeMap::new(),
            tests: BTreeMap::new(),
            test_facts: HashMap::new(),
            sources: Sources::new(),
            ids: HashMap::new(),
            parsed: HashMap::new(),
            index: Index::default(),
            diagnostics: HashMap::new(),
            published: Vec::new(),
        }
    }

    /// Reads the workspace: the `rules/` folder of the root when it has one (as `kbrules check`
    /// reads `rules/` by default, so that fixtures elsewhere in a repository are not taken for
    /// the library), else every rule file under the root.
    fn load_workspace(&mut self) {
        let Some(root) = &self.root else { return };
        let rules = root.join("rules");
        let folder = if rules.is_dir() { rules } else { root.clone() };
        let (sources, _) = Sources::load_paths(std::slice::from_ref(&folder));
        for (_, file) in sources.iter() {
            self.documents.insert(
                PathBuf::from(file.name()),
                Document {
                    text: file.text().to_string(),
                    open: false,
                },
            );
        }
        let mut tests = Vec::new();
        crate::testing::collect(&folder, false, &mut tests, &mut Vec::new());
        for path in tests {
            if let Ok(text) = std::fs::read_to_string(&path) {
                self.tests.insert(path, Document { text, open: false });
            }
        }
    }

    /// Checks the whole workspace and publishes every file's diagnostics.
    fn analyze(&mut self, connection: &Connection) {
        for (path, doc) in &self.documents {
            match self.ids.get(path) {
                Some(&id) => {
                    if self.sources.get(id).is_some_and(|f| f.text() != doc.text) {
                        self.sources.set_text(id, doc.text.as_str());
                        self.parsed.remove(&id);
                    }
                }
                None => {
                    let id = self
                        .sources
                        .add(path.display().to_string(), doc.text.as_str());
                    self.ids.insert(path.clone(), id);
                }
            }
        }
        let gone: Vec<PathBuf> = self
            .ids
            .keys()
            .filter(|p| !self.documents.contains_key(*p))
            .cloned()
            .collect();
        for path in gone {
            if let Some(id) = self.ids.remove(&path) {
                self.sources.set_text(id, "");
                self.parsed.remove(&id);
            }
        }
        let sources = &self.sources;
        let checked = crate::check_cached(sources, &mut self.parsed);
        self.index = Index::from_files(sources, &checked.files);
        let mut by_file: HashMap<PathBuf, Vec<Diagnostic>> = HashMap::new();
        for d in checked.diagnostics {
            let Some(file) = d
                .span
                .and_then(|s| sources.get(s.source))
                .map(|f| PathBuf::from(f.name()))
            else {
                continue;
            };
            by_file.entry(file).or_default().push(d);
        }
        self.test_facts
            .retain(|path, _| self.tests.contains_key(path));
        for (path, doc) in &self.tests {
            if self
                .test_facts
                .get(path)
                .is_none_or(|facts| facts.text != doc.text)
            {
                let facts = TestFacts::read(path, &doc.text);
                self.test_facts.insert(path.clone(), facts);
            }
            if let Some(facts) = self.test_facts.get_mut(path) {
                facts.check(&self.index);
            }
        }
        let mut published = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let files = self.documents.keys().chain(self.tests.keys());
        for path in files.chain(self.published.iter()) {
            if !seen.insert(path) {
                continue;
            }
            let Ok(uri) = Url::from_file_path(path) else {
                continue;
            };
            let list: Vec<lsp::Diagnostic> = match self.test_facts.get(path) {
                Some(facts) => facts.diagnostics.clone(),
                None => by_file
                    .get(path)
                    .map(|ds| ds.iter().map(|d| to_lsp_diagnostic(sources, d)).collect())
                    .unwrap_or_default(),
            };
            let params = lsp::PublishDiagnosticsParams {
                uri,
                diagnostics: list,
                version: None,
            };
            let note = Notification::new(
                lsp::notification::PublishDiagnostics::METHOD.to_string(),
                params,
            );
            let _ = connection.sender.send(Message::Notification(note));
            if self.documents.contains_key(path) || self.tests.contains_key(path) {
                published.push(path.clone());
            }
        }
        self.published = published;
        self.diagnostics = by_file;
    }

    /// Handles a notification; whether the workspace changed.
    fn notification(&mut self, note: Notification) -> bool {
        use lsp::notification as n;
        match note.method.as_str() {
            n::DidOpenTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp::DidOpenTextDocumentParams>(note.params)
                else {
                    return false;
                };
                self.set_text(&p.text_document.uri, p.text_document.text, true)
            }
            n::DidChangeTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp::DidChangeTextDocumentParams>(note.params)
                else {
                    return false;
                };
                // Full synchronization: the last change is the whole text.
                match p.content_changes.into_iter().next_back() {
                    Some(change) => self.set_text(&p.text_document.uri, change.text, true),
                    None => false,
                }
            }
            n::DidCloseTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp::DidCloseTextDocumentParams>(note.params)
                else {
                    return false;
                };
                let Ok(path) = p.text_document.uri.to_file_path() else {
                    return false;
                };
                // The file is what is on disk again, or gone if it is not there.
                match std::fs::read_to_string(&path) {
                    Ok(text) => self.set_text(&p.text_document.uri, text, false),
                    Err(_) => self.remove(&path),
                }
            }
            n::DidChangeWatchedFiles::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp::DidChangeWatchedFilesParams>(note.params)
                else {
                    return false;
                };
                let mut changed = false;
                for event in p.changes {
                    let Ok(path) = event.uri.to_file_path() else {
                        continue;
                    };
                    if path.extension().is_none_or(|e| e != "kbr") && !is_test_file(&path) {
                        continue;
                    }
                    let path = self.workspace_path(&path);
                    // An open document's text is the editor's; the disk catches up on save.
                    if self.files(&path).get(&path).is_some_and(|d| d.open) {
                        continue;
                    }
                    changed |= match std::fs::read_to_string(&path) {
                        Ok(text) => {
                            let doc = Document { text, open: false };
                            self.files_mut(&path).insert(path, doc);
                            true
                        }
                        Err(_) => self.remove(&path),
                    };
                }
                changed
            }
            _ => false,
        }
    }

    fn set_text(&mut self, uri: &Url, text: String, open: bool) -> bool {
        let Ok(path) = uri.to_file_path() else {
            return false;
        };
        let path = self.workspace_path(&path);
        self.files_mut(&path).insert(path, Document { text, open });
        true
    }

    /// The rule files, or the test files when `path` names one.
    fn files(&self, path: &Path) -> &BTreeMap<PathBuf, Document> {
        match is_test_file(path) {
            true => &self.tests,
            false => &self.documents,
        }
    }

    fn files_mut(&mut self, path: &Path) -> &mut BTreeMap<PathBuf, Document> {
        match is_test_file(path) {
            true => &mut self.tests,
            false => &mut self.documents,
        }
    }

    /// Forgets a file; whether it was known.
    fn remove(&mut self, path: &Path) -> bool {
        self.files_mut(path).remove(path).is_some()
    }

    /// The key a file has in the workspace: the path it was loaded under when it was, so that
    /// an editor's absolute path and the scan's path name one file.
    fn workspace_path(&self, path: &Path) -> PathBuf {
        let files = self.files(path);
        if files.contains_key(path) {
            return path.to_path_buf();
        }
        let canonical = std::fs::canonicalize(path).ok();
        files
            .keys()
            .find(|k| canonical.is_some() && std::fs::canonicalize(k).ok() == canonical)
            .cloned()
            .unwrap_or_else(|| path.to_path_buf())
    }

    /// The rule id a test file names at a position: the test file's path, the id's place, and
    /// the id.
    fn test_rule_at(
        &self,
        pos: &lsp::TextDocumentPositionParams,
    ) -> Option<(PathBuf, Range<usize>, String)> {
        let path = pos.text_document.uri.to_file_path().ok()?;
        if !is_test_file(&path) {
            return None;
        }
        let path = self.workspace_path(&path);
        let text = &self.tests.get(&path)?.text;
        let offset = offset_of(text, pos.position)?;
        let facts = self.test_facts.get(&path)?;
        let (range, id) = facts
            .rules
            .iter()
            .find(|(range, _)| range.start <= offset && offset <= range.end)?;
        Some((path, range.clone(), id.clone()))
    }

    /// Every place a test file names a rule.
    fn test_references(&self, rule: &str) -> Vec<lsp::Location> {
        let mut found = Vec::new();
        for (path, facts) in &self.test_facts {
            let Some(doc) = self.tests.get(path) else {
                continue;
            };
            for (range, _) in facts
                .rules
                .iter()
                .filter(|(_, id)| id.eq_ignore_ascii_case(rule))
            {
                let range = lsp::Range {
                    start: position_of(&doc.text, range.start),
                    end: position_of(&doc.text, range.end),
                };
                if let Some(uri) = uri_of(path) {
                    found.push(lsp::Location { uri, range });
                }
            }
        }
        found.sort_by(|a, b| {
            (a.uri.as_str(), a.range.start.line).cmp(&(b.uri.as_str(), b.range.start.line))
        });
        found
    }

    fn request(&mut self, request: Request) -> Response {
        use lsp::request as r;
        let id = request.id.clone();
        let result = match request.method.as_str() {
            r::HoverRequest::METHOD => self.with(request, Server::hover),
            r::GotoDefinition::METHOD => self.with(request, Server::definition),
            r::References::METHOD => self.with(request, Server::references),
            r::Completion::METHOD => self.with(request, Server::completion),
            r::DocumentSymbolRequest::METHOD => self.with(request, Server::symbols),
            r::Formatting::METHOD => self.with(request, Server::formatting),
            r::CodeActionRequest::METHOD => self.with(request, Server::code_actions),
            other => Err((
                ErrorCode::MethodNotFound,
                format!("kbrules lsp does not handle {other}"),
            )),
        };
        match result {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        }
    }

    fn with<P: serde::de::DeserializeOwned, R: serde::Serialize>(
        &self,
        request: Request,
        f: fn(&Server, P) -> Option<R>,
    ) -> Result<serde_json::Value, (ErrorCode, String)> {
        let params: P = serde_json::from_value(request.params)
            .map_err(|e| (ErrorCode::InvalidParams, e.to_string()))?;
        serde_json::to_value(f(self, params)).map_err(|e| (ErrorCode::InternalError, e.to_string()))
    }

    /// The file, its id in the last analysis and its text.
    fn file(&self, uri: &Url) -> Option<(SourceId, &str)> {
        let path = self.workspace_path(&uri.to_file_path().ok()?);
        let id = *self.ids.get(&path)?;
        Some((id, self.sources.get(id)?.text()))
    }

    fn offset(&self, pos: &lsp::TextDocumentPositionParams) -> Option<(SourceId, &str, u32)> {
        let (id, text) = self.file(&pos.text_document.uri)?;
        let offset = offset_of(text, pos.position)?;
        Some((id, text, u32::try_from(offset).ok()?))
    }

    fn location(&self, span: Span) -> Option<lsp::Location> {
        let file = self.sources.get(span.source)?;
        Some(lsp::Location {
            uri: uri_of(Path::new(file.name()))?,
            range: range_of(file.text(), span),
        })
    }

    fn hover(&self, p: lsp::HoverParams) -> Option<lsp::Hover> {
        if let Some((_, _, rule)) = self.test_rule_at(&p.text_document_position_params) {
            let markdown = match self.index.definition(SymbolKind::Rule, &rule) {
                Some(symbol) => symbol.detail.clone(),
                None => format!("rule `{rule}` is not declared"),
            };
            return Some(markdown_hover(markdown));
        }
        let (id, _, offset) = self.offset(&p.text_document_position_params)?;
        let markdown = match self.index.at(id, offset) {
            Some((kind, name)) => match self.index.definition(kind, &name) {
                Some(symbol) => symbol.detail.clone(),
                None => format!("{} `{name}` is not declared", kind.keyword()),
            },
            None => {
                // On a diagnostic: the explanation of its code.
                let path = PathBuf::from(self.sources.get(id)?.name());
                let d = self.diagnostics.get(&path)?.iter().find(|d| {
                    d.span
                        .is_some_and(|s| s.start <= offset && offset <= s.end.max(s.start + 1))
                })?;
                format!(
                    "**{}**: {}\n\n{}",
                    d.code.as_str(),
                    d.message,
                    d.code.explanation()
                )
            }
        };
        Some(markdown_hover(markdown))
    }

    fn definition(&self, p: lsp::GotoDefinitionParams) -> Option<lsp::GotoDefinitionResponse> {
        let (kind, name) = match self.test_rule_at(&p.text_document_position_params) {
            Some((_, _, rule)) => (SymbolKind::Rule, rule),
            None => {
                let (id, _, offset) = self.offset(&p.text_document_position_params)?;
                self.index.at(id, offset)?
            }
        };
        let symbol = self.index.definition(kind, &name)?;
        Some(lsp::GotoDefinitionResponse::Scalar(
            self.location(symbol.span)?,
        ))
    }

    fn references(&self, p: lsp::ReferenceParams) -> Option<Vec<lsp::Location>> {
        let (kind, name) = match self.test_rule_at(&p.text_document_position) {
            Some((_, _, rule)) => (SymbolKind::Rule, rule),
            None => {
                let (id, _, offset) = self.offset(&p.text_document_position)?;
                self.index.at(id, offset)?
            }
        };
        let mut spans = Vec::new();
        if p.context.include_declaration
            && let Some(symbol) = self.index.definition(kind, &name)
        {
            spans.push(symbol.span);
        }
        spans.extend(self.index.references(kind, &name));
        let mut locations: Vec<lsp::Location> =
            spans.into_iter().filter_map(|s| self.location(s)).collect();
        // A rule's test cases use it too.
        if kind == SymbolKind::Rule {
            locations.extend(self.test_references(&name));
        }
        Some(locations)
    }

    fn completion(&self, p: lsp::CompletionParams) -> Option<lsp::CompletionResponse> {
        if let Ok(path) = p.text_document_position.text_document.uri.to_file_path()
            && is_test_file(&path)
        {
            return self.test_completion(&path, p.text_document_position.position);
        }
        let (_, text, offset) = self.offset(&p.text_document_position)?;
        let item = |label: &str, kind: lsp::CompletionItemKind, detail: Option<String>| {
            lsp::CompletionItem {
                label: label.to_string(),
                kind: Some(kind),
                detail,
                ..lsp::CompletionItem::default()
            }
        };
        let names = |kind: SymbolKind, as_kind: lsp::CompletionItemKind| {
            self.index
                .symbols()
                .iter()
                .filter(move |s| s.kind == kind)
                .map(move |s| item(&s.name, as_kind, Some(s.detail.clone())))
        };
        use lsp::CompletionItemKind as K;
        let items: Vec<lsp::CompletionItem> = match ide::context(text, offset as usize) {
            Context::Hive => ide::HIVES
                .iter()
                .map(|h| item(h, K::MODULE, None))
                .collect(),
            Context::ServiceTest => ide::SERVICE_STATES
                .iter()
                .chain(&["present", "absent", "start", "account", "depends", "image"])
                .map(|w| item(w, K::ENUM_MEMBER, None))
                .collect(),
            Context::StartType => ide::START_TYPES
                .iter()
                .map(|w| item(w, K::ENUM_MEMBER, None))
                .collect(),
            Context::Warning => names(SymbolKind::Warning, K::CONSTANT).collect(),
            Context::Rule => names(SymbolKind::Rule, K::MODULE).collect(),
            Context::Fact => names(SymbolKind::Fact, K::FIELD).collect(),
            Context::Anything => ide::KEYWORDS
                .iter()
                .map(|w| item(w, K::KEYWORD, None))
                .chain(names(SymbolKind::Condition, K::FUNCTION))
                .collect(),
        };
        Some(lsp::CompletionResponse::Array(items))
    }

    /// In a test file, the rule ids, where a case's `"rule"` is being written.
    fn test_completion(
        &self,
        path: &Path,
        position: lsp::Position,
    ) -> Option<lsp::CompletionResponse> {
        let text = &self.tests.get(&self.workspace_path(path))?.text;
        let offset = offset_of(text, position)?;
        let line = text.get(..offset)?.rsplit('\n').next().unwrap_or("");
        // `"rule": "Q12` with the cursor inside the string.
        let (_, after) = line.rsplit_once("\"rule\"")?;
        let value = after.trim_start().strip_prefix(':')?.trim_start();
        if !value.starts_with('"') || value.get(1..).is_some_and(|v| v.contains('"')) {
            return None;
        }
        let items = self
            .index
            .symbols()
            .iter()
            .filter(|s| s.kind == SymbolKind::Rule)
            .map(|s| lsp::CompletionItem {
                label: s.name.clone(),
                kind: Some(lsp::CompletionItemKind::CLASS),
                detail: Some(s.detail.clone()),
                ..lsp::CompletionItem::default()
            })
            .collect();
        Some(lsp::CompletionResponse::Array(items))
    }

    fn symbols(&self, p: lsp::DocumentSymbolParams) -> Option<lsp::DocumentSymbolResponse> {
        let (id, text) = self.file(&p.text_document.uri)?;
        #[allow(deprecated)] // `deprecated` is a required field of the type
        let symbols = self
            .index
            .symbols_in(id)
            .map(|s| lsp::DocumentSymbol {
                name: s.name.clone(),
                detail: Some(s.kind.keyword().to_string()),
                kind: match s.kind {
                    SymbolKind::Rule => lsp::SymbolKind::CLASS,
                    SymbolKind::Condition => lsp::SymbolKind::FUNCTION,
                    SymbolKind::Warning => lsp::SymbolKind::CONSTANT,
                    SymbolKind::Fact => lsp::SymbolKind::FIELD,
                    SymbolKind::Product | SymbolKind::Os => lsp::SymbolKind::ENUM_MEMBER,
                },
                tags: None,
                deprecated: None,
                range: range_of(text, s.item),
                selection_range: range_of(text, s.span),
                children: None,
            })
            .collect();
        Some(lsp::DocumentSymbolResponse::Nested(symbols))
    }

    fn formatting(&self, p: lsp::DocumentFormattingParams) -> Option<Vec<lsp::TextEdit>> {
        let (_, text) = self.file(&p.text_document.uri)?;
        // Text that does not parse is not formatted: its diagnostics say why.
        let formatted = crate::fmt::format(text).ok()?;
        if formatted == text {
            return Some(Vec::new());
        }
        let end = range_of(text, Span::new(SourceId::default(), text.len(), text.len())).end;
        Some(vec![lsp::TextEdit {
            range: lsp::Range {
                start: lsp::Position::new(0, 0),
                end,
            },
            new_text: formatted,
        }])
    }

    fn code_actions(&self, p: lsp::CodeActionParams) -> Option<lsp::CodeActionResponse> {
        let (id, text) = self.file(&p.text_document.uri)?;
        let path = PathBuf::from(self.sources.get(id)?.name());
        let start = u32::try_from(offset_of(text, p.range.start)?).ok()?;
        let end = u32::try_from(offset_of(text, p.range.end)?).ok()?;
        let mut actions = Vec::new();
        for d in self.diagnostics.get(&path).into_iter().flatten() {
            let (Some(span), Some(fix)) = (d.span, &d.suggestion) else {
                continue;
            };
            if span.end < start || span.start > end {
                continue;
            }
            let edit = lsp::TextEdit {
                range: range_of(text, fix.span),
                new_text: fix.replacement.clone(),
            };
            let mut changes = HashMap::new();
            changes.insert(p.text_document.uri.clone(), vec![edit]);
            actions.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                title: format!("replace with `{}`", fix.replacement),
                kind: Some(lsp::CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![to_lsp_diagnostic(&self.sources, d)]),
                edit: Some(lsp::WorkspaceEdit {
                    changes: Some(changes),
                    ..lsp::WorkspaceEdit::default()
                }),
                is_preferred: Some(true),
                ..lsp::CodeAction::default()
            }));
        }
        Some(actions)
    }
}

/// Whether a path names a rule test file.
fn is_test_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(TEST_FILE_SUFFIX))
}

/// A file's URI, from its path as loaded (relative to the working directory, perhaps).
fn uri_of(path: &Path) -> Option<Url> {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    Url::from_file_path(path).ok()
}

fn markdown_hover(markdown: String) -> lsp::Hover {
    lsp::Hover {
        contents: lsp::HoverContents::Markup(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value: markdown,
        }),
        range: None,
    }
}

impl TestFacts {
    /// Reads a rule test file as `kbrules test` does, without running it: that it reads (E0501,
    /// E0502), and that each snapshot path names a file (E0504). The snapshots themselves are
    /// read only by `kbrules test`.
    fn read(path: &Path, text: &str) -> TestFacts {
        let mut facts = TestFacts {
            text: text.to_string(),
            ..TestFacts::default()
        };
        let at = |range: Range<usize>| lsp::Range {
            start: position_of(text, range.start),
            end: position_of(text, range.end),
        };
        let file = match parse_test_file(text.as_bytes(), &path.display().to_string()) {
            Ok(file) => file,
            Err(d) => {
                // At the line and column given, to the end of that line.
                let (line, column) = d.position.unwrap_or((1, 1));
                let line_start: usize = text
                    .split_inclusive('\n')
                    .take(line.saturating_sub(1))
                    .map(str::len)
                    .sum();
                let rest = text.get(line_start..).unwrap_or("");
                let line_text = rest.split('\n').next().unwrap_or("");
                let start = line_start
                    + line_text
                        .char_indices()
                        .nth(column.saturating_sub(1))
                        .map_or(line_text.len(), |(i, _)| i);
                let end = (line_start + line_text.len()).max(start);
                let error = lsp_diagnostic(&d, at(start..end), Vec::new());
                facts.read_errors.push(error);
                return facts;
            }
        };
        for case in file.cases {
            if let Fixture::Path { written, path } = &case.snapshot
                && !path.exists()
            {
                let d = Diagnostic::global(
                    crate::Code::TestSnapshot,
                    format!("snapshot `{written}` does not exist"),
                )
                .with_help("the path is relative to the test file's folder");
                let error = lsp_diagnostic(&d, at(case.snapshot_at.clone()), Vec::new());
                facts.read_errors.push(error);
            }
            facts.rules.push((case.rule_at, case.rule));
        }
        facts
    }

    /// The diagnostics against the library: the read errors, and each case of a rule it lacks
    /// (E0503).
    fn check(&mut self, index: &Index) {
        let text = self.text.as_str();
        let rules = || {
            index
                .symbols()
                .iter()
                .filter(|s| s.kind == SymbolKind::Rule)
                .map(|s| s.name.as_str())
        };
        let mut diagnostics = self.read_errors.clone();
        for (range, rule) in &self.rules {
            if index.definition(SymbolKind::Rule, rule).is_some() {
                continue;
            }
            let mut d = Diagnostic::global(
                crate::Code::TestUnknownRule,
                format!("rule `{rule}` is not in the library"),
            );
            if let Some(near) = crate::diagnostics::did_you_mean(rule, rules()) {
                d = d.with_help(format!("did you mean `{near}`?"));
            }
            let range = lsp::Range {
                start: position_of(text, range.start),
                end: position_of(text, range.end),
            };
            diagnostics.push(lsp_diagnostic(&d, range, Vec::new()));
        }
        diagnostics.sort_by_key(|d| (d.range.start.line, d.range.start.character));
        self.diagnostics = diagnostics;
    }
}

fn to_lsp_diagnostic(sources: &Sources, d: &Diagnostic) -> lsp::Diagnostic {
    let range = d
        .span
        .and_then(|s| Some(range_of(sources.get(s.source)?.text(), s)))
        .unwrap_or_default();
    let related: Vec<lsp::DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter_map(|label| {
            let file = sources.get(label.span.source)?;
            Some(lsp::DiagnosticRelatedInformation {
                location: lsp::Location {
                    uri: uri_of(Path::new(file.name()))?,
                    range: range_of(file.text(), label.span),
                },
                message: label.message.clone(),
            })
        })
        .collect();
    lsp_diagnostic(d, range, related)
}

/// A diagnostic at a range: its help appended to its message, its labels as related places.
fn lsp_diagnostic(
    d: &Diagnostic,
    range: lsp::Range,
    related: Vec<lsp::DiagnosticRelatedInformation>,
) -> lsp::Diagnostic {
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    lsp::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => lsp::DiagnosticSeverity::ERROR,
            Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        }),
        code: Some(lsp::NumberOrString::String(d.code.as_str().to_string())),
        source: Some("kbrules".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..lsp::Diagnostic::default()
    }
}

/// The LSP position of a byte offset: a line, and UTF-16 code units into it.
fn position_of(text: &str, offset: usize) -> lsp::Position {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column: usize = before
        .get(line_start..)
        .unwrap_or("")
        .chars()
        .map(char::len_utf16)
        .sum();
    lsp::Position::new(
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

fn range_of(text: &str, span: Span) -> lsp::Range {
    lsp::Range {
        start: position_of(text, span.start as usize),
        end: position_of(text, span.end as usize),
    }
}

/// The byte offset of an LSP position; a position past the end of its line is the line's end.
fn offset_of(text: &str, pos: lsp::Position) -> Option<usize> {
    let mut line_start = 0;
    for _ in 0..pos.line {
        line_start += text.get(line_start..)?.find('\n')? + 1;
    }
    let line = text.get(line_start..)?;
    let line = line.split('\n').next().unwrap_or("");
    let mut units = 0;
    for (i, c) in line.char_indices() {
        if units >= pos.character as usize {
            return Some(line_start + i);
        }
        units += c.len_utf16();
    }
    Some(line_start + line.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units() {
        let text = "a\nx€𝄞y\n";
        // `€` is one unit, `𝄞` two; `y` is at character 4 of line 1.
        let y = text.find('y').unwrap_or(0);
        assert_eq!(position_of(text, y), lsp::Position::new(1, 4));
        assert_eq!(offset_of(text, lsp::Position::new(1, 4)), Some(y));
        assert_eq!(offset_of(text, lsp::Position::new(1, 99)), Some(y + 1));
        assert_eq!(offset_of(text, lsp::Position::new(5, 0)), None);
    }
}
