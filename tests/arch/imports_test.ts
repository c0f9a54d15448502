// The import graph of the project's own sources has no cycle: core-as/ is layered (memory and
// MMU at the bottom, the run loop on top), and so are runtime/, cli/ and net/. Read from the
// sources: every relative `import`/`export ... from` of a .ts file under those folders.
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);
const FOLDERS = ["core-as", "runtime", "cli", "net"];
const SKIP = /(^|\/)(generated|gen)\//; // build-time generators and their output are not the core

function walk(dir: string, out: string[]) {
  for (const e of Deno.readDirSync(new URL(dir, root))) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) walk(p, out);
    else if (e.name.endsWith(".ts")) out.push(p);
  }
}

function resolve(from: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null;
  const u = new URL(spec, new URL(from, root));
  let p = u.pathname.slice(new URL(root).pathname.length);
  if (!p.endsWith(".ts")) p += ".ts"; // AssemblyScript imports name no extension
  return p;
}

export function importGraph(): Map<string, string[]> {
  const files: string[] = [];
  for (const f of FOLDERS) walk(f, files);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    if (SKIP.test(f)) continue;
    const src = Deno.readTextFileSync(new URL(f, root));
    const deps = new Set<string>();
    // static imports and re-exports; `import type` is erased and still counts as a dependency of shape
    for (const m of src.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+["']([^"']+)["']/gms)) {
      const r = resolve(f, m[1]);
      if (r && !SKIP.test(r)) deps.add(r);
    }
    for (const m of src.matchAll(/^\s*import\s+["']([^"']+)["']/gm)) {
      const r = resolve(f, m[1]);
      if (r && !SKIP.test(r)) deps.add(r);
    }
    graph.set(f, [...deps]);
  }
  return graph;
}

// Tarjan's strongly connected components; every component of more than one file is a cycle.
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], on = new Set<string>(), out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

Deno.test("import graph: every import of core-as/, runtime/, cli/, net/ resolves to a file", () => {
  const graph = importGraph();
  const missing: string[] = [];
  for (const [f, deps] of graph) {
    for (const d of deps) {
      try {
        Deno.statSync(new URL(d, root));
      } catch {
        missing.push(`${f} -> ${d}`);
      }
    }
  }
  assert.deepEqual(missing, []);
  assert.ok(graph.size > 50, `only ${graph.size} files found`);
});

Deno.test("import graph: no cycles in core-as/, runtime/, cli/, net/", () => {
  const found = cycles(importGraph());
  assert.deepEqual(found.map((c) => c.join(" <-> ")), []);
});

Deno.test("import graph: the cycle finder finds a planted cycle", () => {
  const g = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]], ["e", ["e"]]]);
  assert.deepEqual(cycles(g).map((c) => c.join(",")).sort(), ["a,b,c", "e"]);
});
