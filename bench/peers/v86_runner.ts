// Boots one guest on v86 (the npm build installed by `deno task bench:peers`) and writes its
// serial console to stdout, so that race.ts treats v86 like the other emulators: a process whose
// stdout is the console. After every console line starting with START or END it adds a line
// "v86-icount <n>": v86's own count of guest instructions so far (its counter is 32 bits wide;
// the wraps are counted here). Exits when the guest has finished (ring3: exit / halted).
//   deno run -A bench/peers/v86_runner.ts --lib DIR --kernel F --initrd F --append TEXT --mem MIB
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    lib: { type: "string" }, // the v86 package's build/ folder
    bios: { type: "string", default: "/usr/share/seabios/bios.bin" },
    "vga-bios": { type: "string", default: "/usr/share/seabios/vgabios-stdvga.bin" },
    kernel: { type: "string" },
    initrd: { type: "string" },
    append: { type: "string", default: "console=ttyS0" },
    mem: { type: "string", default: "256" },
  },
});
if (!a.lib || !a.kernel || !a.initrd) {
  console.error("v86_runner: --lib, --kernel and --initrd are required");
  Deno.exit(2);
}
const buf = (p: string) => {
  const b = Deno.readFileSync(p);
  return { buffer: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) };
};

const mod = await import(new URL(`file://${a.lib}/libv86.mjs`).href);
const V86 = mod.V86 ?? mod.default;
const emu = new V86({
  wasm_path: `${a.lib}/v86.wasm`,
  memory_size: Number(a.mem) << 20,
  vga_memory_size: 8 << 20,
  bios: buf(a.bios),
  vga_bios: buf(a["vga-bios"]),
  bzimage: buf(a.kernel),
  initrd: buf(a.initrd),
  cmdline: a.append,
  autostart: true,
  disable_keyboard: true,
  disable_mouse: true,
  disable_speaker: true,
});

let last = 0;
let wraps = 0;
function icount(): number {
  const c = emu.get_instruction_counter() >>> 0;
  if (c < last) wraps++;
  last = c;
  return wraps * 2 ** 32 + c;
}
// a sample at least every 16 s of guest work (2^32 instructions) keeps the wrap count right
const poll = setInterval(icount, 100);

const out = Deno.stdout;
const enc = new TextEncoder();
let line = "";
let finishing = false;
async function finish(code: number) {
  if (finishing) return;
  finishing = true;
  clearInterval(poll);
  await new Promise((r) => setTimeout(r, 100)); // let the last console bytes out
  try {
    await emu.destroy();
  } catch { /* already stopped */ }
  Deno.exit(code);
}
emu.add_listener("serial0-output-byte", (b: number) => {
  const n = icount();
  out.writeSync(new Uint8Array([b]));
  if (b !== 10) {
    if (b !== 13) line += String.fromCharCode(b);
    return;
  }
  if (/^(START|END) /.test(line)) out.writeSync(enc.encode(`v86-icount ${n}\n`));
  if (/ring3: exit |reboot: (System halted|Power down)|Kernel panic/.test(line)) void finish(0);
  line = "";
});
