import { isMppError, MppError } from "../errors.ts";
import { readCapture } from "../capture/mod.ts";
import { Analyzer, type AnalyzerOptions } from "./analyzer.ts";
import { buildReport, type SortKey } from "./report.ts";
import { frameFilter } from "./frame_filter.ts";
import { analyzeSharded, shardPlan } from "./analyze_shards.ts";
import type { AnalyzeReport } from "./report_schema.ts";
import { type StreamListener, type TcpOptions, TcpReassembly } from "../tcp/reassembly.ts";
import { type HttpBodySink, HttpDecoder } from "../../decoders/http.ts";

export interface AnalyzeFilesOptions extends AnalyzerOptions {
  top?: number;
  sort?: SortKey;
  onProgress?: (name: string, bytesRead: number, total: number | undefined) => void;
  /** TCP stream reassembly limits (lib/tcp), or false to turn reassembly and HTTP off. */
  tcp?: TcpOptions | false;
  /** Listeners for the reassembled streams (--streams, --follow). */
  tcpListeners?: StreamListener[];
  /** Receives HTTP message bodies (--extract-http). */
  httpBodies?: HttpBodySink;
  /** List every HTTP transaction in the report (default: counts only). */
  httpTransactions?: boolean;
  /** A tcpdump filter expression (compiled in every thread; `filter` takes precedence). */
  filterExpr?: string;
  /**
   * Threads to split the flows over: 1 (the default) analyses on the calling thread; "auto" uses
   * every core on inputs of 64 MiB and more when nothing needs one thread (see shardPlan).
   */
  threads?: number | "auto";
}

export interface AnalyzeFilesResult {
  report: AnalyzeReport;
  /** The analyzer (null when the flows were split over Workers). */
  analyzer: Analyzer | null;
  /** One line per problem that did not stop the analysis (the CLI prints them as warnings). */
  warnings: string[];
  /** The stream reassembly (null when turned off). */
  tcp: TcpReassembly | null;
}

/** What one analyzer (the whole input, or one shard) read. */
export interface AnalyzeCore {
  analyzer: Analyzer;
  tcp: TcpReassembly | null;
  files: AnalyzeReport["files"];
  warnings: string[];
  /** The first file that could not be read at all. */
  firstError: MppError | undefined;
}

/**
 * Reads every file into one Analyzer and builds the report. A damaged file keeps what was read
 * before the damage and yields a warning; the call fails (with the first error) only when nothing
 * at all could be read, so one bad file among several never loses the others. With `threads` above
 * 1 (or "auto" on a large input), the flows are split over Workers (analyze_shards.ts).
 */
export async function analyzeFiles(
  paths: string[],
  opts: AnalyzeFilesOptions = {},
): Promise<AnalyzeFilesResult> {
  const plan = await shardPlan(paths, opts);
  if (plan.count > 1) {
    const r = await analyzeSharded(paths, opts, plan.count);
    return { ...r, analyzer: null, tcp: null };
  }
  const filter = opts.filter ?? (opts.filterExpr !== undefined ? frameFilter(opts.filterExpr) : undefined);
  const core = await analyzeCore(paths, { ...opts, filter });
  const { analyzer, tcp, files, warnings, firstError } = core;
  if (plan.note !== undefined) warnings.push(plan.note);
  if (firstError !== undefined && analyzer.packets === 0 && analyzer.filteredOut === 0) {
    throw noInput(paths, firstError, warnings);
  }
  const report = buildReport(analyzer, { top: opts.top, sort: opts.sort, files }, tcp);
  return { report, analyzer, warnings, tcp };
}

/** The error for a run in which no file could be read. */
export function noInput(paths: string[], firstError: MppError, warnings: string[]): MppError {
  if (paths.length === 1) return firstError;
  return new MppError(firstError.code, `no file could be read (${warnings.join("; ")})`, firstError.hint);
}

/** Reads the files into one Analyzer (one shard of the flows when `opts.shard` is set). */
export async function analyzeCore(paths: string[], opts: AnalyzeFilesOptions): Promise<AnalyzeCore> {
  // Connections are listed only by --streams, --follow, --http and --extract-http; otherwise each
  // flow's finished connections fold into its counters and memory follows flows, not connections.
  const keepStreams = (opts.tcpListeners?.length ?? 0) > 0 || opts.httpTransactions === true ||
    opts.httpBodies !== undefined;
  const tcp = opts.tcp === false || opts.tcpHook !== undefined
    ? null
    : new TcpReassembly({ keepStreams, ...opts.tcp });
  for (const l of opts.tcpListeners ?? []) tcp?.listen(l);
  const analyzer = new Analyzer(
    tcp === null ? opts : { ...opts, tcpHook: tcp.hook, tcpFinish: () => tcp.finish() },
  );
  const http = analyzer.registry.byName("http");
  if (http instanceof HttpDecoder) {
    if (opts.httpBodies !== undefined) http.bodySink = opts.httpBodies;
    http.keepTransactions = opts.httpTransactions ?? false;
  }
  const files: AnalyzeReport["files"] = [];
  const warnings: string[] = [];
  let firstError: MppError | undefined;
  for (const path of paths) {
    const name = path === "-" ? "<stdin>" : path;
    try {
      const r = await readCapture(path, analyzer.sink, {
        onProgress: opts.onProgress ? (done, total) => opts.onProgress!(name, done, total) : undefined,
      });
      for (const issue of r.issues) {
        // The reader's message may already say how many packets came before a fatal problem.
        const kept = issue.fatal && !/read\)$/.test(issue.message)
          ? ` (kept the ${r.records} frames read before it)`
          : "";
        warnings.push(`${name}: ${issue.message}${kept}`);
      }
      files.push({
        path: name,
        format: r.info?.format ?? null,
        packets: r.records,
        bytesRead: r.bytesRead,
        compressed: r.compressed,
        linkTypes: r.info ? [...new Set(r.info.interfaces.map((i) => i.linkType))] : [],
        issues: r.issues.map((i) => ({ offset: i.offset, message: i.message, fatal: i.fatal })),
      });
    } catch (e) {
      if (!isMppError(e)) throw e;
      firstError ??= e;
      warnings.push(`${name}: ${e.message}`);
      files.push({
        path: name,
        format: null,
        packets: 0,
        bytesRead: 0,
        compressed: false,
        linkTypes: [],
        issues: [{ offset: 0, message: e.message, fatal: true }],
      });
    }
  }
  analyzer.finish();
  return { analyzer, tcp, files, warnings, firstError };
}
