import assert from "node:assert/strict";
import { encodePcap } from "../../lib/capture/pcap_writer.ts";
import { encodePcapng } from "../../lib/capture/pcapng_writer.ts";
import { readCapture } from "../../lib/capture/reader.ts";
import { MppError } from "../../lib/errors.ts";
import { frame } from "./_build.ts";

const recs = Array.from({ length: 2000 }, (_, i) => ({
  data: frame(40 + (i % 300), i),
  origLen: 1000,
  tsSec: 1_650_000_000 + i,
  tsNsec: (i * 7919) % 1e9,
}));
const pcap = encodePcap(recs, { precision: "ns" });

async function gzip(b: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([b as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

async function withTemp(name: string, bytes: Uint8Array, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/${name}`;
    await Deno.writeFile(path, bytes);
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function collect() {
  const seen: { len: number; sec: number; nsec: number; first: number }[] = [];
  return {
    seen,
    sink: (r: { data: Uint8Array; tsSec: number; tsNsec: number }) =>
      void seen.push({ len: r.data.length, sec: r.tsSec, nsec: r.tsNsec, first: r.data[0] }),
  };
}

function check(seen: { len: number; sec: number; nsec: number; first: number }[]): void {
  assert.equal(seen.length, recs.length);
  for (let i = 0; i < recs.length; i += 97) {
    assert.equal(seen[i].len, recs[i].data.length);
    assert.equal(seen[i].sec, recs[i].tsSec);
    assert.equal(seen[i].nsec, recs[i].tsNsec);
    assert.equal(seen[i].first, recs[i].data[0]);
  }
}

Deno.test("readCapture: plain file in small chunks, progress reports the file size", async () => {
  await withTemp("a.pcap", pcap, async (path) => {
    const { seen, sink } = collect();
    const progress: [number, number | undefined][] = [];
    const r = await readCapture(path, sink, {
      chunkSize: 4096,
      onProgress: (a, b) => void progress.push([a, b]),
    });
    check(seen);
    assert.equal(r.records, recs.length);
    assert.equal(r.bytesRead, pcap.length);
    assert.equal(r.compressed, false);
    assert.equal(r.info.format, "pcap");
    assert.deepEqual(r.issues, []);
    assert.ok(progress.length > 10);
    assert.deepEqual(progress[progress.length - 1], [pcap.length, pcap.length]);
  });
});

Deno.test("readCapture: gzip detected by magic (with or without .gz), pcapng too", async () => {
  const gz = await gzip(pcap);
  for (const name of ["b.pcap.gz", "b.bin"]) {
    await withTemp(name, gz, async (path) => {
      const { seen, sink } = collect();
      const r = await readCapture(path, sink, { chunkSize: 8192 });
      check(seen);
      assert.equal(r.compressed, true);
      assert.equal(r.bytesRead, gz.length);
    });
  }
  const ng = encodePcapng(recs, { interfaces: [{ linkType: 1 }] });
  await withTemp("c.pcapng.gz", await gzip(ng), async (path) => {
    const { seen, sink } = collect();
    const r = await readCapture(path, sink);
    check(seen);
    assert.equal(r.info.format, "pcapng");
  });
});

Deno.test("readCapture: a cut gzip stream keeps the records before the damage and says so", async () => {
  const gz = await gzip(pcap);
  await withTemp("cut.pcap.gz", gz.subarray(0, Math.floor(gz.length * 0.6)), async (path) => {
    const { seen, sink } = collect();
    const r = await readCapture(path, sink);
    assert.ok(seen.length > 100 && seen.length < recs.length, `${seen.length} records`);
    const fatal = r.issues.filter((i) => i.fatal);
    assert.equal(fatal.length, 1);
    assert.match(fatal[0].message, /gzip stream damaged or cut short|truncated record/);
  });
});

Deno.test("readCapture: gzip magic followed by garbage is an MppError, a plain file named .gz is read as is", async () => {
  await withTemp(
    "bad.pcap.gz",
    Uint8Array.of(0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    async (path) => {
      await assert.rejects(readCapture(path, () => {}), (e: unknown) => {
        return e instanceof MppError && e.code === "bad_capture" && /^gzip stream damaged/.test(e.message);
      });
    },
  );
  await withTemp("plain.pcap.gz", pcap, async (path) => {
    const { seen, sink } = collect();
    const r = await readCapture(path, sink);
    check(seen);
    assert.equal(r.compressed, false);
  });
});

Deno.test("readCapture: missing file, directory, empty file and garbage are MppErrors with hints", async () => {
  await assert.rejects(readCapture("/nonexistent/x.pcap", () => {}), (e: unknown) => {
    assert.ok(e instanceof MppError);
    assert.equal(e.code, "not_found");
    assert.match(e.message, /\/nonexistent\/x\.pcap: no such file/);
    assert.ok(e.hint.length > 0);
    return true;
  });
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      readCapture(dir, () => {}),
      (e: unknown) => e instanceof MppError && e.code === "bad_input",
    );
  } finally {
    await Deno.remove(dir);
  }
  await withTemp("empty.pcap", new Uint8Array(0), async (path) => {
    await assert.rejects(readCapture(path, () => {}), (e: unknown) => {
      return e instanceof MppError && e.code === "bad_capture" && e.message === "empty file (0 bytes)";
    });
  });
  await withTemp("page.html", new TextEncoder().encode("<html></html>"), async (path) => {
    await assert.rejects(readCapture(path, () => {}), /unknown magic 0x3c68746d at byte 0/);
  });
});

const readerUrl = new URL("../../lib/capture/reader.ts", import.meta.url).href;
const deno = Deno.execPath();

/** Runs a script (given on the child's stdin) with the given permissions; returns its stdout. */
async function runChild(args: string[], code: string): Promise<string> {
  const child = new Deno.Command(deno, {
    args: [...args, "--no-lock", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1" },
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(code));
  await w.close();
  const out = await child.output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

/** readCapture("-") in a child whose stdin `feed` writes; returns what the child printed, parsed. */
async function readStdinChild(
  feed: (w: WritableStreamDefaultWriter<Uint8Array>) => Promise<void>,
): Promise<Record<string, unknown>> {
  const script = `
    import { readCapture } from ${JSON.stringify(readerUrl)};
    let n = 0, last = 0, sum = 0;
    const r = await readCapture("-", (rec) => { n++; last = rec.tsNsec; sum += rec.data.length + rec.tsNsec; });
    console.log(JSON.stringify({ n, last, sum, records: r.records, compressed: r.compressed, bytes: r.bytesRead }));
  `;
  const child = new Deno.Command(deno, {
    args: ["eval", "--no-lock", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1" },
  }).spawn();
  const w = child.stdin.getWriter();
  await feed(w);
  await w.close();
  const out = await child.output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

const expectedStdin = {
  n: recs.length,
  last: recs[recs.length - 1].tsNsec,
  sum: recs.reduce((a, r) => a + r.data.length + r.tsNsec, 0),
  records: recs.length,
};

Deno.test("readCapture: '-' reads stdin (plain and gzip) in a subprocess", async () => {
  for (const gz of [false, true]) {
    const data = gz ? await gzip(pcap) : pcap;
    const res = await readStdinChild((w) => w.write(data));
    assert.deepEqual(res, { ...expectedStdin, compressed: gz, bytes: data.length });
  }
});

Deno.test("readCapture: '-' read in pieces (a slow pipe) gives every record once", async () => {
  const res = await readStdinChild(async (w) => {
    // Odd-sized pieces with pauses: reads return part of a header, of a record, of the file header.
    for (let o = 0, k = 0; o < pcap.length; k++) {
      const n = k < 8 ? 7 : 1021;
      await w.write(pcap.subarray(o, Math.min(pcap.length, o + n)));
      o += n;
      if (k % 16 === 0) await new Promise((r) => setTimeout(r, 1));
    }
  });
  assert.deepEqual(res, { ...expectedStdin, compressed: false, bytes: pcap.length });
});

Deno.test("readCapture: a refused read permission is an MppError('permission')", async () => {
  await withTemp("p.pcap", pcap, async (path) => {
    const text = await runChild(
      ["run", "--allow-read=/nonexistent-dir"],
      `
      import { readCapture } from ${JSON.stringify(readerUrl)};
      try { await readCapture(${JSON.stringify(path)}, () => {}); console.log("read"); }
      catch (e) { console.log(e.code + " | " + e.message + " | " + e.hint); }
    `,
    );
    assert.match(text, /^permission \| .*p\.pcap: permission denied \| .+/);
  });
});

Deno.test("readCapture: a named pipe is read to its end; its size is unknown to progress", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fifo = `${dir}/cap.fifo`;
    const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(mk.success, "mkfifo failed");
    const writer = (async () => {
      const f = await Deno.open(fifo, { write: true });
      const w = f.writable.getWriter();
      for (let o = 0; o < pcap.length; o += 10000) await w.write(pcap.subarray(o, o + 10000));
      await w.close();
    })();
    const { seen, sink } = collect();
    let lastTotal: number | undefined = -1;
    const r = await readCapture(fifo, sink, { onProgress: (_, t) => void (lastTotal = t) });
    await writer;
    check(seen);
    assert.equal(r.bytesRead, pcap.length);
    assert.equal(lastTotal, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readCapture: an error thrown by the sink reaches the caller unchanged (plain and gzip)", async () => {
  for (const [name, bytes] of [["s.pcap", pcap], ["s.pcap.gz", await gzip(pcap)]] as const) {
    await withTemp(name, bytes, async (path) => {
      let n = 0;
      const boom = new Error("sink gave up");
      await assert.rejects(
        readCapture(path, () => {
          if (++n === 1500) throw boom;
        }, { chunkSize: 4096 }),
        (e: unknown) => e === boom,
      );
      assert.equal(n, 1500);
    });
  }
});
