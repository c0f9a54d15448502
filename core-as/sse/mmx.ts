// EMMS: leave MMX mode (every x87 tag empty, TOP 0). The MMX arithmetic itself is the packed
// integer code shared with SSE2 (int.ts, shuffle.ts), its moves are in mov.ts.
import { mmxBegin, mmEmpty } from "./state";

export function emms(): void {
  mmxBegin();
  mmEmpty();
}
