// `deno task smoke` (cli/smoke.ts): --help, and a clear error with exit status 2 for bad flags
// (the checks themselves run in tests/platform/smoke_test.ts).
import assert from "node:assert/strict";
import { smoke, SMOKE_USAGE } from "../../cli/smoke.ts";

Deno.test("smoke: --help prints the usage, bad flags exit 2", async () => {
  const logged: string[] = [];
  const log = console.log, error = console.error;
  console.log = (s: string) => logged.push(s);
  console.error = (s: string) => logged.push(s);
  try {
    assert.equal(await smoke(["--help"]), 0);
    assert.equal(logged.pop(), SMOKE_USAGE);
    assert.equal(await smoke(["--only", "disk"]), 2);
    assert.match(logged.pop()!, /--only disk: boot or nic/);
    assert.equal(await smoke(["--timeout", "soon"]), 2);
    assert.match(logged.pop()!, /--timeout soon/);
    assert.equal(await smoke(["--bogus"]), 2);
    assert.match(logged.pop()!, /^smoke: .*bogus/);
  } finally {
    console.log = log;
    console.error = error;
  }
});
