/**
 * The portable artifact (`deno task compile`, scripts/compile.ts): dist/mpp.js plus one bundled
 * module per Worker beside it. Run from another directory with no access to the source tree, the
 * whole directory does everything the source tree does (sharded analysis, the --streams file thread,
 * live capture); mpp.js copied alone falls back to one thread or says what is missing.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { isRoot, testIf } from "../_util/corpus.ts";
import { libpcapAvailable } from "../../ffi/libpcap.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const deno = `${root}node_modules/.bin/deno`;
const sample = `${root}samples/demo.pcapng`;
const dec = new TextDecoder();

async function compile(dir: string): Promise<void> {
  const b = await new Deno.Command(deno, {
    args: ["run", "-A", `${root}scripts/compile.ts`, dir],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(b.success, dec.decode(b.stderr));
}

async function run(dir: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(deno, {
    args: ["run", "-A", "--no-config", `${dir}/mpp.js`, ...args],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1" },
  }).output();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

/** A report with the two TCP figures that are per shard by design zeroed (see analyze_shards_test.ts). */
function comparable(json: string): unknown {
  const r = JSON.parse(json);
  r.tcp.peakBuffered = 0;
  r.tcp.limits.globalLimit = 0;
  return r;
}

async function streamsOk(dir: string, out: string): Promise<void> {
  const r = await run(dir, ["analyze", "-q", "--streams", out, sample]);
  assert.equal(r.code, 0, r.err);
  const index = JSON.parse(await Deno.readTextFile(`${out}/index.json`));
  let files = 0;
  for (const st of index.streams) {
    for (const side of [st.orig, st.resp]) {
      if (side.file === null) continue;
      files++;
      assert.equal((await Deno.stat(`${out}/${side.file}`)).size, side.bytes, side.file);
    }
  }
  assert.ok(files > 0, "the sample has TCP payload");
}

Deno.test("the portable artifact: dist/ analyses from anywhere, on Workers too; mpp.js alone falls back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mpp-bundle-" });
  try {
    await compile(`${dir}/dist`);
    const files = [...Deno.readDirSync(`${dir}/dist`)].map((e) => e.name).sort();
    assert.deepEqual(files, ["analyze_worker.js", "file_writer_worker.js", "live_worker.js", "mpp.js"]);
    const one = await run(`${dir}/dist`, ["analyze", "--json", sample]);
    assert.equal(one.code, 0, one.err);
    assert.equal(JSON.parse(one.out).summary.packets, 1500);
    // The whole directory: two threads give the same report, with no fallback note.
    const two = await run(`${dir}/dist`, ["analyze", "--json", "--threads", "2", sample]);
    assert.equal(two.code, 0, two.err);
    assert.deepEqual(comparable(two.out), comparable(one.out));
    assert.doesNotMatch(two.err, /one thread/);
    await streamsOk(`${dir}/dist`, `${dir}/streams-dist`);
    // mpp.js alone: one thread, said so; --streams writes in-thread; live capture names what is missing.
    await Deno.mkdir(`${dir}/alone`);
    await Deno.copyFile(`${dir}/dist/mpp.js`, `${dir}/alone/mpp.js`);
    const t = await run(`${dir}/alone`, ["analyze", "--json", "--threads", "2", sample]);
    assert.equal(t.code, 0, t.err);
    assert.equal(t.out, one.out);
    assert.match(t.err, /one thread: no Worker module/);
    await streamsOk(`${dir}/alone`, `${dir}/streams-alone`);
    const c = await run(`${dir}/alone`, ["capture", "-i", "lo", "-c", "1", "-w", `${dir}/x.pcap`]);
    assert.equal(c.code, 1, c.err);
    assert.match(
      c.err,
      /^mpp: live capture needs its capture thread's module \(live_worker\.js beside mpp\.js\)/,
    );
    assert.doesNotMatch(c.err, /\n\s+at /, "no stack trace");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

testIf(
  isRoot && libpcapAvailable(),
  isRoot ? "needs libpcap (libpcap0.8)" : "needs root (live capture)",
  "the portable artifact captures live: dist/mpp.js opens lo through its capture thread",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mpp-bundle-live-" });
    try {
      await compile(`${dir}/dist`);
      const c = await run(`${dir}/dist`, ["capture", "-i", "lo", "-a", "duration:1", "-w", `${dir}/lo.pcap`]);
      assert.equal(c.code, 0, c.err);
      assert.match(c.err, /listening on lo, link-type 1/);
      // A pcap header at least (loopback may be quiet for that second).
      assert.ok((await Deno.stat(`${dir}/lo.pcap`)).size >= 24);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
