// Data movement, stack, control flow, strings and port I/O, run in the core. Expected values
// follow the SDM's pseudocode for each instruction.
import assert from "node:assert/strict";
import * as L from "../../core-as/layout.ts";
import { asm, Machine, RAM } from "./machine.ts";
import { Rng } from "../lib/rng.ts";

const CODE = 0x10000, DATA = 0x20000;
const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
const CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800, IF = 0x200, DF = 0x400;
const ARITH = CF | PF | AF | ZF | SF | OF;
const hex = (v: number) => "0x" + (v >>> 0).toString(16);

async function pm(cpl = 0) {
  return (await Machine.create({ ramBytes: RAM })).pm32(cpl);
}

// ---- MOV and friends --------------------------------------------------------------------------
Deno.test("mov: r/m, immediates, moffs with segment override and address size", async () => {
  const m = await pm();
  m.core.ex.setSeg(L.SEG_FS, 0x18, 0x30000, 0xffff, 0x4093);
  m.w32(0x30010, 0xcafef00d);
  m.w8(0x1234, 0x5c);
  const end = m.code(
    CODE,
    `
    mov eax, 0x12345678
    mov [0x20000], eax          ; A3 moffs32
    mov bl, [0x20001]           ; 8A modrm
    mov ecx, 0x20000
    mov dx, [ecx+2]
    mov byte [ecx+8], 0xab
    mov dword [ecx+12], 0xdeadbeef
    mov [ecx+4], ax
    mov ebp, [fs:0x10]          ; override on a ModR/M operand
    mov al, [fs:0x10]           ; A0 with override
    a16 mov ah, [0x1234]        ; 67 A0 with a 16-bit offset
    mov si, 0x7777
    mov bh, 0x99
  `,
  );
  m.runTo(end);
  assert.equal(m.r32(0x20000), 0x12345678);
  assert.equal(m.reg(EBX) & 0xff, 0x56);
  assert.equal(m.reg(EBX) >> 8 & 0xff, 0x99);
  assert.equal(m.reg(EDX) & 0xffff, 0x1234);
  assert.equal(m.r8(0x20008), 0xab);
  assert.equal(m.r32(0x2000c), 0xdeadbeef);
  assert.equal(m.r16(0x20004), 0x5678);
  assert.equal(m.reg(EBP), 0xcafef00d);
  assert.equal(m.reg(EAX), 0x12345c0d);
  assert.equal(m.reg(ESI) & 0xffff, 0x7777);
});

Deno.test("lea / movzx / movsx / cbw / cwd / xlat", async () => {
  const m = await pm();
  m.w8(DATA + 0x10, 0x80);
  m.w16(DATA + 0x12, 0x8001);
  m.w8(DATA + 0x100 + 0x42, 0xee);
  const end = m.code(
    CODE,
    `
    mov ecx, 0x20000
    mov edx, 3
    lea esi, [ecx+edx*4+8]      ; 0x20014
    mov edi, 0xffffffff
    lea di, [ecx+0x10]          ; o16: low word only
    a16 lea ebp, [bx+si+0x10]   ; 16-bit address zero-extended
    movzx eax, byte [ecx+0x10]
    movsx ebx, byte [ecx+0x10]
    movsx edx, word [ecx+0x12]
    mov [0x20200], eax
    mov ax, 0x8123
    cwde                        ; EAX = 0xffff8123
    mov [0x20204], eax
    mov ax, 0x7f80
    cbw                         ; AX = 0xff80
    mov [0x20208], eax
    mov eax, 0x80000000
    cdq
    mov [0x2020c], edx
    mov ax, 0x8000
    cwd
    mov [0x20210], edx
    mov ebx, 0x20100
    mov al, 0x42
    xlatb
  `,
  );
  m.setReg(EBX, 0x1000); // for the a16 lea: bx + si (si set above)
  m.runTo(end);
  assert.equal(m.reg(ESI), 0x20014);
  assert.equal(m.reg(EDI), 0xffff0010);
  assert.equal(m.reg(EBP), (0x1000 + 0x0014 + 0x10) & 0xffff);
  assert.equal(m.r32(0x20200), 0x80);
  assert.equal(m.reg(EDX) >>> 0, 0xffffffff); // CDQ set all of EDX, CWD then wrote DX only
  assert.equal(m.r32(0x20204), 0xffff8123);
  assert.equal(m.r32(0x20208) & 0xffff, 0xff80);
  assert.equal(m.r32(0x2020c), 0xffffffff);
  assert.equal(m.r32(0x20210), 0xffffffff); // CWD writes DX only; upper half still from CDQ
  assert.equal(m.reg(EAX) & 0xff, 0xee);
});

Deno.test("lea with a register operand and mov C7 /1 are #UD", async () => {
  const m = await pm();
  m.code(CODE, "db 0x8d, 0xc0"); // lea eax, eax
  assert.deepEqual(m.step(), { vec: L.EXC_UD, err: -1 });
  m.code(CODE, "db 0xc7, 0xc8, 1, 0, 0, 0");
  assert.deepEqual(m.step(), { vec: L.EXC_UD, err: -1 });
});

Deno.test("xchg, xadd, cmpxchg: values and flags", async () => {
  const m = await pm();
  m.w32(DATA, 0x11111111);
  m.w32(DATA + 4, 5);
  m.w32(DATA + 8, 0x7fffffff);
  m.w8(DATA + 12, 0x40);
  const end = m.code(
    CODE,
    `
    mov eax, 0xaaaaaaaa
    xchg [0x20000], eax           ; always locked
    mov ecx, 0x1234
    mov edx, 0x5678
    xchg cx, dx
    xchg eax, ebx                 ; 93
    mov esi, 3
    xadd [0x20004], esi           ; mem = 8, esi = 5
    mov edi, 1
    lock xadd [0x20008], edi      ; 0x80000000, OF SF
    pushfd
    pop ebp
    mov al, 0x40
    mov cl, 0x99
    cmpxchg [0x2000c], cl         ; equal: mem = 0x99, ZF
    pushfd
    mov al, 0x41
    lock cmpxchg [0x2000c], cl    ; 0x41 != 0x99: AL = 0x99, ZF = 0, CF (0x41 < 0x99)
    pushfd
  `,
  );
  m.runTo(end);
  assert.equal(m.r32(DATA), 0xaaaaaaaa);
  assert.equal(m.reg(EBX), 0x11111111);
  assert.equal(m.reg(ECX) & 0xffff, 0x5699); // CH from XCHG CX,DX; CL set later
  assert.equal(m.reg(EDX) & 0xffff, 0x1234);
  assert.equal(m.r32(DATA + 4), 8);
  assert.equal(m.reg(ESI), 5);
  assert.equal(m.r32(DATA + 8), 0x80000000);
  assert.equal(m.reg(EDI), 0x7fffffff);
  assert.equal(m.reg(EBP) & ARITH, OF | SF | AF | PF);
  const sp = m.reg(ESP);
  assert.equal(m.r32(sp + 4) & ZF, ZF);
  assert.equal(m.r8(DATA + 12), 0x99);
  assert.equal(m.reg(EAX) & 0xff, 0x99);
  assert.equal(m.r32(sp) & (ZF | CF), CF);
});

Deno.test("xadd and xchg with both operands the same register", async () => {
  const m = await pm();
  const end = m.code(
    CODE,
    `
    mov eax, 0x40000001
    xadd eax, eax
    mov bl, 0x12
    mov bh, 0x34
    xchg bl, bh
  `,
  );
  m.runTo(end);
  assert.equal(m.reg(EAX), 0x80000002);
  assert.equal(m.reg(EBX) & 0xffff, 0x1234);
});

Deno.test("cmpxchg failure still writes the destination (faults on a read-only page)", async () => {
  const m = await pm();
  m.paging();
  m.core.set(L.S_CR0, m.core.get(L.S_CR0) | L.CR0_WP);
  m.w32(0x30000, 7);
  m.setPte(0x30000, 5); // present, user, read-only
  m.code(CODE, "mov eax, 1\nmov ecx, 2\ncmpxchg [0x30000], ecx");
  assert.equal(m.step(2), null);
  const f = m.step();
  assert.deepEqual(f, { vec: L.EXC_PF, err: 3 });
  assert.equal(m.core.get(L.S_CR2), 0x30000);
  assert.equal(m.reg(EAX), 1); // precise: nothing changed
});

Deno.test("cmpxchg8b: success, failure, locked, unaligned, invalid forms", async () => {
  const m = await pm();
  m.w32(DATA, 0x11111111);
  m.w32(DATA + 4, 0x22222222);
  m.w32(DATA + 0x13, 0x33333333);
  m.w32(DATA + 0x17, 0x44444444);
  const end = m.code(
    CODE,
    `
    mov eax, 0x11111111
    mov edx, 0x22222222
    mov ebx, 0xaaaaaaaa
    mov ecx, 0xbbbbbbbb
    lock cmpxchg8b [0x20000]      ; equal -> replaced, ZF=1
    pushfd
    cmpxchg8b [0x20013]           ; unaligned, not equal -> EDX:EAX loaded, ZF=0
    pushfd
    mov eax, 0x33333333
    mov edx, 0x44444444
    cmpxchg8b [0x20013]           ; now equal
    pushfd
  `,
  );
  m.setFlags(CF);
  m.runTo(end);
  assert.equal(m.r32(DATA), 0xaaaaaaaa);
  assert.equal(m.r32(DATA + 4), 0xbbbbbbbb);
  const sp = m.reg(ESP);
  assert.equal(m.r32(sp + 8) & (ZF | CF), ZF | CF); // only ZF changes
  assert.equal(m.r32(sp + 4) & ZF, 0);
  assert.equal(m.r32(sp) & ZF, ZF);
  assert.equal(m.r32(DATA + 0x13), 0xaaaaaaaa);
  assert.equal(m.r32(DATA + 0x17), 0xbbbbbbbb);
  m.code(CODE, "db 0x0f, 0xc7, 0xc8"); // register operand
  assert.equal(m.step()?.vec, L.EXC_UD);
  m.code(CODE, "db 0x0f, 0xc7, 0x00"); // /0
  assert.equal(m.step()?.vec, L.EXC_UD);
});

Deno.test("cmovcc reads its source even when false; setcc", async () => {
  const m = await pm();
  m.paging();
  m.w32(DATA, 0x55aa55aa);
  const end = m.code(
    CODE,
    `
    mov eax, 1
    mov ebx, 2
    cmovz eax, [0x20000]   ; ZF=1 -> taken
    cmovc ebx, [0x20000]   ; CF=0 -> not taken
    setz cl
    setnz ch
    setnc byte [0x20010]
  `,
  );
  m.setFlags(ZF);
  m.runTo(end);
  assert.equal(m.reg(EAX), 0x55aa55aa);
  assert.equal(m.reg(EBX), 2);
  assert.equal(m.reg(ECX) & 0xffff, 0x0001);
  assert.equal(m.r8(DATA + 0x10), 1);
  m.setPte(0x31000, 0);
  m.code(CODE, "cmovc ebx, [0x31000]");
  m.setFlags(0);
  assert.deepEqual(m.step(), { vec: L.EXC_PF, err: 0 });
});

// ---- stack ------------------------------------------------------------------------------------
Deno.test("push/pop: registers, immediates, ESP forms, pop r/m addressed through ESP", async () => {
  const m = await pm();
  const end = m.code(
    CODE,
    `
    mov eax, 0x11111111
    push eax
    push esp                  ; old ESP value
    push word 0x1234          ; o16 push imm
    push byte -2              ; sign-extended to 32 bits
    pop ebx
    pop cx
    pop edx
    push 0x33333333
    push 0x44444444
    pop dword [esp]           ; address uses ESP after the increment
    pop esi
    push 0x55555555
    push 0x66666666
    pop dword [esp+4]         ; writes at the post-pop ESP + 4
    pop edi
    pop ebp
    push 0x77777777
    pop esp                   ; ESP = popped value
  `,
  );
  m.runTo(end);
  assert.equal(m.reg(EBX), 0xfffffffe);
  assert.equal(m.reg(ECX) & 0xffff, 0x1234);
  assert.equal(m.reg(EDX), 0x8fffc);
  assert.equal(m.reg(ESI), 0x44444444);
  assert.equal(m.reg(EDI), 0x55555555);
  assert.equal(m.reg(EBP), 0x66666666);
  assert.equal(m.reg(ESP), 0x77777777);
});

Deno.test("pusha/popa 32 and 16 bit", async () => {
  const m = await pm();
  const end = m.code(
    CODE,
    `
    mov eax, 1
    mov ecx, 2
    mov edx, 3
    mov ebx, 4
    mov ebp, 6
    mov esi, 7
    mov edi, 8
    pushad
    mov dword [esp+12], 0x99   ; saved ESP slot is ignored by popad
    mov dword [esp+28], 0x0a   ; saved EAX
    popad
    pushaw
    popaw
  `,
  );
  m.runTo(end);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((r) => m.reg(r)), [0x0a, 2, 3, 4, 0x90000, 6, 7, 8]);
  assert.equal(m.r32(0x90000 - 20), 0x99); // the ESP slot was read past, not loaded
  assert.equal(m.r16(0x90000 - 10), 0x0000); // 16-bit image: SP = 0x0000 (low word of 0x90000)
});

Deno.test("pusha faults precisely when the stack page is not writable", async () => {
  const m = await pm();
  m.paging();
  m.setPte(0x8f000, 0);
  m.code(CODE, "pushad");
  m.setReg(ESP, 0x90010);
  assert.deepEqual(m.step(), { vec: L.EXC_PF, err: 2 });
  assert.equal(m.reg(ESP), 0x90010);
  assert.equal(m.r32(0x9000c), 0); // nothing written above the page boundary
});

Deno.test("enter (levels 0, 1, 3) and leave", async () => {
  const m = await pm();
  m.w32(0x90100 - 4, 0xa1a1a1a1);
  m.w32(0x90100 - 8, 0xb2b2b2b2);
  let end = m.code(CODE, "enter 8, 3");
  m.setReg(EBP, 0x90100);
  m.runTo(end);
  assert.equal(m.r32(0x8fffc), 0x90100);
  assert.equal(m.r32(0x8fff8), 0xa1a1a1a1);
  assert.equal(m.r32(0x8fff4), 0xb2b2b2b2);
  assert.equal(m.r32(0x8fff0), 0x8fffc);
  assert.equal(m.reg(EBP), 0x8fffc);
  assert.equal(m.reg(ESP), 0x8ffe8);
  end = m.code(CODE, "leave");
  m.runTo(end);
  assert.equal(m.reg(ESP), 0x90000);
  assert.equal(m.reg(EBP), 0x90100);
  end = m.code(CODE, "enter 0x20, 0\nenter 4, 1\nleave\nleave");
  m.runTo(end - 2);
  assert.equal(m.reg(ESP), 0x90000 - 4 - 0x20 - 8 - 4);
  assert.equal(m.r32(m.reg(ESP) + 4), 0x90000 - 4 - 0x20 - 4); // level 1 pushes the new frame pointer
  m.runTo(end);
  assert.equal(m.reg(ESP), 0x90000);
  assert.equal(m.reg(EBP), 0x90100);
});

Deno.test("pushf/popf: privilege rules and reserved bits", async () => {
  // CPL 0: everything but VM, RF, VIF, VIP
  let m = await pm();
  let end = m.code(CODE, "push dword 0xfffffeff\npopfd\npushfd\npop eax"); // all but TF
  m.runTo(end);
  assert.equal(hex(m.reg(EAX)), hex(0x00247ed7));
  // CPL 3, IOPL 0: IF and IOPL unchanged
  m = await pm(3);
  end = m.code(CODE, "push dword 0xfffffeff\npopfd\npushfd\npop eax\npush dword 0\npopfd\npushfd\npop ebx");
  m.runTo(end);
  assert.equal(hex(m.reg(EAX)), hex(0x00247ed7 & ~(IF | 0x3000)));
  assert.equal(hex(m.reg(EBX)), hex(0x2));
  // CPL 3, IOPL 3: IF changes, IOPL does not
  m = await pm(3);
  m.setFlags(0x3000);
  end = m.code(CODE, "push dword 0x200\npopfd\npushfd\npop eax\npush dword 0\npopfd\npushfd\npop ebx");
  m.runTo(end);
  assert.equal(hex(m.reg(EAX)), hex(0x3202));
  assert.equal(hex(m.reg(EBX)), hex(0x3002));
  // 16-bit POPF touches only the low word; PUSHFD hides RF
  m = await pm();
  m.setFlags(L.F_AC | L.F_RF);
  end = m.code(CODE, "push word 0xfeff\npopfw\npushfd\npop eax");
  m.runTo(end);
  assert.equal(hex(m.reg(EAX)), hex(0x7ed7 | L.F_AC));
  // arithmetic flags from a lazy result are folded into PUSHF
  m = await pm();
  end = m.code(CODE, "mov al, 0x7f\nmov cl, 1\nxadd al, cl\npushfd\npop ebx");
  m.runTo(end);
  assert.equal(m.reg(EBX) & ARITH, OF | SF | AF);
});

Deno.test("popf in real mode may change IOPL and IF", async () => {
  const m = (await Machine.create({ ramBytes: RAM })).real16();
  const end = m.code(0x1000, "push word 0x3200\npopf\npushf\npop ax", 16);
  m.runTo(end);
  assert.equal(m.reg(EAX) & 0xffff, 0x3202);
});

// ---- control flow -------------------------------------------------------------------------------
Deno.test("call/ret/ret imm/jmp/jcc near", async () => {
  const m = await pm();
  const end = m.code(
    CODE,
    `
    push 1
    push 2
    call f
    mov ebx, 1
    jmp short g
    mov ebx, 0xbad
  f:
    mov eax, 7
    ret 8
  g:
    jz h             ; ZF = 1 from setFlags
    mov ecx, 0xbad
  h:
    jnz near bad
    jc bad
    jnc done
  bad:
    mov edx, 0xbad
  done:
  `,
  );
  m.setFlags(ZF);
  m.runTo(end);
  assert.equal(m.reg(EAX), 7);
  assert.equal(m.reg(EBX), 1);
  assert.equal(m.reg(ECX), 0);
  assert.equal(m.reg(EDX), 0);
  assert.equal(m.reg(ESP), 0x90000);
  assert.equal(m.r32(0x90000 - 12), CODE + 9); // return address: after push 1 (2) + push 2 (2) + call (5)
});

Deno.test("near branches: o16 truncates EIP, CS limit #GP leaves state unchanged", async () => {
  let m = await pm();
  m.code(CODE, "db 0x66, 0xeb, 0x10"); // o16 jmp short
  m.step();
  assert.equal(m.eip, (CODE + 3 + 0x10) & 0xffff);
  m = await pm();
  m.core.ex.setSeg(L.SEG_CS, 8, 0, 0x10fff, 0x409b);
  m.code(CODE + 0xff0, "call 0x11000");
  assert.deepEqual(m.step(), { vec: L.EXC_GP, err: 0 });
  assert.equal(m.reg(ESP), 0x90000);
  m.code(CODE + 0xff0, "mov ecx, 1\nloop $+0x20"); // ECX would become 0: no jump, no check
  m.runTo(CODE + 0xff7);
  m.code(CODE + 0xff0, "mov ecx, 2\nloop $+0x20");
  m.step();
  assert.deepEqual(m.step(), { vec: L.EXC_GP, err: 0 });
  assert.equal(m.reg(ECX), 2); // the counter is not decremented by a faulting LOOP
  m.code(CODE + 0xff0, "push 0x11000\nret");
  m.step();
  assert.deepEqual(m.step(), { vec: L.EXC_GP, err: 0 });
  assert.equal(m.reg(ESP), 0x90000 - 4);
});

Deno.test("loop / loopz / loopnz / jcxz, counter by address size", async () => {
  const m = await pm();
  let end = m.code(
    CODE,
    `
    mov ecx, 5
    mov eax, 0
  l: lea eax, [eax+3]
    loop l
    mov ecx, 0x10002
  l2: lea ebx, [ebx+1]
    a16 loop l2       ; CX only: 2 iterations
    mov edx, 0
    jecxz skip
    mov edx, 1
  skip:
  `,
  );
  m.runTo(end);
  assert.equal(m.reg(EAX), 15);
  assert.equal(m.reg(EBX), 2);
  assert.equal(m.reg(ECX), 0x10000);
  assert.equal(m.reg(EDX), 1); // ECX != 0: no jump
  end = m.code(
    CODE,
    `
    mov ecx, 10
  z: loopz z          ; ZF=1: runs until ECX=0
    mov esi, ecx
    mov ecx, 10
  nz: loopnz nz       ; ZF=1: stops after one decrement
    a16 jcxz out      ; CX = 9: no jump
    mov edi, 0x77
  out:
  `,
  );
  m.setFlags(ZF);
  m.runTo(end);
  assert.equal(m.reg(ESI), 0);
  assert.equal(m.reg(ECX), 9);
  assert.equal(m.reg(EDI), 0x77);
});

Deno.test("group 5: inc/dec keep CF, call/jmp/push through r/m", async () => {
  const m = await pm();
  m.w32(DATA, 0x7fffffff);
  m.w16(DATA + 4, 1);
  m.w32(DATA + 8, CODE + 0x100);
  m.w32(DATA + 12, 0xabcdef01);
  m.code(CODE + 0x100, "mov esi, 0x5151\nret");
  const end = m.code(
    CODE,
    `
    inc dword [0x20000]
    pushfd
    lock dec word [0x20004]
    pushfd
    call [0x20008]
    push dword [0x2000c]
    push word [0x2000c]
    mov eax, next
    jmp eax
    mov esi, 0xbad
  next:
    mov ecx, 0x20008
    call ecx           ; would go to 0x20008: not executed (we stop before)
  `,
  );
  m.setFlags(CF);
  m.runTo(end - 2);
  const sp = m.reg(ESP);
  assert.equal(m.r32(DATA), 0x80000000);
  assert.equal(m.r16(DATA + 4), 0);
  assert.equal(m.r32(sp + 6 + 4) & ARITH, CF | OF | SF | AF | PF);
  assert.equal(m.r32(sp + 6) & ARITH, CF | ZF | PF);
  assert.equal(m.reg(ESI), 0x5151);
  assert.equal(m.r32(sp + 2), 0xabcdef01);
  assert.equal(m.r16(sp), 0xef01);
  m.step();
  assert.equal(m.eip, 0x20008);
  assert.equal(m.r32(m.reg(ESP)), end);
  m.code(CODE, "db 0xff, 0xf8"); // FF /7
  assert.equal(m.step()?.vec, L.EXC_UD);
  m.code(CODE, "db 0xff, 0xd8"); // call far with a register operand
  assert.equal(m.step()?.vec, L.EXC_UD);
});

Deno.test("real mode: INT n through the IVT, INTO, far call/jmp through memory", async () => {
  const m = (await Machine.create({ ramBytes: RAM })).real16();
  m.w16(0x21 * 4, 0x2000);
  m.w16(0x21 * 4 + 2, 0x0100); // 0100:2000 = 0x3000
  m.w16(4 * 4, 0x0500);
  m.w16(4 * 4 + 2, 0);
  m.w16(0x800, 0x0010);
  m.w16(0x802, 0x0200); // far pointer 0200:0010
  m.code(0x1000, "int 0x21", 16);
  m.setFlags(IF | CF);
  m.step();
  assert.equal(m.eip, 0x2000);
  assert.equal(m.core.get(L.S_SEG + L.SEG_CS * 32 + L.SG_SEL), 0x100);
  const sp = m.reg(ESP) & 0xffff;
  assert.equal(sp, 0xfff0 - 6);
  assert.equal(m.r16(sp), 0x1002);
  assert.equal(m.r16(sp + 2), 0);
  assert.equal(m.r16(sp + 4), 0x2 | IF | CF);
  assert.equal(m.rawFlags() & IF, 0);

  m.real16();
  m.code(0x1000, "into\ninto", 16);
  m.setFlags(0);
  m.step();
  assert.equal(m.eip, 0x1001); // OF=0: nothing
  m.setFlags(OF);
  m.step();
  assert.equal(m.eip, 0x500);
  assert.equal(m.r16(m.reg(ESP) & 0xffff), 0x1002);

  m.real16();
  m.code(0x1000, "call far [0x800]", 16);
  m.step();
  assert.equal(m.eip, 0x10);
  assert.equal(m.core.get(L.S_SEG + L.SEG_CS * 32 + L.SG_BASE), 0x2000);
  assert.equal(m.r16(0xfff0 - 2), 0); // old CS
  assert.equal(m.r16(0xfff0 - 4), 0x1004); // return IP
});

Deno.test("bound: #BR outside, nothing inside; register form #UD", async () => {
  const m = (await Machine.create({ ramBytes: RAM })).real16();
  m.w16(0x800, 0xfff0);
  m.w16(0x802, 0x0010); // -16 .. 16
  m.code(0x1000, "mov ax, -16\nbound ax, [0x800]\nmov ax, 17\nbound ax, [0x800]", 16);
  m.step(2);
  m.step();
  assert.deepEqual(m.step(), { vec: L.EXC_BR, err: -1 });
  m.code(0x1000, "db 0x62, 0xc0", 16);
  assert.equal(m.step()?.vec, L.EXC_UD);
});

// ---- strings --------------------------------------------------------------------------------
// reference model: element-by-element MOVS over a byte array
function modelMovsElem(mem: Uint8Array, src: number, dst: number, n: number, size: number, down: boolean) {
  const d = down ? -size : size;
  const tmp = new Uint8Array(size);
  for (let i = 0; i < n; i++, src += d, dst += d) {
    for (let b = 0; b < size; b++) tmp[b] = mem[src + b];
    for (let b = 0; b < size; b++) mem[dst + b] = tmp[b];
  }
}

Deno.test("rep movs: random overlaps in both directions match element-by-element semantics", async () => {
  const m = await pm();
  const rng = new Rng(1234);
  const rnd = () => rng.float();
  const WIN = 0x40000, SPAN = 0x6000;
  const ops = [1, 2, 4].map((size) => asm(`rep movs${size === 1 ? "b" : size === 2 ? "w" : "d"}`, 32, CODE));
  const ref = new Uint8Array(SPAN);
  for (let t = 0; t < 400; t++) {
    const size = [1, 2, 4][Math.floor(rnd() * 3)];
    const down = rnd() < 0.5;
    const n = Math.floor(rnd() * (rnd() < 0.2 ? 3000 : 64));
    const src = 0x2000 + Math.floor(rnd() * 0x1800);
    const dst = rnd() < 0.6 ? src + Math.floor(rnd() * 19) - 9 : 0x2000 + Math.floor(rnd() * 0x1800);
    for (let i = 0; i < SPAN; i++) ref[i] = (rnd() * 256) | 0;
    m.ram.write(WIN, ref);
    modelMovsElem(ref, src, dst, n, size, down);
    const code = ops[size >> 1];
    m.load(CODE, code);
    m.eip = CODE;
    m.setFlags(down ? DF : 0);
    m.setReg(ESI, WIN + src);
    m.setReg(EDI, WIN + dst);
    m.setReg(ECX, n);
    m.runTo(CODE + code.length);
    const what = `case ${t}: size ${size} n=${n} src=${hex(src)} dst=${hex(dst)} down=${down}`;
    assert.equal(m.reg(ECX), 0, what);
    assert.equal(m.reg(ESI), (WIN + src + (down ? -1 : 1) * n * size) >>> 0, what);
    assert.equal(m.reg(EDI), (WIN + dst + (down ? -1 : 1) * n * size) >>> 0, what);
    const got = m.ram.view(WIN, SPAN)!;
    const bad = got.findIndex((v, i) => v !== ref[i]);
    assert.equal(bad, -1, what);
  }
});

Deno.test("rep movsb: long copy runs in chunks and re-executes the instruction", async () => {
  const m = await pm();
  m.ram.write(0x100000, Array.from({ length: 100000 }, (_, i) => (i * 7) & 0xff));
  const end = m.code(CODE, "rep movsb\nmov eax, 1");
  m.setReg(ESI, 0x100000);
  m.setReg(EDI, 0x200000);
  m.setReg(ECX, 100000);
  const steps = m.runTo(end - 5);
  assert.ok(steps > 1, "a 100000-byte REP MOVSB yields at least once");
  assert.deepEqual(m.ram.view(0x200000, 100000)!, m.ram.view(0x100000, 100000)!);
  assert.equal(m.reg(ECX), 0);
  assert.equal(m.reg(EDI), 0x200000 + 100000);
});

Deno.test("rep movsd interrupted by a page fault keeps exact ECX/ESI/EDI and restarts", async () => {
  const m = await pm();
  m.paging();
  m.ram.write(0x22000, Array.from({ length: 0x800 }, (_, i) => (i * 13 + 1) & 0xff));
  m.setPte(0x25000, 0); // destination page not present
  const end = m.code(CODE, "rep movsd");
  m.setReg(ESI, 0x22000);
  m.setReg(EDI, 0x24f00);
  m.setReg(ECX, 0x200);
  const f = m.runFault(end);
  assert.deepEqual(f, { vec: L.EXC_PF, err: 2 });
  assert.equal(m.core.get(L.S_CR2), 0x25000);
  assert.equal(hex(m.reg(ECX)), hex(0x200 - 0x40));
  assert.equal(hex(m.reg(ESI)), hex(0x22100));
  assert.equal(hex(m.reg(EDI)), hex(0x25000));
  assert.equal(m.eip, CODE);
  assert.deepEqual(m.ram.view(0x24f00, 0x100)!, m.ram.view(0x22000, 0x100)!);
  m.setPte(0x25000, 7);
  m.runTo(end);
  assert.equal(m.reg(ECX), 0);
  assert.deepEqual(m.ram.view(0x24f00, 0x800)!, m.ram.view(0x22000, 0x800)!);

  // source side, an element straddling into the missing page, backwards
  m.setPte(0x26000, 0);
  m.code(CODE, "rep movsw");
  m.setFlags(DF);
  m.setReg(ESI, 0x27011);
  m.setReg(EDI, 0x30011);
  m.setReg(ECX, 100);
  // elements at 0x27011, 0x2700f, ... 0x27001 are fine (9 of them); 0x26fff straddles
  const g = m.runFault(end);
  assert.deepEqual(g, { vec: L.EXC_PF, err: 0 });
  assert.equal(m.core.get(L.S_CR2), 0x26fff); // the word at 0x26fff..0x27000 faults on its first byte
  assert.equal(m.reg(ECX), 100 - 9);
  assert.equal(m.reg(ESI), 0x27011 - 18);
  assert.equal(m.reg(EDI), 0x30011 - 18);
});

Deno.test("stos / lods / scas / cmps with REP, REPE, REPNE", async () => {
  const m = await pm();
  const str = new TextEncoder().encode("hello, world\0");
  m.ram.write(DATA, str);
  m.ram.write(DATA + 0x100, new TextEncoder().encode("hello, wOrld"));
  let end = m.code(
    CODE,
    `
    mov edi, 0x20000
    mov ecx, -1
    mov al, 0
    repne scasb          ; strlen
    mov ebx, ecx
    mov ebp, edi
    mov esi, 0x20000
    mov edi, 0x20100
    mov ecx, 12
    repe cmpsb           ; mismatch at index 8 ('o' vs 'O')
    pushfd
  `,
  );
  m.runTo(end);
  assert.equal(m.reg(EBX), (-1 - 13) >>> 0);
  assert.equal(m.reg(EBP), DATA + 13);
  assert.equal(m.reg(ECX), 12 - 9);
  assert.equal(m.reg(ESI), DATA + 9);
  assert.equal(m.reg(EDI), DATA + 0x109);
  assert.equal(m.r32(m.reg(ESP)) & (ZF | CF), 0); // 'o' (0x6f) - 'O' (0x4f): above
  // STD/CLD belong to another group: DF is preset through EFLAGS
  m.setFlags(0);
  end = m.code(CODE, "mov edi, 0x20200\nmov eax, 0x11223344\nmov ecx, 5\nrep stosd");
  m.runTo(end);
  for (let i = 0; i < 5; i++) assert.equal(m.r32(0x20200 + 4 * i), 0x11223344);
  assert.equal(m.r32(0x20214), 0);
  end = m.code(CODE, "mov edi, 0x20303\nmov al, 0xee\nmov ecx, 4\nrep stosb");
  m.setFlags(DF);
  m.runTo(end);
  assert.equal(m.r32(0x20300), 0xeeeeeeee);
  assert.equal(m.reg(EDI), 0x202ff);
  end = m.code(CODE, "mov esi, 0x20200\nlodsw\nmov ecx, 0\nrep lodsd\nlodsb");
  m.setFlags(0);
  m.runTo(end);
  assert.equal(m.reg(EAX) & 0xffff, 0x3322);
  assert.equal(m.reg(ESI), 0x20203);
});

Deno.test("strings in real mode: 16-bit SI/DI wrap, source override, CX counter", async () => {
  const m = (await Machine.create({ ramBytes: RAM })).real16();
  m.core.ex.setSeg(L.SEG_ES, 0x3000, 0x30000, 0xffff, 0x93);
  m.core.ex.setSeg(L.SEG_FS, 0x4000, 0x40000, 0xffff, 0x93);
  m.ram.write(0x4fffe, [1, 2, 3, 4]);
  m.ram.write(0x40000, [3, 4]);
  m.ram.write(0x4fffe, [1, 2]);
  const end = m.code(0x1000, "rep fs movsb", 16);
  m.setReg(ESI, 0x1234fffe);
  m.setReg(EDI, 0x5678fffe);
  m.setReg(ECX, 0xabcd0004);
  m.runTo(end);
  assert.deepEqual([...m.ram.view(0x3fffe, 2)!], [1, 2]);
  assert.deepEqual([...m.ram.view(0x30000, 2)!], [3, 4]);
  assert.equal(hex(m.reg(ESI)), hex(0x12340002));
  assert.equal(hex(m.reg(EDI)), hex(0x56780002));
  assert.equal(hex(m.reg(ECX)), hex(0xabcd0000));
});

Deno.test("string access past a segment limit faults with completed elements counted", async () => {
  const m = (await Machine.create({ ramBytes: RAM })).real16();
  m.core.ex.setSeg(L.SEG_DS, 0, 0, 0x10ff, 0x93); // DS limit 0x10ff
  const end = m.code(0x1000, "a32 rep movsb", 16);
  m.setReg(ESI, 0x10f0);
  m.setReg(EDI, 0x8000);
  m.setReg(ECX, 0x40);
  const f = m.runFault(end);
  assert.deepEqual(f, { vec: L.EXC_GP, err: 0 });
  assert.equal(m.reg(ECX), 0x30);
  assert.equal(m.reg(ESI), 0x1100);
});

// ---- port I/O -------------------------------------------------------------------------------
Deno.test("in/out reach the host; ins/outs with REP", async () => {
  const m = await pm();
  m.ioIn = (port, size) =>
    (port === 0x1f0 ? 0xbeef : port === 0x60 ? 0x1c : 0x12345678) &
    (size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff);
  m.ram.write(DATA + 0x40, [9, 8, 7]);
  const end = m.code(
    CODE,
    `
    in al, 0x60
    out 0x80, al
    mov dx, 0x3f8
    in eax, dx
    out dx, ax
    mov eax, 0x99
    out 0x70, eax
    mov dx, 0x1f0
    mov edi, 0x20000
    mov ecx, 3
    rep insw
    mov esi, 0x20040
    mov ecx, 3
    mov dx, 0x3f8
    rep outsb
  `,
  );
  m.runTo(end);
  const ev = m.io.map((e) => `${e.dir} ${e.port.toString(16)}/${e.size}=${e.value.toString(16)}`);
  assert.deepEqual(ev, [
    "in 60/1=1c",
    "out 80/1=1c",
    "in 3f8/4=12345678",
    "out 3f8/2=5678",
    "out 70/4=99",
    "in 1f0/2=beef",
    "in 1f0/2=beef",
    "in 1f0/2=beef",
    "out 3f8/1=9",
    "out 3f8/1=8",
    "out 3f8/1=7",
  ]);
  assert.equal(m.r16(DATA + 4), 0xbeef);
  assert.equal(m.reg(EDI), DATA + 6);
});

Deno.test("I/O permission bitmap at CPL 3: permit, deny, limit, 16-bit TSS, IOPL", async () => {
  const TSS = 0x50000;
  const setup = async (iopl = 0, type = 0x8b, limit = 0x88) => {
    const m = await pm(3);
    m.setFlags(iopl << 12);
    m.w16(TSS + 0x66, 0x68);
    m.ram.fill(TSS + 0x68, 0x21, 0xff);
    m.w8(TSS + 0x68 + 0x0c, 0xf0); // ports 0x60..0x63 allowed
    m.w8(TSS + 0x68 + 0x1f, 0x00); // ports 0xf8..0xff allowed
    m.core.ex.setSeg(L.SEG_TR, 0x28, TSS, limit, type);
    return m;
  };
  // run the snippet; the last instruction is the I/O one
  const tryIo = async (src: string, m?: Machine) => {
    m ??= await setup();
    const lines = src.split("\n");
    m.code(CODE, src);
    if (lines.length > 1) assert.equal(m.step(lines.length - 1), null);
    return { f: m.step(), n: m.io.length };
  };
  const GP0 = { vec: L.EXC_GP, err: 0 };
  assert.deepEqual(await tryIo("in al, 0x60"), { f: null, n: 1 });
  assert.deepEqual(await tryIo("in eax, 0x60"), { f: null, n: 1 });
  assert.deepEqual(await tryIo("in eax, 0x61"), { f: GP0, n: 0 }); // 0x64 denied
  assert.deepEqual(await tryIo("out 0x5f, al"), { f: GP0, n: 0 });
  assert.deepEqual(await tryIo("in al, 0xff"), { f: null, n: 1 }); // second bitmap byte at the limit
  assert.deepEqual(await tryIo("mov dx, 0x100\nin al, dx"), { f: GP0, n: 0 }); // bitmap bytes past the limit
  assert.deepEqual(await tryIo("in al, 0x60", await setup(0, 0x83)), { f: GP0, n: 0 }); // 16-bit TSS
  assert.deepEqual(await tryIo("in al, 0x20", await setup(3)), { f: null, n: 1 }); // CPL <= IOPL
  // INS/OUTS are checked too, before any memory or device access
  const m = await setup();
  m.code(CODE, "mov dx, 0x70\nmov edi, 0x20000\nrep insb");
  m.setReg(ECX, 4);
  m.step(2);
  assert.deepEqual(m.step(), { vec: L.EXC_GP, err: 0 });
  assert.equal(m.io.length, 0);
  assert.equal(m.reg(ECX), 4);
});

Deno.test("rep insb into a missing page: the port is not read for the faulting element", async () => {
  const m = await pm();
  m.paging();
  m.setPte(0x31000, 0);
  const end = m.code(CODE, "rep insb");
  m.setReg(EDX, 0x60);
  m.setReg(EDI, 0x30ffd);
  m.setReg(ECX, 8);
  assert.deepEqual(m.runFault(end), { vec: L.EXC_PF, err: 2 });
  assert.equal(m.io.length, 3);
  assert.equal(m.reg(ECX), 5);
  assert.equal(m.reg(EDI), 0x31000);
});

Deno.test("real mode: 16-bit stack wraps, call/ret, enter/leave with BP/SP", async () => {
  const m = (await Machine.create({ ramBytes: RAM })).real16();
  let end = m.code(0x1000, "push ax\npop bx\ncall f\njmp short done\nf: ret\ndone:", 16);
  m.setReg(EAX, 0x1234abcd);
  m.setReg(ESP, 0x12340000);
  m.runTo(end);
  assert.equal(m.reg(EBX) & 0xffff, 0xabcd); // pushed at SS:FFFE after SP wrapped from 0
  assert.equal(m.reg(ESP), 0x12340000); // upper half of ESP untouched by 16-bit stack arithmetic
  assert.equal(m.r16(0xfffe), 0x1005); // the call's return address, again at SS:FFFE
  m.w16(0x500 - 2, 0x4444);
  end = m.code(0x1000, "enter 6, 2\nmov cx, sp\nmov dx, bp\nleave", 16);
  m.setReg(ESP, 0x600);
  m.setReg(EBP, 0x500);
  m.runTo(end);
  assert.equal(m.reg(ECX) & 0xffff, 0x600 - 6 - 6); // BP, one copied frame pointer, new BP; then 6 bytes
  assert.equal(m.reg(EDX) & 0xffff, 0x5fe);
  assert.equal(m.r16(0x5fc), 0x4444);
  assert.equal(m.r16(0x5fa), 0x5fe);
  assert.equal(m.reg(ESP) & 0xffff, 0x600);
  assert.equal(m.reg(EBP) & 0xffff, 0x500);
});
