/**
 * Runs a command under GNU time and reports wall seconds, CPU seconds (user+sys) and peak RSS.
 * Shared by the benchmarks so every peer is measured the same way in the same run.
 */
export interface Measured {
  name: string;
  wall: number;
  cpu: number;
  maxRssMiB: number;
  ok: boolean;
  stderr: string;
}

export function haveCommand(cmd: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null", stderr: "null" })
    .outputSync().success;
}

/** Runs `sh -c script` under /usr/bin/time; stdout is discarded by the script itself. */
export async function measure(name: string, script: string): Promise<Measured> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "MPPTIME %e %U %S %M", "sh", "-c", script],
    stdout: "null",
    stderr: "piped",
    env: { TZ: "UTC", DENO_NO_UPDATE_CHECK: "1" },
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  const m = /MPPTIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(err);
  if (!m) return { name, wall: NaN, cpu: NaN, maxRssMiB: NaN, ok: false, stderr: err };
  return {
    name,
    wall: Number(m[1]),
    cpu: Number(m[2]) + Number(m[3]),
    maxRssMiB: Number(m[4]) / 1024,
    ok: out.success,
    stderr: err.replace(/MPPTIME.*\n?/, ""),
  };
}

export function fmtTable(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ")).join(
    "\n",
  );
}

/**
 * Where benchmark captures live: /dev/shm when it exists (this machine's kernel reclaims idle page
 * cache by itself, DAMON, so a capture on disk is partly re-read from disk by the next tool, and
 * ext4 file creation costs 50-700 µs of kernel time), else `fallback`.
 */
export function benchDir(fallback: string): string {
  try {
    if (Deno.statSync("/dev/shm").isDirectory) return "/dev/shm/mpp-bench";
  } catch {
    // no tmpfs: use the fallback
  }
  return fallback;
}
