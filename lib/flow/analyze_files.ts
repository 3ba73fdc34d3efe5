import { MppError } from "../errors.ts";
import type { Analyzer, AnalyzerOptions } from "./analyzer.ts";
import { buildReport, type SortKey } from "./report.ts";
import { frameFilter } from "./frame_filter.ts";
import { analyzeSharded, shardPlan } from "./analyze_shards.ts";
import { analyzeCore } from "./analyze_core.ts";
import type { AnalyzeReport } from "./report_schema.ts";
import type { StreamListener, TcpOptions, TcpReassembly } from "../tcp/reassembly.ts";
import type { HttpBodySink } from "../../decoders/http.ts";

export { type AnalyzeCore, analyzeCore } from "./analyze_core.ts";

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
