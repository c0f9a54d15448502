// The platform rule: runtime/, cli/, net/ and mod.ts reach the host only through
// runtime/platform/ (host.*, its re-exported Node modules, newWorker, workerScope, asset), so the
// same sources run on Deno and, bundled, on Node. This scans their code (comments left out) for
// what would break that: Deno's namespace, a node: import, a Web Worker made directly, Deno's
// "unload" event.
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const SCANNED = ["runtime", "cli", "net", "mod.ts"];
const ALLOWED = "runtime/platform/";

const FORBIDDEN: [RegExp, string][] = [
  [/\bDeno\.[A-Za-z]/, "Deno.* (use host.* from runtime/platform/mod.ts)"],
  [
    /\bfrom\s+["']node:|\bimport\s*\(\s*["']node:|\brequire\s*\(\s*["']node:/,
    "a node: import (use the re-exports of runtime/platform/mod.ts)",
  ],
  [/\bnew\s+Worker\s*\(/, "new Worker (use newWorker from runtime/platform/mod.ts)"],
  [/addEventListener\(\s*["']unload["']/, 'the "unload" event (use host.onExit)'],
  [/\bimport\.meta\.main\b/, "import.meta.main (Node 18 has none: use isMain(import.meta))"],
];

function* sources(rel: string): Generator<string> {
  const st = Deno.statSync(new URL(rel, ROOT));
  if (st.isFile) {
    if (/\.(ts|js|mjs)$/.test(rel)) yield rel;
    return;
  }
  for (const e of Deno.readDirSync(new URL(rel + "/", ROOT))) yield* sources(`${rel}/${e.name}`);
}

// the code of a line: // comments and the insides of strings are not code
function code(line: string): string {
  if (/^\s*(\/\/|\*|\/\*)/.test(line)) return "";
  const i = line.search(/\s\/\/\s/);
  return i >= 0 ? line.slice(0, i) : line;
}

export function violations(text: string): { line: number; what: string; text: string }[] {
  const out: { line: number; what: string; text: string }[] = [];
  text.split("\n").forEach((l, i) => {
    const c = code(l);
    for (const [re, what] of FORBIDDEN) if (re.test(c)) out.push({ line: i + 1, what, text: l.trim() });
  });
  return out;
}

Deno.test("runtime/, cli/, net/ and mod.ts use the host only through runtime/platform/", () => {
  const found: string[] = [];
  let files = 0;
  for (const top of SCANNED) {
    for (const f of sources(top)) {
      if (f.startsWith(ALLOWED)) continue;
      files++;
      for (const v of violations(Deno.readTextFileSync(new URL(f, ROOT)))) {
        found.push(`${f}:${v.line}: ${v.what}: ${v.text}`);
      }
    }
  }
  assert.ok(files > 80, `scanned only ${files} files`);
  assert.deepEqual(found, [], `host services used outside runtime/platform/:\n${found.join("\n")}`);
});

Deno.test("the scan catches each forbidden form and passes comments", () => {
  const bad = [
    'const x = Deno.readFileSync("a");',
    'import * as fs from "node:fs";',
    'const m = await import("node:net");',
    'const w = new Worker(new URL("./w.ts", import.meta.url));',
    'globalThis.addEventListener("unload", f);',
    "if (import.meta.main) main();",
  ];
  for (const b of bad) assert.equal(violations(b).length, 1, b);
  assert.deepEqual(violations('// Deno.Conn is slow here\nconst a = 1; // from "node:fs"'), []);
  assert.deepEqual(violations('host.readFileSync("a"); import { fs } from "../platform/mod.ts";'), []);
});
