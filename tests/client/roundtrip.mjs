// Generates a typed client from Moon's live OpenAPI document and runs client.ts with it:
// openapi-typescript writes the types, the TypeScript compiler checks client.ts against them
// (strict), then the transpiled client talks to the server.
//   usage: node roundtrip.mjs <base url> <admin token>
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, ".generated");
const [base, token] = process.argv.slice(2);
fs.mkdirSync(out, { recursive: true });

const res = await fetch(`${base}/openapi.json`, { headers: { Authorization: `Bearer ${token}` } });
const doc = await res.json();
fs.writeFileSync(path.join(out, "schema.d.ts"), astToString(await openapiTS(doc)));
fs.copyFileSync(path.join(here, "client.ts"), path.join(out, "client.ts"));

const options = {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  skipLibCheck: true,
  types: [],
};
const program = ts.createProgram([path.join(out, "client.ts")], options);
const problems = ts.getPreEmitDiagnostics(program);
if (problems.length > 0) {
  const host = {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => out,
    getNewLine: () => "\n",
  };
  console.error(ts.formatDiagnostics(problems, host));
  process.exit(1);
}
const js = ts.transpileModule(fs.readFileSync(path.join(out, "client.ts"), "utf8"), {
  compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
});
const runnable = path.join(out, "client.mjs");
fs.writeFileSync(runnable, js.outputText);
process.argv = [process.argv[0], runnable, base, token];
await import(pathToFileURL(runnable).href);
