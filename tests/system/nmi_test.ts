// NMI as the core takes it from the APIC bus (ATTN_NMI in the attention word): delivered through
// IDT vector 2 whatever IF says, then blocked until the handler's IRET; one that arrives while
// blocked is held and taken right after the IRET (SDM vol. 3, 6.7.1).
import assert from "node:assert/strict";
import * as L from "../../core-as/layout.ts";
import type { Bare } from "../lib/bare.ts";
import { runImage } from "./lib.ts";

Deno.test("nmi: taken with IF=0, held while its handler runs, delivered again after IRET", async () => {
  let bare: Bare | undefined;
  // a write to port 0x99 plays the APIC bus: it sets ATTN_NMI as runtime/vcpu/apicbus.ts does
  const nmi = () => bare!.core.set(L.S_ATTN, bare!.core.get(L.S_ATTN) | L.ATTN_NMI);
  const r = await runImage(
    `
  SETGATE 2, nmi_handler
  cli
  mov al, 1
  out 0x99, al             ; the NMI arrives during this instruction
  PRINT "a"
  EXIT 0x16
nmi_handler:
  inc dword [nmis]
  PRINT "N"
  cmp dword [nmis], 1
  jne .ret
  out 0x99, al             ; a second NMI while the first is handled: held
  PRINT "h"
.ret:
  iret
nmis: dd 0
`,
    2_000_000,
    { io_out: (port) => port === 0x99 && nmi() },
    (b) => bare = b,
  );
  assert.equal(r.exit, "done", r.out);
  assert.equal(r.out, "NhNa");
});
