/** CaptureOutput (lib/capture/rotation.ts): formats, dumpcap ring names, file limits, argument errors. */
import assert from "node:assert/strict";
import { CaptureOutput, formatForPath, ringFileName } from "../../lib/capture/rotation.ts";
import { readCapture } from "../../lib/capture/mod.ts";
import { MppError } from "../../lib/errors.ts";

const eth = { name: "eth0", linkType: 1, snaplen: 262144, nanos: false };
const frame = new Uint8Array(100).map((_, i) => i);

Deno.test("format from the name or -F; pcapng by default", () => {
  assert.equal(formatForPath("a.pcap"), "pcap");
  assert.equal(formatForPath("a.PCAP"), "pcap");
  assert.equal(formatForPath("a.pcapng"), "pcapng");
  assert.equal(formatForPath("capture"), "pcapng");
  assert.equal(formatForPath("a.pcapng", "pcap"), "pcap");
  assert.throws(() => formatForPath("a", "erf"), (e) => e instanceof MppError && e.code === "bad_usage");
});

Deno.test("dumpcap-style ring names keep the extension and carry number and local time", () => {
  const ms = new Date(2024, 6, 14, 12, 1, 17).getTime();
  assert.equal(ringFileName("/x/out.pcapng", 1, ms), "/x/out_00001_20240714120117.pcapng");
  assert.equal(ringFileName("out", 42, ms), "out_00042_20240714120117");
  assert.equal(ringFileName("/a.b/c.pcap", 7, ms), "/a.b/c_00007_20240714120117.pcap");
});

Deno.test("size rotation with files:N keeps the newest N, and every file reads back", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    let now = Date.UTC(2024, 0, 1);
    const out = new CaptureOutput({
      path: `${dir}/r.pcapng`,
      format: "pcapng",
      interfaces: [eth],
      ring: { filesizeKB: 2, files: 3 },
      now: () => (now += 1000),
    });
    for (let i = 0; i < 100; i++) out.write(0, frame, 0, 100, 120, 1700000000 + i, i);
    out.close();
    assert.equal(out.records, 100);
    assert.ok(out.fileCount >= 6, `${out.fileCount} files`);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.equal(left.length, 3);
    assert.deepEqual(left.map((n) => `${dir}/${n}`), out.files);
    for (const f of out.files) {
      const r = await readCapture(f, () => {});
      assert.equal(r.issues.filter((i) => i.fatal).length, 0, f);
      assert.ok(Deno.statSync(f).size <= 2000 + 150);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("duration rotation happens on tick, even without packets", () => {
  const dir = Deno.makeTempDirSync();
  try {
    let now = 0;
    const out = new CaptureOutput({
      path: `${dir}/d.pcap`,
      format: "pcap",
      interfaces: [eth],
      ring: { durationS: 2 },
      now: () => now,
    });
    out.write(0, frame, 0, 60, 60, 1, 0);
    now = 1500;
    out.tick();
    assert.equal(out.fileCount, 1);
    now = 2100;
    out.tick();
    now = 4200;
    out.tick();
    out.close();
    assert.equal(out.fileCount, 3);
    assert.equal(Deno.statSync(out.files[0]).size, 24 + 16 + 60);
    assert.equal(Deno.statSync(out.files[2]).size, 24);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("bad combinations are usage errors", () => {
  const bad = (o: ConstructorParameters<typeof CaptureOutput>[0], re: RegExp) =>
    assert.throws(
      () => new CaptureOutput(o),
      (e) => e instanceof MppError && e.code === "bad_usage" && re.test(e.message),
    );
  bad({ path: "-", format: "pcap", interfaces: [eth], ring: { filesizeKB: 1 } }, /need a file name/);
  bad({ path: "/tmp/x", format: "pcap", interfaces: [eth], ring: { files: 3 } }, /files:N needs a condition/);
  bad(
    { path: "/tmp/x.pcap", format: "pcap", interfaces: [eth, { ...eth, name: "lo2", linkType: 113 }] },
    /different link types/,
  );
});

Deno.test("a file that cannot be created is an MppError naming it", () => {
  assert.throws(
    () => new CaptureOutput({ path: "/nonexistent-dir/x.pcap", format: "pcap", interfaces: [eth] }),
    (e) =>
      e instanceof MppError && e.code === "io" && /cannot create \/nonexistent-dir\/x\.pcap/.test(e.message),
  );
});

Deno.test("nanosecond interfaces keep nanoseconds in pcap and pcapng", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    for (const format of ["pcap", "pcapng"] as const) {
      const path = `${dir}/n.${format}`;
      const out = new CaptureOutput({ path, format, interfaces: [{ ...eth, nanos: true }] });
      out.write(0, frame, 0, 64, 64, 1700000000, 123456789);
      out.close();
      const ts: number[] = [];
      await readCapture(path, (r) => ts.push(r.tsSec, r.tsNsec));
      assert.deepEqual(ts, [1700000000, 123456789], format);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
