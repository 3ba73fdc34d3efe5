/**
 * The reading half of an analysis: every file into one Analyzer (one shard of the flows when
 * `opts.shard` is set), with TCP reassembly attached. Used by analyzeFiles and by each shard.
 */
import { isMppError, type MppError } from "../errors.ts";
import { readCapture } from "../capture/mod.ts";
import { Analyzer } from "./analyzer.ts";
import type { AnalyzeReport } from "./report_schema.ts";
import { TcpReassembly } from "../tcp/reassembly.ts";
import { HttpDecoder } from "../../decoders/http.ts";
import type { AnalyzeFilesOptions } from "./analyze_files.ts";

/** What one analyzer (the whole input, or one shard) read. */
export interface AnalyzeCore {
  analyzer: Analyzer;
  tcp: TcpReassembly | null;
  files: AnalyzeReport["files"];
  warnings: string[];
  /** The first file that could not be read at all. */
  firstError: MppError | undefined;
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
  const io = analyzer.io;
  if (io !== null && io.overflow > 0) {
    warnings.push(
      `io,stat: ${io.overflow} frames fell outside its ${io.maxBuckets} intervals of ${io.interval} s from ` +
        `the first frame (earlier frames, or a capture that long); use a larger --io interval`,
    );
  }
  return { analyzer, tcp, files, warnings, firstError };
}
