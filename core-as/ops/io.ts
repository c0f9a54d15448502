// IN/OUT with an immediate or DX port. The permission check comes first; the device access is
// the last thing that happens, so a port with side effects is never touched by a faulting IN/OUT.
import { r8, r16, r32, w8, w16, w32 } from "../state";
import { fetch8 } from "../fetch";
import { ioCheck } from "../ioperm";
import { io_in, io_out } from "../env";

@inline function inTo(port: u32, size: u32): void {
  ioCheck(port, size);
  const v = io_in(port, size);
  if (size == 4) w32(0, v); else if (size == 2) w16(0, v); else w8(0, v);
}
@inline function outFrom(port: u32, size: u32): void {
  ioCheck(port, size);
  io_out(port, size, size == 4 ? r32(0) : size == 2 ? r16(0) : r8(0));
}

export function in_ALIb(): void { inTo(fetch8(), 1); }
@inline export function in_eAXIb(size: u32): void { inTo(fetch8(), size); }
export function out_IbAL(): void { outFrom(fetch8(), 1); }
@inline export function out_IbeAX(size: u32): void { outFrom(fetch8(), size); }
export function in_ALDX(): void { inTo(r16(2), 1); }
@inline export function in_eAXDX(size: u32): void { inTo(r16(2), size); }
export function out_DXAL(): void { outFrom(r16(2), 1); }
@inline export function out_DXeAX(size: u32): void { outFrom(r16(2), size); }
