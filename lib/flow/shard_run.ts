/**
 * One shard of a multi-threaded analysis, wherever it runs: shard 0 on the calling thread (it would
 * otherwise sit idle, and its partial report then needs no copy across threads), the others in
 * Workers (analyze_worker.ts).
 */
import { analyzeCore } from "./analyze_core.ts";
import { frameFilter } from "./frame_filter.ts";
import { partialReport } from "./report.ts";
import type { ShardDone, ShardRequest } from "./analyze_shards.ts";

export async function runShard(
  req: ShardRequest,
  onProgress?: (name: string, done: number, total: number | undefined) => void,
): Promise<ShardDone> {
  const { paths, shard, opts } = req;
  const core = await analyzeCore(paths, {
    tcp: opts.tcp,
    decodeAs: opts.decodeAs,
    ioInterval: opts.ioInterval,
    filter: opts.filterExpr !== undefined ? frameFilter(opts.filterExpr) : undefined,
    shard,
    onProgress,
  });
  const partial = partialReport(core.analyzer, { top: opts.top, sort: opts.sort, files: [] }, core.tcp);
  const fe = core.firstError;
  return {
    partial,
    files: core.files,
    warnings: core.warnings,
    firstError: fe === undefined ? null : { code: fe.code, message: fe.message, hint: fe.hint },
    packets: core.analyzer.packets,
    filteredOut: core.analyzer.filteredOut,
  };
}
