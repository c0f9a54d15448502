// The per-device persist contract (ARCHITECTURE.md, "Snapshots"): every device model keeps a
// `save(): DeviceState` and a `restore(s: DeviceState): void` next to its model, in a persist
// block at the end of its file. A state is plain data (numbers, booleans, strings, arrays, plain
// objects: what JSON carries) with its own version `v`; restore() checks the version first and
// throws SnapshotError for one it does not know. Times are the machine clock's absolute
// nanoseconds: a restored machine's clock continues from the saved time (runtime/clock.ts
// setNow), so deadlines and start times stay valid as they are. Timer deadlines go through
// timerSave/timerRestore (an unarmed timer's Infinity is not JSON).
import type { Timer } from "../clock.ts";

export interface DeviceState {
  v: number;
  [field: string]: unknown;
}

// A snapshot that cannot be used: a file from another version, or a device's state that does not
// fit the device it is restored into. The message is one line for the user.
export class SnapshotError extends Error {
  override name = "SnapshotError";
}

export function expectVersion(device: string, s: DeviceState | undefined, v: number): DeviceState {
  if (!s || typeof s !== "object") throw new SnapshotError(`${device}: no state in the snapshot`);
  if (s.v !== v) throw new SnapshotError(`${device}: state version ${s.v}, this ring3 restores version ${v}`);
  return s;
}

type Plain = number | boolean | string | null | Plain[] | { [k: string]: Plain };

function copyOut(x: unknown): Plain {
  if (x === undefined) return "undefined";
  if (typeof x === "number") return Number.isFinite(x) ? x : x > 0 ? "Infinity" : x < 0 ? "-Infinity" : "NaN";
  if (typeof x === "boolean" || typeof x === "string" || x === null) return x;
  if (ArrayBuffer.isView(x)) return Array.from(x as unknown as ArrayLike<number>);
  if (Array.isArray(x)) return x.map(copyOut);
  if (typeof x === "object") {
    const o: { [k: string]: Plain } = {};
    for (const [k, v] of Object.entries(x as object)) o[k] = copyOut(v);
    return o;
  }
  throw new TypeError(`cannot persist a ${typeof x}`);
}

function copyIn(x: unknown): unknown {
  if (x === "Infinity") return Infinity;
  if (x === "-Infinity") return -Infinity;
  if (x === "NaN") return NaN;
  if (x === "undefined") return undefined;
  if (Array.isArray(x)) return x.map(copyIn);
  if (x && typeof x === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) o[k] = copyIn(v);
    return o;
  }
  return x;
}

// The named fields of `obj` as plain data (typed arrays become arrays).
export function pick(obj: object, fields: readonly string[]): Record<string, Plain> {
  const o = obj as Record<string, unknown>;
  const out: Record<string, Plain> = {};
  for (const f of fields) out[f] = copyOut(o[f]);
  return out;
}

// Put fields saved by pick() back: typed arrays and arrays are filled in place (so views into
// shared memory and readonly arrays stay the same objects), everything else is assigned.
export function put(obj: object, fields: readonly string[], s: Record<string, unknown>, device: string): void {
  const o = obj as Record<string, unknown>;
  for (const f of fields) {
    if (!(f in s)) throw new SnapshotError(`${device}: the snapshot lacks '${f}'`);
    const v = copyIn(s[f]);
    const cur = o[f];
    if (ArrayBuffer.isView(cur)) {
      const a = cur as unknown as { length: number; set(src: ArrayLike<number>): void };
      if (!Array.isArray(v) || v.length !== a.length) throw new SnapshotError(`${device}: '${f}' has the wrong size`);
      a.set(v as number[]);
    } else if (Array.isArray(cur) && Array.isArray(v)) {
      cur.length = 0;
      cur.push(...v);
    } else {
      o[f] = v;
    }
  }
}

export function timerSave(t: Timer | undefined): number | null {
  return t && t.armed ? t.deadline : null;
}

export function timerRestore(t: Timer | undefined, deadline: unknown): void {
  if (!t) return;
  if (typeof deadline === "number") t.set(deadline);
  else t.cancel();
}
