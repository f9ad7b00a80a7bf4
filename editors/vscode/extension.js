// Starts `kbrules lsp` for rule files and stops it with the editor.
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
      documentSelector: [{ scheme: "file", language: "kbrules" }],
      synchronize: {
        fileEvents: vscode.workspace.createFileSystemWatcher("**/*.kbr"),
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
