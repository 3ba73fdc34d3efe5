import assert from "node:assert/strict";
import { join } from "node:path";
import { analyzeFiles, type AnalyzeFilesOptions } from "../../lib/flow/analyze_files.ts";
import { shardPlan } from "../../lib/flow/analyze_shards.ts";
import type { AnalyzeReport } from "../../lib/flow/report_schema.ts";
import { AnalyzeReport as ReportSchema } from "../../lib/flow/report_schema.ts";
import { writeGenerated } from "../../bench/gen/write.ts";
import { corpusFiles, corpusPath, corpusTest, eachCorpusFile } from "../_util/corpus.ts";
import { MppError } from "../../lib/errors.ts";

/**
 * The sharded report must equal the one-thread report exactly, except the two TCP figures that
 * are per shard by design: each shard's share of the global cap and the sum of the shards' peaks.
 */
function comparable(r: AnalyzeReport): AnalyzeReport {
  const c = structuredClone(r);
  if (c.tcp !== undefined) {
    c.tcp.peakBuffered = 0;
    c.tcp.limits.globalLimit = 0;
  }
  return c;
}

/**
 * Equal reports, compared as JSON text: on a mismatch the message shows the first difference
 * (assert.deepEqual's diff of two multi-megabyte reports takes minutes).
 */
function assertSameReport(actual: AnalyzeReport, expected: AnalyzeReport): void {
  const a = JSON.stringify(comparable(actual)), e = JSON.stringify(comparable(expected));
  if (a === e) return;
  let i = 0;
  while (i < a.length && a[i] === e[i]) i++;
  assert.fail(
    `reports differ at character ${i}:\n  sharded:    …${a.slice(i - 200, i + 200)}\n  one thread: …${
      e.slice(i - 200, i + 200)
    }`,
  );
}

let generated: string | undefined;
async function genFile(): Promise<string> {
  if (generated !== undefined) return generated;
  const dir = await Deno.makeTempDir({ prefix: "mpp-shards-" });
  generated = join(dir, "gen.pcap");
  // The benchmark's mix: TCP with HTTP, reordering and retransmissions, RTP, DNS, PTP, VLAN, IPv6.
  await writeGenerated(generated, 40_000, 3);
  return generated;
}

async function both(path: string, opts: AnalyzeFilesOptions, threads: number) {
  const one = await analyzeFiles([path], { ...opts, threads: 1 });
  const many = await analyzeFiles([path], { ...opts, threads });
  assert.equal(many.analyzer, null, "the run was not split over Workers");
  ReportSchema.parse(many.report);
  return { one, many };
}

for (
  const [name, opts, threads] of [
    ["defaults (reassembly, HTTP counts)", {}, 2],
    ["three shards, io,stat, top 40 by bytes", { ioInterval: 0.25, top: 40, sort: "bytes" }, 3],
    ["no reassembly, sorted by duration", { tcp: false, sort: "duration" }, 2],
    ["a BPF filter compiled in every shard", { filterExpr: "tcp or udp port 53", tcp: false }, 2],
    ["decode-as in every shard", { decodeAs: ["udp.port=5004:rtp"], top: 25 }, 2],
  ] as [string, AnalyzeFilesOptions, number][]
) {
  Deno.test(`sharded analysis equals the one-thread report: ${name}`, async () => {
    const { one, many } = await both(await genFile(), opts, threads);
    assert.ok(one.report.summary.flows > 500, "the capture should have many flows to split");
    assertSameReport(many.report, one.report);
  });
}

Deno.test("sharded analysis: a file that cannot be read fails as on one thread", async () => {
  const dir = await Deno.makeTempDir();
  const bad = join(dir, "garbage.pcap");
  await Deno.writeFile(bad, new TextEncoder().encode("this is not a capture file at all"));
  for (const path of [bad, join(dir, "missing.pcap")]) {
    const err1 = await analyzeFiles([path], { threads: 1 }).then(() => null, (e) => e);
    const err2 = await analyzeFiles([path], { threads: 2 }).then(() => null, (e) => e);
    assert.ok(err1 instanceof MppError, String(err1));
    assert.ok(err2 instanceof MppError, String(err2));
    assert.equal(err2.message, err1.message);
    assert.equal(err2.hint, err1.hint);
  }
  // One good file and one bad one: the good one is analysed, the bad one is a warning.
  const good = await genFile();
  const r = await analyzeFiles([good, bad], { threads: 2, tcp: false });
  assert.equal(r.report.files.length, 2);
  assert.ok(r.report.summary.packets > 0);
  assert.ok(r.warnings.some((w) => w.startsWith(bad)), r.warnings.join("\n"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("shardPlan: auto splits only large inputs; runs that need one thread stay on one", async () => {
  const file = await genFile();
  assert.equal((await shardPlan([file], { threads: "auto" })).count, 1, "a small file stays on one thread");
  assert.equal((await shardPlan([file], {})).count, 1, "the library default is one thread");
  assert.equal((await shardPlan([file], { threads: 3 })).count, 3);
  const stdin = await shardPlan(["-"], { threads: 2 });
  assert.equal(stdin.count, 1);
  assert.match(stdin.note ?? "", /standard input/);
  const http = await shardPlan([file], { threads: 2, httpTransactions: true });
  assert.equal(http.count, 1);
  assert.match(http.note ?? "", /--http/);
  assert.equal((await shardPlan([file], { threads: "auto", httpTransactions: true })).note, undefined);
  // "auto" goes by input size (only stat is read: sparse files stand in for big captures).
  const dir = await Deno.makeTempDir({ prefix: "mpp-plan-" });
  try {
    const mid = join(dir, "mid.pcap"), big = join(dir, "big.pcap");
    await Deno.writeFile(mid, new Uint8Array(0));
    await Deno.truncate(mid, 512 << 20);
    await Deno.writeFile(big, new Uint8Array(0));
    await Deno.truncate(big, 1 << 30);
    const cores = Math.min(navigator.hardwareConcurrency ?? 1, 4);
    const multi = cores >= 2 ? cores : 1;
    assert.equal((await shardPlan([mid], { threads: "auto" })).count, multi, "reassembly: split from 64 MiB");
    assert.equal(
      (await shardPlan([mid], { threads: "auto", tcp: false })).count,
      1,
      "no reassembly: not below 1 GiB",
    );
    assert.equal(
      (await shardPlan([big], { threads: "auto", tcp: false })).count,
      multi,
      "no reassembly: from 1 GiB",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

eachCorpusFile("sharded analysis equals the one-thread report", corpusFiles(), (file) => {
  corpusTest(`sharded analysis of ${file} equals the one-thread report`, async () => {
    const one = await analyzeFiles([corpusPath(file)], { threads: 1 }).catch((e) => e);
    const many = await analyzeFiles([corpusPath(file)], { threads: 2 }).catch((e) => e);
    if (one instanceof Error) {
      assert.ok(many instanceof Error);
      assert.equal(many.message, one.message);
      return;
    }
    assertSameReport(many.report, one.report);
    assert.deepEqual(many.warnings, one.warnings);
  });
});
