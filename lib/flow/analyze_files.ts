import { isMppError, MppError } from "../errors.ts";
import { readCapture } from "../capture/mod.ts";
import { Analyzer, type AnalyzerOptions } from "./analyzer.ts";
import { buildReport, type SortKey } from "./report.ts";
import type { AnalyzeReport } from "./report_schema.ts";
import { type StreamListener, type TcpOptions, TcpReassembly } from "../tcp/reassembly.ts";
import { countersByFlow, streamsByFlow, tcpSection } from "../tcp/report.ts";
import { type HttpBodySink, HttpDecoder } from "../../decoders/http.ts";
import { httpSection } from "../../decoders/http_report.ts";

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
}

export interface AnalyzeFilesResult {
  report: AnalyzeReport;
  analyzer: Analyzer;
  /** One line per problem that did not stop the analysis (the CLI prints them as warnings). */
  warnings: string[];
  /** The stream reassembly (null when turned off). */
  tcp: TcpReassembly | null;
}

/**
 * Reads every file into one Analyzer and builds the report. A damaged file keeps what was read
 * before the damage and yields a warning; the call fails (with the first error) only when nothing
 * at all could be read, so one bad file among several never loses the others.
 */
export async function analyzeFiles(
  paths: string[],
  opts: AnalyzeFilesOptions = {},
): Promise<AnalyzeFilesResult> {
  const tcp = opts.tcp === false || opts.tcpHook !== undefined ? null : new TcpReassembly(opts.tcp || {});
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
  if (firstError !== undefined && analyzer.packets === 0 && analyzer.filteredOut === 0) {
    if (paths.length === 1) throw firstError;
    throw new MppError(firstError.code, `no file could be read (${warnings.join("; ")})`, firstError.hint);
  }
  analyzer.finish();
  const report = buildReport(analyzer, { top: opts.top, sort: opts.sort, files });
  if (tcp !== null) addTcpSections(report, analyzer, tcp);
  return { report, analyzer, warnings, tcp };
}

/** Per-flow reassembly counters, the reassembly totals and the HTTP transactions. */
function addTcpSections(report: AnalyzeReport, analyzer: Analyzer, tcp: TcpReassembly): void {
  const counters = countersByFlow(tcp);
  const byId = new Map(analyzer.flows.map((f) => [f.id, f]));
  for (const fr of report.flows) {
    const c = counters.get(byId.get(fr.id));
    if (c !== undefined) fr.tcpStreams = c;
  }
  report.tcp = tcpSection(tcp);
  const http = httpSection(analyzer.flows, streamsByFlow(tcp));
  if (http !== undefined) report.http = http;
}
