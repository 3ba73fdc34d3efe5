/**
 * The design question of issue 3, measured: one event-loop thread with one flow map, against
 * Workers sharded by a symmetric flow hash (each reads and decodes every frame, owns 1/N of the
 * flows, builds its partial report). Wall time of the whole analysis, same file, one run.
 *   deno run -A bench/shard_experiment.ts FILE [--workers 2]
 */
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { workers: { type: "string", default: "2" } },
});
const file = positionals[0];
if (!file) {
  console.error("usage: deno run -A bench/shard_experiment.ts FILE [--workers N]");
  Deno.exit(2);
}

async function run(count: number): Promise<{ ms: number; packets: number; flows: number }> {
  const t0 = performance.now();
  const url = new URL("./lib/shard_worker.ts", import.meta.url);
  const parts = await Promise.all(
    Array.from(
      { length: count },
      (_, index) =>
        new Promise<{ packets: number; flows: number }>((resolve, reject) => {
          const w = new Worker(url, { type: "module" });
          w.onmessage = (e) => {
            w.terminate();
            resolve(e.data);
          };
          w.onerror = (e) => reject(e);
          w.postMessage({ file, index, count });
        }),
    ),
  );
  return {
    ms: performance.now() - t0,
    packets: parts.reduce((s, x) => s + x.packets, 0),
    flows: parts.reduce((s, x) => s + x.flows, 0),
  };
}

const n = Number(values.workers);
const one = await run(1);
const many = await run(n);
const one2 = await run(1);
const many2 = await run(n);
const best1 = Math.min(one.ms, one2.ms), bestN = Math.min(many.ms, many2.ms);
console.log(`1 worker:  ${best1.toFixed(0)} ms, ${one.packets} packets, ${one.flows} flows`);
console.log(`${n} workers: ${bestN.toFixed(0)} ms, ${many.packets} packets, ${many.flows} flows`);
console.log(`speed-up: ${(best1 / bestN).toFixed(2)}x (wall time, best of 2 each)`);
if (one.packets !== many.packets || one.flows !== many.flows) {
  console.log("WARNING: shards disagree with one worker");
}
