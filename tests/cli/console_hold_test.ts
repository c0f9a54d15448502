// Piped input is held until the default guest's shell prompts (cli/console.ts); the console looks
// for "ring3: shell ready" in what the guest writes. One write can hold the mark, the kernel's
// next lines and the shell's banner together (how much the UART gathers depends on timing): the
// mark must be seen there too, or the input stays held for good (a piped script that vanished).
import assert from "node:assert/strict";
import { Console } from "../../cli/console.ts";
import type { BootConfig } from "../../cli/options.ts";
import type { Vm } from "../../runtime/control/vm.ts";

const enc = new TextEncoder();
const banner = "\r\n\r\nBusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) built-in shell (ash)\r\n" +
  "Enter 'help' for a list of built-in commands.\r\n\r\n" +
  "[    3.401482] input: AT Translated Set 2 keyboard as /devices/platform/i8042/serio0/input/input4\r\n".repeat(3);

function consoleWith(got: Uint8Array[]): Console {
  const vm = { input: (d: Uint8Array) => got.push(d.slice()), machine: {} } as unknown as Vm;
  const cfg = { timing: false, icountAt: [] } as unknown as BootConfig;
  return new Console(vm, cfg, false, true);
}

for (
  const [name, writes] of [
    ["the mark, the banner and the prompt in one write", [`ring3: shell ready${banner}/ # \x1b[6n`]],
    ["the mark in one write, the prompt in the next", [`ring3: shell ready${banner}`, "/ # \x1b[6n"]],
    ["the mark split across two writes", [`ring3: shell `, `ready${banner}/ # `]],
  ] as const
) {
  Deno.test(`console: held input goes in at the prompt: ${name}`, () => {
    const got: Uint8Array[] = [];
    const con = consoleWith(got);
    con.input(enc.encode("echo early\n"));
    assert.equal(got.length, 0, "held before the shell");
    for (const w of writes) con.output(enc.encode(w));
    assert.equal(got.map((d) => new TextDecoder().decode(d)).join(""), "echo early\n");
    con.input(enc.encode("echo later\n"));
    assert.equal(got.length, 2, "then passed through at once");
  });
}
