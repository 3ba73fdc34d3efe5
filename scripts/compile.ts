/**
 * `deno task compile`: the portable artifact. Bundles the CLI to DIR/mpp.js (npm dependencies
 * inlined) and each Worker module to DIR/<name>.js beside it, where the bundled code looks for them
 * (lib/worker_module.ts), so sharded analysis, the --streams file thread and live capture work from
 * the bundle too. Run it with the pinned Deno: `deno run -A dist/mpp.js analyze FILE`.
 *
 *   deno run -A scripts/compile.ts [DIR=dist]
 */
import { basename, join } from "node:path";

const root = new URL("../", import.meta.url).pathname;
const out = Deno.args[0] ?? join(root, "dist");
const WORKERS = ["lib/capture/live_worker.ts", "lib/flow/analyze_worker.ts", "lib/tcp/file_writer_worker.ts"];

const tmp = await Deno.makeTempDir({ prefix: "mpp-compile-" });
let failed = 0;
try {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "-q", "--outdir", tmp, "cli/main.ts", ...WORKERS],
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!r.success) {
    // deno bundle printed why.
    failed = r.code || 1;
  } else await place();
} finally {
  await Deno.remove(tmp, { recursive: true });
}
if (failed !== 0) Deno.exit(failed);

async function place(): Promise<void> {
  await Deno.mkdir(out, { recursive: true });
  await Deno.copyFile(join(tmp, "cli/main.js"), join(out, "mpp.js"));
  for (const w of WORKERS) {
    const js = w.replace(/\.ts$/, ".js");
    await Deno.copyFile(join(tmp, js), join(out, basename(js)));
  }
  console.log(`${out}: mpp.js and ${WORKERS.map((w) => basename(w).replace(/\.ts$/, ".js")).join(", ")}`);
}
