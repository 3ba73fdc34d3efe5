import assert from "node:assert/strict";
import * as libc from "../../ffi/libc.ts";
import { isRoot, testIf } from "../_util/corpus.ts";
import { kernelMroute4 } from "./_netns.ts";

Deno.test("libc: a failing call throws SyscallError with errno, its name and strerror text", () => {
  assert.throws(() => libc.setsockoptInt(-1, 0, 200, 1, "MRT_INIT"), (e: unknown) => {
    assert.ok(e instanceof libc.SyscallError);
    assert.equal(e.errno, 9);
    assert.equal(e.errnoName, "EBADF");
    assert.equal(e.message, "setsockopt MRT_INIT: Bad file descriptor (EBADF)");
    return true;
  });
  assert.equal(libc.strerror(98), "Address already in use");
  assert.equal(libc.errnoName(98), "EADDRINUSE");
  assert.equal(libc.errnoName(4242), "errno 4242");
});

Deno.test("libc: if_nametoindex finds lo and returns 0 for a missing name", () => {
  assert.equal(libc.ifNameToIndex("lo"), 1);
  assert.equal(libc.ifNameToIndex("no-such-if0"), 0);
});

Deno.test("libc: poll off the event loop times out, then sees data on a socket", async () => {
  const fd = libc.socket(libc.AF_INET, libc.SOCK_DGRAM | libc.SOCK_NONBLOCK, 0);
  try {
    const pfd = new Uint8Array(8);
    let ticks = 0;
    const t = setInterval(() => ticks++, 5);
    const ready = await libc.waitReadable(fd, 60, pfd);
    clearInterval(t);
    assert.equal(ready, false);
    assert.ok(ticks >= 3, `event loop kept running during poll (ticks=${ticks})`);
    assert.equal(libc.readNonBlocking(fd, new Uint8Array(16)), -1, "EAGAIN maps to -1");
  } finally {
    libc.close(fd);
  }
});

testIf(
  isRoot && kernelMroute4,
  isRoot ? "this kernel has no IPv4 multicast routing (CONFIG_IP_MROUTE)" : "needs root (raw sockets)",
  "libc: raw IGMP socket refuses a second MRT_INIT with EADDRINUSE (in a fresh netns)",
  () => {
    const code = `
    import * as libc from ${JSON.stringify(new URL("../../ffi/libc.ts", import.meta.url).href)};
    const a = libc.socket(2, 3, 2), b = libc.socket(2, 3, 2);
    libc.setsockoptInt(a, 0, 200, 1);
    try { libc.setsockoptInt(b, 0, 200, 1, "MRT_INIT"); console.log("no error"); }
    catch (e) { console.log(e.errnoName + "|" + e.message); }`;
    const out = new Deno.Command("unshare", { args: ["-n", Deno.execPath(), "eval", code] }).outputSync();
    assert.equal(
      new TextDecoder().decode(out.stdout).trim(),
      "EADDRINUSE|setsockopt MRT_INIT: Address already in use (EADDRINUSE)",
    );
  },
);
