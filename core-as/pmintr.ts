// Protected-mode interrupt delivery (filled in by the system-instructions work).
import { ud } from "./fault";
export function pmInterrupt(vec: u32, err: i32, kind: u32): void {
  ud();
}
