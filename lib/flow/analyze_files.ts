import { isMppError, MppError } from "../errors.ts";
import { readCapture } from "../capture/mod.ts";
import { Analyzer, type AnalyzerOptions } from "./analyzer.ts";
import { buildReport, type SortKey } from "./report.ts";
import type { AnalyzeReport } from "./report_schema.ts";

export interface AnalyzeFilesOptions extends AnalyzerOptions {
  top?: number;
  sort?: SortKey;
  onProgress?: (name: string, bytesRead: number, total: number | undefined) => void;
}

export interface AnalyzeFilesResult {
  report: AnalyzeReport;
  analyzer: Analyzer;
  /** One line per problem that did not stop the analysis (the CLI prints them as warnings). */
  warnings: string[];
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
  const analyzer = new Analyzer(opts);
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
  return { report: buildReport(analyzer, { top: opts.top, sort: opts.sort, files }), analyzer, warnings };
}
