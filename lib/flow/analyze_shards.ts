/**
 * `mpp analyze` on several cores: N Workers each read and decode every frame of the input, own
 * the flows whose key hash falls in their shard (frames without a flow go to shard 0), and send
 * back a partial report; the partials merge exactly (report_merge.ts). Reading and decoding are
 * repeated in every Worker, which is cheap next to the per-flow work they split (bench/RESULTS.md).
 *
 * Runs that need one thread stay on one: standard input (read once), stream numbering that must
 * be global (--streams, --follow, --http, --extract-http), and callers' in-process hooks.
 */
import { MppError } from "../errors.ts";
import type { AnalyzeFilesOptions, AnalyzeFilesResult } from "./analyze_files.ts";
import { mergeReports, type PartialReport } from "./report_merge.ts";
import { runShard } from "./shard_run.ts";
import type { AnalyzeReport } from "./report_schema.ts";
import type { MppErrorCode } from "../errors.ts";
import { TCP_DEFAULTS } from "../tcp/reassembly.ts";
import { workerModuleAvailable, workerUrl } from "../worker_module.ts";

const WORKER_URL = new URL("./analyze_worker.ts", import.meta.url);

/** Inputs below this many bytes are analysed on one thread ("auto"): a Worker costs ~50 ms to start. */
export const AUTO_MIN_BYTES = 64 << 20;
/**
 * Without reassembly the per-flow work is small next to reading and decoding, which every shard
 * repeats: measured on the 2-core machine (bench/RESULTS.md), 2 threads took 0.96x the time of one
 * on a 0.69 GB capture, 0.86x on 1.7 GB and 0.77x on 3.4 GB.
 */
export const AUTO_MIN_BYTES_NO_REASSEMBLY = 1 << 30;
/** Most shards "auto" picks: each one reads the whole input again. */
const AUTO_MAX = 4;

/** The options a Worker gets (plain data). */
export interface ShardRequest {
  paths: string[];
  shard: { index: number; count: number };
  opts: {
    top?: number;
    sort?: AnalyzeFilesOptions["sort"];
    tcp?: AnalyzeFilesOptions["tcp"];
    decodeAs?: string[];
    ioInterval?: number;
    filterExpr?: string;
  };
}

interface WireError {
  code: MppErrorCode;
  message: string;
  hint: string;
}

/** What a shard hands back. */
export interface ShardDone {
  partial: PartialReport;
  files: AnalyzeReport["files"];
  warnings: string[];
  firstError: WireError | null;
  packets: number;
  filteredOut: number;
}

export type ShardMessage =
  | { done: ShardDone }
  | { failed: WireError };

/** What keeps a run on one thread, or null. */
function needsOneThread(paths: string[], opts: AnalyzeFilesOptions): string | null {
  if (paths.includes("-")) return "standard input is read once";
  if ((opts.tcpListeners?.length ?? 0) > 0) return "--streams and --follow number streams globally";
  if (opts.httpBodies !== undefined || opts.httpTransactions) return "--http and --extract-http list streams";
  if (opts.tcpHook !== undefined || opts.registry !== undefined) return "an in-process hook or registry";
  if (opts.filter !== undefined) return "a frame filter function";
  return null;
}

/**
 * How many shards to run: `threads` as given ("auto": the cores, up to 4, on inputs of at least
 * AUTO_MIN_BYTES with TCP reassembly on, AUTO_MIN_BYTES_NO_REASSEMBLY without), or 1 when the run
 * needs one thread (`note` then says why when threads were asked for explicitly).
 */
export async function shardPlan(
  paths: string[],
  opts: AnalyzeFilesOptions,
): Promise<{ count: number; note?: string }> {
  const want = opts.threads ?? 1;
  if (want === 1) return { count: 1 };
  const why = needsOneThread(paths, opts);
  if (why !== null) {
    return want === "auto" ? { count: 1 } : { count: 1, note: `analysed on one thread: ${why}` };
  }
  if (!workerModuleAvailable(WORKER_URL)) {
    return want === "auto"
      ? { count: 1 }
      : { count: 1, note: "analysed on one thread: no Worker module (bundle)" };
  }
  if (want !== "auto") return { count: want };
  const cores = navigator.hardwareConcurrency ?? 1;
  if (cores < 2) return { count: 1 };
  let total = 0;
  for (const p of paths) {
    try {
      total += (await Deno.stat(p)).size;
    } catch {
      // The run itself reports the unreadable file.
    }
  }
  const min = opts.tcp === false ? AUTO_MIN_BYTES_NO_REASSEMBLY : AUTO_MIN_BYTES;
  return { count: total >= min ? Math.min(cores, AUTO_MAX) : 1 };
}

function toError(e: WireError): MppError {
  return new MppError(e.code, e.message, e.hint);
}

/** Runs `count` shards in Workers and merges their partial reports. */
export async function analyzeSharded(
  paths: string[],
  opts: AnalyzeFilesOptions,
  count: number,
): Promise<Omit<AnalyzeFilesResult, "analyzer" | "tcp">> {
  const url = workerUrl(WORKER_URL) ?? WORKER_URL;
  // The TCP memory cap is global: each shard gets its share.
  const tcp = opts.tcp === false
    ? false
    : { ...opts.tcp, globalLimit: Math.floor((opts.tcp?.globalLimit ?? TCP_DEFAULTS.globalLimit) / count) };
  const request = (index: number): ShardRequest => ({
    paths,
    shard: { index, count },
    opts: {
      top: opts.top,
      sort: opts.sort,
      tcp,
      decodeAs: opts.decodeAs,
      ioInterval: opts.ioInterval,
      filterExpr: opts.filterExpr,
    },
  });
  const workers: Worker[] = [];
  try {
    // Shards 1..N-1 in Workers, started first; shard 0 on this thread meanwhile.
    const others = Array.from(
      { length: count - 1 },
      (_, k) =>
        new Promise<ShardDone>((resolve, reject) => {
          const index = k + 1;
          const w = new Worker(url, { type: "module" });
          workers.push(w);
          w.onmessage = (e: MessageEvent<ShardMessage>) => {
            const m = e.data;
            if ("done" in m) resolve(m.done);
            else reject(toError(m.failed));
          };
          w.onerror = (e) => {
            e.preventDefault();
            reject(new Error(`analysis shard ${index} failed: ${e.message}`));
          };
          w.postMessage(request(index));
        }),
    );
    // A failing Worker must not leave an unhandled rejection while shard 0 still runs.
    for (const p of others) p.catch(() => {});
    const results = [await runShard(request(0), opts.onProgress), ...await Promise.all(others)];
    // Every shard read the same files: shard 0's file list, warnings and errors speak for all.
    const first = results[0];
    if (first.firstError !== null && first.packets === 0 && first.filteredOut === 0) {
      const err = toError(first.firstError);
      throw paths.length === 1
        ? err
        : new MppError(err.code, `no file could be read (${first.warnings.join("; ")})`, err.hint);
    }
    const report = mergeReports(results.map((r) => r.partial), {
      top: opts.top,
      sort: opts.sort,
      files: first.files,
    });
    return { report, warnings: first.warnings };
  } finally {
    for (const w of workers) w.terminate();
  }
}
