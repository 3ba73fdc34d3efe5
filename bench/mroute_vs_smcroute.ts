/**
 * mpp mroute vs smcroute: add and then remove N (S,G) routes, in one run, each daemon in its own
 * network namespace with the same interfaces (veth pairs: this kernel has no dummy module).
 *
 *   deno run -A bench/mroute_vs_smcroute.ts [--routes 1000] [--per-process 200] [--rounds 5]
 *
 * Measured end to end, process start-up included:
 *   batch        `mpp mroute -b FILE` vs `smcroutectl -b < FILE` (add N, then remove N)
 *   per process  one `mpp mroute add` process per route vs one `smcroutectl add` per route
 *                (--per-process routes; the per-route time is what matters)
 *   launcher     `./mpp mroute add` through cli/main.ts (all subcommands registered) vs the direct
 *                entry `deno run -A cli/mroute.ts add`
 * Every phase is checked against the kernel: /proc/net/ip_mr_cache must hold N entries after add
 * and none after remove, in both namespaces. Needs root and smcroute (apt install smcroute).
 */
const ROOT = new URL("../", import.meta.url).pathname;
const CLI = `${ROOT}cli/mroute.ts`;
const dec = new TextDecoder();
const env = { DENO_NO_UPDATE_CHECK: "1", RUST_BACKTRACE: "0" };

function arg(name: string, def: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : def;
}
const N = arg("--routes", 1000);
const P = arg("--per-process", 200);
const R = arg("--rounds", 5);

function sh(
  cmd: string,
  args: string[],
  stdin?: string,
): { code: number; out: string; err: string; ms: number } {
  const t = performance.now();
  if (stdin === undefined) {
    const o = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", env }).outputSync();
    return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr), ms: performance.now() - t };
  }
  // Feed stdin from a file so the timing does not include a JS pipe writer.
  const f = Deno.makeTempFileSync();
  Deno.writeTextFileSync(f, stdin);
  const o = new Deno.Command("sh", {
    args: ["-c", `exec "$0" "$@" < ${f}`, cmd, ...args],
    stdout: "piped",
    stderr: "piped",
    env,
  }).outputSync();
  Deno.removeSync(f);
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr), ms: performance.now() - t };
}

function must(r: { code: number; err: string }, what: string): void {
  if (r.code !== 0) throw new Error(`${what} failed: ${r.err}`);
}

if (Deno.uid() !== 0) {
  console.error("bench needs root (network namespaces, multicast routing)");
  Deno.exit(1);
}
try {
  // ipmr makes this file in every network namespace; without it MRT_INIT fails with ENOPROTOOPT.
  Deno.statSync("/proc/net/ip_mr_vif");
} catch {
  console.error(
    "this kernel has no IPv4 multicast routing (CONFIG_IP_MROUTE): neither mpp nor smcroute can run",
  );
  Deno.exit(1);
}
if (sh("sh", ["-c", "command -v smcrouted && command -v smcroutectl"]).code !== 0) {
  console.error("smcroute is not installed: apt-get install -y smcroute");
  Deno.exit(1);
}

const id = Math.random().toString(36).slice(2, 8);
const nsM = `mppb-${id}`, nsS = `smcb-${id}`;
const tmp = Deno.makeTempDirSync({ prefix: "mpp-mroute-bench-" });
const mppSock = `${tmp}/mpp.sock`, smcSock = `${tmp}/smc.sock`;
const procs: Deno.ChildProcess[] = [];

function setupNs(ns: string): void {
  must(sh("ip", ["netns", "add", ns]), "netns add");
  must(sh("ip", ["-n", ns, "link", "set", "lo", "up"]), "lo up");
  for (const [i, dev] of ["i0", "o1", "o2"].entries()) {
    must(sh("ip", ["-n", ns, "link", "add", dev, "type", "veth", "peer", "name", `${dev}p`]), "veth");
    must(sh("ip", ["-n", ns, "addr", "add", `10.${200 + i}.0.1/24`, "dev", dev]), "addr");
    must(sh("ip", ["-n", ns, "link", "set", dev, "up"]), "up");
    must(sh("ip", ["-n", ns, "link", "set", `${dev}p`, "up"]), "up");
  }
}

function mfcCount(ns: string): number {
  return sh("ip", ["netns", "exec", ns, "cat", "/proc/net/ip_mr_cache"]).out.trim().split("\n").length - 1;
}

async function waitFor(path: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if (Deno.lstatSync(path).isSocket) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${path} did not appear`);
}

const routes: Array<[string, string]> = [];
for (let i = 0; i < N; i++) {
  routes.push([`10.100.${(i >> 8) & 255}.${i & 255}`, `239.1.${(i >> 8) & 255}.${i & 255}`]);
}
const addLines = routes.map(([s, g]) => `add i0 ${s} ${g} o1 o2`).join("\n") + "\n";
const mppDel = routes.map(([s, g]) => `del i0 ${s} ${g}`).join("\n") + "\n";
const smcDel = routes.map(([s, g]) => `remove i0 ${s} ${g}`).join("\n") + "\n";

const rows: Array<[string, number, number]> = [];
function row(name: string, mpp: number, smc: number): void {
  rows.push([name, mpp, smc]);
  console.log(
    `${name.padEnd(44)} mpp ${mpp.toFixed(1).padStart(9)} ms   smcroute ${
      smc.toFixed(1).padStart(9)
    } ms   mpp/smcroute ${(mpp / smc).toFixed(2)}x`,
  );
}

try {
  setupNs(nsM);
  setupNs(nsS);
  Deno.writeTextFileSync(`${tmp}/smc.conf`, "phyint i0 enable\nphyint o1 enable\nphyint o2 enable\n");
  procs.push(
    new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        nsM,
        Deno.execPath(),
        "run",
        "-A",
        CLI,
        "daemon",
        "--socket",
        mppSock,
        "--state",
        `${tmp}/state.json`,
        "--log-level",
        "warn",
      ],
      stdout: "null",
      stderr: "inherit",
      env,
    }).spawn(),
  );
  procs.push(
    new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        nsS,
        "smcrouted",
        "-n",
        "-N",
        "-f",
        `${tmp}/smc.conf`,
        "-u",
        smcSock,
        "-P",
        `${tmp}/smc.pid`,
        "-l",
        "err",
      ],
      stdout: "null",
      stderr: "inherit",
    }).spawn(),
  );
  await waitFor(mppSock);
  await waitFor(smcSock);
  await new Promise((r) => setTimeout(r, 300));
  const mpp = (args: string[], stdin?: string) =>
    sh(Deno.execPath(), ["run", "-A", CLI, ...args, "--socket", mppSock], stdin);
  const smc = (args: string[], stdin?: string) => sh("smcroutectl", ["-u", smcSock, ...args], stdin);
  // Warm the module cache so the first measured run is not a cold compile.
  mpp(["status"]);

  console.log(
    `mpp mroute vs smcroute ${
      sh("smcrouted", ["-v"]).out.trim().split("\n")[0]
    }, ${N} (S,G) routes, IIF i0, OIFs o1 o2`,
  );
  // Batch: add N, verify, remove N, verify; R rounds alternating mpp and smcroute, medians.
  const med = (a: number[]) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  const t = { ma: [] as number[], sa: [] as number[], md: [] as number[], sd: [] as number[] };
  for (let round = 0; round < R; round++) {
    const ma = mpp(["-b", "-"], addLines);
    must(ma, "mpp batch add");
    if (mfcCount(nsM) !== N) throw new Error(`mpp: kernel has ${mfcCount(nsM)} routes, expected ${N}`);
    const sa = smc(["-b"], addLines);
    must(sa, "smcroutectl -b add");
    if (mfcCount(nsS) !== N) throw new Error(`smcroute: kernel has ${mfcCount(nsS)} routes, expected ${N}`);
    const md = mpp(["-b", "-"], mppDel);
    must(md, "mpp batch del");
    const sd = smc(["-b"], smcDel);
    must(sd, "smcroutectl -b remove");
    if (mfcCount(nsM) !== 0 || mfcCount(nsS) !== 0) {
      throw new Error(`routes left after remove: mpp ${mfcCount(nsM)}, smcroute ${mfcCount(nsS)}`);
    }
    t.ma.push(ma.ms);
    t.sa.push(sa.ms);
    t.md.push(md.ms);
    t.sd.push(sd.ms);
  }
  row(`batch add ${N} routes (median of ${R})`, med(t.ma), med(t.sa));
  row(`batch remove ${N} routes (median of ${R})`, med(t.md), med(t.sd));

  // One process per route.
  const per = (fn: (i: number) => { code: number; err: string; ms: number }, what: string) => {
    const t: number[] = [];
    for (let i = 0; i < P; i++) {
      const r = fn(i);
      must(r, what);
      t.push(r.ms);
    }
    t.sort((a, b) => a - b);
    return { total: t.reduce((a, b) => a + b, 0), median: t[t.length >> 1] };
  };
  const pma = per((i) => mpp(["add", "i0", routes[i][0], routes[i][1], "o1", "o2"]), "mpp add");
  const psa = per((i) => smc(["add", "i0", routes[i][0], routes[i][1], "o1", "o2"]), "smcroutectl add");
  if (mfcCount(nsM) !== P || mfcCount(nsS) !== P) {
    throw new Error("per-process add: wrong kernel route count");
  }
  const pmd = per((i) => mpp(["del", "i0", routes[i][0], routes[i][1]]), "mpp del");
  const psd = per((i) => smc(["remove", "i0", routes[i][0], routes[i][1]]), "smcroutectl remove");
  if (mfcCount(nsM) !== 0 || mfcCount(nsS) !== 0) throw new Error("per-process remove: routes left");
  row(`per process: add, ${P} processes, total`, pma.total, psa.total);
  row(`per process: remove, ${P} processes, total`, pmd.total, psd.total);
  row("per process: one add, median", pma.median, psa.median);
  console.log(
    `  extrapolated to ${N} routes: mpp add ${(pma.total / P * N / 1000).toFixed(1)} s, smcroutectl add ${
      (psa.total / P * N / 1000).toFixed(1)
    } s`,
  );

  // Launcher path (cli/main.ts loads every subcommand module) vs the direct entry.
  const launcher: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < 15; i++) {
    const r = sh(`${ROOT}mpp`, [
      "mroute",
      "add",
      "i0",
      "10.250.0.1",
      "239.250.0.1",
      "o1",
      "--socket",
      mppSock,
    ]);
    launcher.push(r.code === 0 ? r.ms : NaN);
    direct.push(mpp(["add", "i0", "10.250.0.1", "239.250.0.1", "o1"]).ms);
  }
  console.log(
    `one 'mpp mroute add' end to end, median of 15: ./mpp launcher ${
      Number.isNaN(med(launcher)) ? "failed (cli/main.ts did not load)" : med(launcher).toFixed(1) + " ms"
    }, direct cli/mroute.ts ${med(direct).toFixed(1)} ms (target < 100 ms)`,
  );
} finally {
  for (const p of procs) {
    try {
      p.kill("SIGTERM");
    } catch {
      // gone
    }
    await p.status;
  }
  sh("ip", ["netns", "del", nsM]);
  sh("ip", ["netns", "del", nsS]);
  Deno.removeSync(tmp, { recursive: true });
}
