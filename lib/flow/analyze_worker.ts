/// <reference lib="deno.worker" />
/**
 * A shard of a multi-threaded `mpp analyze` other than shard 0 (analyze_shards.ts): reads the whole
 * input, analyses the flows of its shard and posts its partial report.
 */
import { isMppError } from "../errors.ts";
import { runShard } from "./shard_run.ts";
import type { ShardMessage, ShardRequest } from "./analyze_shards.ts";

function post(m: ShardMessage): void {
  self.postMessage(m);
}

self.onmessage = async (e: MessageEvent<ShardRequest>) => {
  try {
    post({ done: await runShard(e.data) });
  } catch (err) {
    if (!isMppError(err)) throw err;
    post({ failed: { code: err.code, message: err.message, hint: err.hint } });
  }
};
