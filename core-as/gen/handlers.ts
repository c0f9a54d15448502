// The interpreter's instruction handlers: `export function NAME` in core-as/ops/*.ts and
// core-as/x87/*.ts, found by name (gen.ts wires the table to them; tests check every entry has one).
const root = new URL("../", import.meta.url);
const dirs = ["ops", "x87", "sse"];

// handler name -> module path relative to core-as/generated/
export function findHandlers(): Map<string, string> {
  const where = new Map<string, string>();
  for (const d of dirs) {
    let entries: Deno.DirEntry[] = [];
    try {
      entries = [...Deno.readDirSync(new URL(d + "/", root))];
    } catch {
      continue;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!e.name.endsWith(".ts")) continue;
      const src = Deno.readTextFileSync(new URL(`${d}/${e.name}`, root));
      for (const m of src.matchAll(/^(?:@inline\s+)?export function (\w+)\s*\(/gm)) {
        if (where.has(m[1])) throw new Error(`handler ${m[1]} defined twice (${where.get(m[1])}, ${d}/${e.name})`);
        where.set(m[1], `../${d}/${e.name.replace(/\.ts$/, "")}`);
      }
    }
  }
  return where;
}

// the handler a table entry's call names
export const handlerName = (call: string): string => call.match(/^(\w+)\(/)![1];
