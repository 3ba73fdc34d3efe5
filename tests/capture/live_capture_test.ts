/** LiveCapture's boundary: options are validated before any thread starts; open errors are MppErrors. */
import assert from "node:assert/strict";
import { isRoot, testIf } from "../_util/corpus.ts";
import { LiveCapture } from "../../lib/capture/live.ts";
import { libpcapAvailable } from "../../ffi/libpcap.ts";
import { MppError } from "../../lib/errors.ts";

Deno.test("bad options are usage errors naming the field", async () => {
  const cases: [Parameters<typeof LiveCapture.open>[0], RegExp][] = [
    [{ interfaces: [] }, /interfaces/],
    [{ interfaces: ["lo"], snaplen: 0 }, /snaplen/],
    [{ interfaces: ["lo"], snaplen: 300000 }, /snaplen/],
    [{ interfaces: ["lo"], timeoutMs: 0 }, /timeoutMs/],
    [{ interfaces: ["lo"], bufferBytes: -1 }, /bufferBytes/],
    [{ interfaces: [""] }, /interfaces/],
  ];
  for (const [opts, re] of cases) {
    await assert.rejects(LiveCapture.open(opts), (e) => {
      assert.ok(e instanceof MppError, String(e));
      assert.equal(e.code, "bad_usage");
      assert.match(e.message, re);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});

testIf(
  isRoot && libpcapAvailable(),
  "needs root and libpcap",
  "an unknown interface rejects with the list of real ones",
  async () => {
    await assert.rejects(LiveCapture.open({ interfaces: ["mpp-nope9"] }), (e) => {
      assert.ok(e instanceof MppError);
      assert.equal(e.code, "not_found");
      assert.match(e.hint, /\blo\b/);
      return true;
    });
    await assert.rejects(LiveCapture.open({ interfaces: ["lo"], filter: "tcp port" }), (e) => {
      assert.ok(e instanceof MppError);
      assert.equal(e.code, "bad_usage");
      assert.match(e.message, /bad filter "tcp port"/);
      return true;
    });
  },
);
