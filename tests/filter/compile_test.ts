/** compileFilter goes through libpcap: tcpdump's exact programs, libpcap's error messages. */
import assert from "node:assert/strict";
import { haveTool, testIf } from "../_util/corpus.ts";
import { libpcapAvailable } from "../../ffi/libpcap.ts";
import { compileFilter, dumpProgram } from "../../lib/filter/mod.ts";
import { MppError } from "../../lib/errors.ts";

const lib = libpcapAvailable();
const EXPRS = [
  "tcp port 80",
  "ip[8] < 64",
  "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
  "vlan 10 and udp portrange 1000-2000",
  "ip6 multicast or ether broadcast",
  "less 100 or greater 1400",
  "ip[0] % 3 = 1 or ip[1] ^ 3 = 2 or -ip[3] = 0 or ip[0] << ip[1] = 5",
  "net 10.0.0.0/8 and not host 10.1.2.3",
];

testIf(
  lib && haveTool("tcpdump"),
  "needs libpcap and tcpdump",
  "programs are identical to tcpdump -d",
  () => {
    for (const linkType of [[1, "EN10MB"], [113, "LINUX_SLL"], [101, "RAW"]] as const) {
      for (const expr of EXPRS) {
        const r = new Deno.Command("tcpdump", {
          args: ["-d", "-y", linkType[1], expr],
          stdout: "piped",
          stderr: "piped",
        })
          .outputSync();
        const ours = (() => {
          try {
            return dumpProgram(compileFilter(expr, linkType[0]));
          } catch (e) {
            return e instanceof MppError ? "error" : String(e);
          }
        })();
        if (!r.success) {
          assert.equal(ours, "error", `${expr} on ${linkType[1]}: tcpdump refused it, mpp did not`);
          continue;
        }
        assert.equal(ours + "\n", new TextDecoder().decode(r.stdout), `${expr} on ${linkType[1]}`);
      }
    }
  },
);

testIf(lib, "libpcap is not installed", "bad expressions give libpcap's message as a usage error", () => {
  const cases: [string, RegExp][] = [
    ["tcp port", /bad filter "tcp port": .*syntax error/],
    ["host 999.1.1.1", /bad filter "host 999.1.1.1": .*999\.1\.1\.1/],
    ["portrange 5-", /bad filter/],
    ["ip[", /bad filter/],
    ["nosuchkeyword", /bad filter "nosuchkeyword":/],
  ];
  for (const [expr, re] of cases) {
    assert.throws(() => compileFilter(expr, 1), (e) => {
      assert.ok(e instanceof MppError);
      assert.equal(e.code, "bad_usage");
      assert.match(e.message, re);
      assert.match(e.hint, /tcpdump's syntax/);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});

testIf(lib, "libpcap is not installed", "bad link type or snaplen arguments are usage errors", () => {
  for (const [lt, sl] of [[-1, 100], [70000, 100], [1.5, 100], [1, 0], [1, -5]]) {
    assert.throws(() => compileFilter("ip", lt, sl), (e) => e instanceof MppError && e.code === "bad_usage");
  }
  // A filter that cannot apply to the link type: libpcap says so.
  assert.throws(() => compileFilter("ether host 1:2:3:4:5:6", 101), /bad filter/);
  // The empty filter accepts everything.
  const all = compileFilter("", 1);
  assert.equal(all.length, 1);
  assert.equal(all.expr, "");
});
