// Starts `kbrules lsp` for rule files and rule test files, and stops it with the editor.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("kbrules").get("path") || "kbrules";
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "kbrules",
    "kbrules",
    { run: server, debug: server },
    {
      documentSelector: [
        { scheme: "file", language: "kbrules" },
        // Rule test files: their errors, and the rule ids their cases name.
        { scheme: "file", pattern: "**/*.tests.json" },
      ],
      synchronize: {
        fileEvents: vscode.workspace.createFileSystemWatcher("**/{*.kbr,*.tests.json}"),
      },
    },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
