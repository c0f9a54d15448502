// Run by /opt/node/run as `node -e "$(cat check.js)"` with N (a count) and S (a word) in the
// environment. Every result line starts with "NODE "; tests/guest/node_test.ts recomputes them.
const n = Number(process.env.N), s = String(process.env.S);
// a JavaScript loop (V8's optimising compiler gets it hot)
let acc = 0;
for (let i = 0; i < n; i++) acc = (acc * 31 + i * i) % 1000003;
console.log("NODE loop " + acc);
// OpenSSL through node:crypto
console.log("NODE sha256 " + require("crypto").createHash("sha256").update(s).digest("hex"));
// a WebAssembly module written byte by byte: add(a, b) and sq(n) = sum of i*i for i < n (i32)
const vec = (a) => [a.length, ...a];
const sec = (id, a) => [id, ...vec(a)];
const name = (t) => vec([...t].map((c) => c.charCodeAt(0)));
const I32 = 0x7f;
const wasm = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  1,
  0,
  0,
  0,
  ...sec(1, [2, 0x60, 2, I32, I32, 1, I32, 0x60, 1, I32, 1, I32]), // types
  ...sec(3, [2, 0, 1]), // functions
  ...sec(7, [2, ...name("add"), 0, 0, ...name("sq"), 0, 1]), // exports
  ...sec(10, [
    2, // code
    ...vec([0, 0x20, 0, 0x20, 1, 0x6a, 0x0b]), // local.get 0, local.get 1, i32.add
    ...vec([
      1,
      2,
      I32, // locals i, acc
      0x02,
      0x40,
      0x03,
      0x40, // block, loop
      0x20,
      1,
      0x20,
      0,
      0x4e,
      0x0d,
      1, // br_if 1 (exit) when i >= n
      0x20,
      2,
      0x20,
      1,
      0x20,
      1,
      0x6c,
      0x6a,
      0x21,
      2, // acc += i * i
      0x20,
      1,
      0x41,
      1,
      0x6a,
      0x21,
      1,
      0x0c,
      0, // i += 1, br 0
      0x0b,
      0x0b,
      0x20,
      2,
      0x0b,
    ]),
  ]),
]);
console.log("NODE wasm valid " + WebAssembly.validate(wasm));
// a module whose only type returns a v128: valid wherever WebAssembly SIMD is; V8 on ia32
// enables SIMD only with SSE4.1, so on a Core Duo (SSE3) it must be false
const simd = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...sec(1, [1, 0x60, 0, 1, 0x7b])]);
console.log("NODE simd valid " + WebAssembly.validate(simd));
WebAssembly.instantiate(wasm).then(({ instance }) => {
  const { add, sq } = instance.exports;
  console.log("NODE wasm add " + add(n, s.length * 1000));
  console.log("NODE wasm sq " + sq(n));
}, (e) => {
  console.log("NODE wasm error " + e);
  process.exitCode = 1;
});
