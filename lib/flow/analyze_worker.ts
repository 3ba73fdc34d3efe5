/// <reference lib="deno.worker" />
/**
 * One shard of a multi-threaded `mpp analyze` (analyze_shards.ts): reads the whole input, analyses
 * the flows of its shard and posts its partial report.
 */
import { isMppError } from "../errors.ts";
import { analyzeCore } from "./analyze_files.ts";
import { frameFilter } from "./frame_filter.ts";
import { partialReport } from "./report.ts";
import type { ShardMessage, ShardRequest } from "./analyze_shards.ts";

function post(m: ShardMessage): void {
  self.postMessage(m);
}

self.onmessage = async (e: MessageEvent<ShardRequest>) => {
  const { paths, shard, opts } = e.data;
  try {
    const core = await analyzeCore(paths, {
      tcp: opts.tcp,
      decodeAs: opts.decodeAs,
      ioInterval: opts.ioInterval,
      filter: opts.filterExpr !== undefined ? frameFilter(opts.filterExpr) : undefined,
      shard,
      onProgress: opts.progress ? (name, done, total) => post({ progress: [name, done, total] }) : undefined,
    });
    const partial = partialReport(core.analyzer, { top: opts.top, sort: opts.sort, files: [] }, core.tcp);
    const fe = core.firstError;
    post({
      done: {
        partial,
        files: core.files,
        warnings: core.warnings,
        firstError: fe === undefined ? null : { code: fe.code, message: fe.message, hint: fe.hint },
        packets: core.analyzer.packets,
        filteredOut: core.analyzer.filteredOut,
      },
    });
  } catch (err) {
    if (!isMppError(err)) throw err;
    post({ failed: { code: err.code, message: err.message, hint: err.hint } });
  }
};
