/** The libpcap binding: version check, interface listing, struct layouts, error mapping. */
import assert from "node:assert/strict";
import { haveTool, testIf } from "../_util/corpus.ts";
import { findAllDevs, libpcap, libpcapAvailable, MemoryDumper, PcapHandle } from "../../ffi/libpcap.ts";
import { MppError } from "../../lib/errors.ts";

const lib = libpcapAvailable();

testIf(lib, "libpcap is not installed", "loads and reports its version", () => {
  const l = libpcap();
  assert.match(l.version, /^libpcap version \d+\.\d+/);
  assert.ok(l.pcapDumpFn, "pcap_dump address");
});

testIf(lib, "libpcap is not installed", "findAllDevs lists lo with its address and flags", () => {
  const devs = findAllDevs();
  const lo = devs.find((d) => d.name === "lo");
  assert.ok(lo, `lo missing from ${devs.map((d) => d.name).join(",")}`);
  assert.equal(lo.loopback, true);
  assert.equal(lo.up, true);
  assert.ok(
    lo.addresses.some((a) => a.family === "inet" && a.addr === "127.0.0.1" && a.netmask === "255.0.0.0"),
  );
  if (haveTool("ip")) {
    // Every interface `ip link` knows is listed (libpcap adds pseudo-devices such as any on top).
    const out = new TextDecoder().decode(
      new Deno.Command("ip", { args: ["-o", "link"] }).outputSync().stdout,
    );
    for (const m of out.matchAll(/^\d+: ([^:@]+)/gm)) assert.ok(devs.some((d) => d.name === m[1]), m[1]);
  }
});

testIf(lib, "libpcap is not installed", "a missing file and a missing interface are MppErrors", () => {
  assert.throws(() => PcapHandle.openOffline("/nonexistent/x.pcap"), (e) => {
    return e instanceof MppError && e.code === "bad_input" && /\/nonexistent\/x\.pcap/.test(e.message);
  });
  using h = PcapHandle.create("mpp-no-such-if0");
  assert.throws(() => h.activate(() => ["lo", "eth0"]), (e) => {
    assert.ok(e instanceof MppError);
    assert.equal(e.code, "not_found");
    assert.match(e.message, /no such interface: mpp-no-such-if0/);
    assert.match(e.hint, /lo, eth0/);
    return true;
  });
});

testIf(lib, "libpcap is not installed", "MemoryDumper writes pcap records into shared memory", () => {
  // A pcap file built here: one 20-byte frame, µs precision.
  const file = new Uint8Array(24 + 16 + 20);
  const dv = new DataView(file.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, 1, true);
  dv.setUint32(24, 1700000000, true);
  dv.setUint32(28, 123456, true);
  dv.setUint32(32, 20, true);
  dv.setUint32(36, 60, true);
  for (let i = 0; i < 20; i++) file[40 + i] = i + 1;
  const path = Deno.makeTempFileSync({ suffix: ".pcap" });
  try {
    Deno.writeFileSync(path, file);
    using h = PcapHandle.openOffline(path);
    const region = new Uint8Array(new SharedArrayBuffer(4096));
    using d = new MemoryDumper(h, region);
    const out = { end: 0 };
    assert.equal(d.dispatch(64, 10, out), 1);
    assert.equal(out.end, 64 + 16 + 20);
    assert.deepEqual(region.subarray(64, 64 + 36), file.subarray(24));
    assert.equal(d.dispatch(out.end, 10, out), 0);
  } finally {
    Deno.removeSync(path);
  }
});

testIf(lib && haveTool("cc"), "needs libpcap and cc", "struct offsets match the C compiler", () => {
  const src = `#include <pcap/pcap.h>
#include <stddef.h>
#include <stdio.h>
#include <poll.h>
int main(void){printf("%zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu\\n",
offsetof(pcap_if_t,name),offsetof(pcap_if_t,description),offsetof(pcap_if_t,addresses),offsetof(pcap_if_t,flags),
offsetof(struct pcap_addr,addr),offsetof(struct pcap_addr,netmask),sizeof(struct bpf_program),offsetof(struct bpf_program,bf_insns),
sizeof(struct bpf_insn),sizeof(struct pcap_pkthdr),sizeof(struct pcap_stat),sizeof(struct pollfd));return 0;}`;
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/o.c`, src);
    const cc = new Deno.Command("cc", { args: ["-o", `${dir}/o`, `${dir}/o.c`], stderr: "piped" })
      .outputSync();
    if (!cc.success) {
      // Without libpcap-dev the header is missing: say so rather than pass silently.
      console.warn(`SKIP offset check: ${new TextDecoder().decode(cc.stderr).split("\n")[0]}`);
      return;
    }
    const out = new TextDecoder().decode(new Deno.Command(`${dir}/o`).outputSync().stdout).trim();
    assert.equal(out, "8 16 24 32 8 16 16 8 8 24 12 8");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
