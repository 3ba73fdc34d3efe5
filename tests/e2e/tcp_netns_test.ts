/**
 * Real traffic, impaired in user space: an HTTP server and a client in two network namespaces, joined
 * through a third namespace where tcp_impair_forwarder.py moves frames between two veth pairs and
 * drops, duplicates, delays and reorders TCP segments with a fixed seed (no sch_netem here). tcpdump
 * captures at the client; `mpp analyze --extract-http` must rebuild the served file byte for byte,
 * and the reassembly counters must show the impairment (out of order, retransmitted).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { haveTool, isRoot, testIf } from "../_util/corpus.ts";

const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;
const FWD = new URL("./tcp_impair_forwarder.py", import.meta.url).pathname;
const ready = isRoot && haveTool("ip") && haveTool("python3") && haveTool("tcpdump") && haveTool("curl");
const dec = new TextDecoder();

/** The interpreter itself (pyenv's shim takes seconds to start under load). */
function python(): string {
  return sh(["python3", "-c", "import sys; print(sys.executable)"]).trim() || "python3";
}

function sh(args: string[], ok = true): string {
  const r = new Deno.Command(args[0], { args: args.slice(1), stdout: "piped", stderr: "piped" }).outputSync();
  if (ok && !r.success) throw new Error(`${args.join(" ")}: ${dec.decode(r.stderr)}`);
  return dec.decode(r.stdout);
}

function inNs(ns: string, args: string[]): string[] {
  return ["ip", "netns", "exec", ns, ...args];
}

testIf(
  ready,
  "needs root, ip, python3, tcpdump and curl",
  "e2e: HTTP through a dropping, duplicating, reordering forwarder is rebuilt exactly",
  async () => {
    const id = crypto.randomUUID().slice(0, 5);
    const C = `mppC${id}`, F = `mppF${id}`, S = `mppS${id}`;
    const o = 1 + (parseInt(id.slice(0, 2), 16) % 200);
    const dir = await Deno.makeTempDir({ prefix: "mpp-tcp-e2e-" });
    const py = python();
    const procs: Deno.ChildProcess[] = [];
    try {
      for (const ns of [C, F, S]) sh(["ip", "netns", "add", ns]);
      sh(["ip", "link", "add", `c${id}`, "netns", C, "type", "veth", "peer", "name", `fa${id}`, "netns", F]);
      sh(["ip", "link", "add", `s${id}`, "netns", S, "type", "veth", "peer", "name", `fb${id}`, "netns", F]);
      const cfg: [string, string, string, string][] = [
        [C, `c${id}`, `10.${o}.1.1/24`, `10.${o}.1.2`],
        [S, `s${id}`, `10.${o}.2.1/24`, `10.${o}.2.2`],
      ];
      for (const [ns, ifc, addr, gw] of cfg) {
        sh(inNs(ns, ["ip", "addr", "add", addr, "dev", ifc]));
        // One segment per frame: no TSO/GSO super-packets on the wire the forwarder reads.
        sh(inNs(ns, ["ip", "link", "set", ifc, "gso_max_segs", "1", "gso_max_size", "1500"]), false);
        sh(inNs(ns, ["ip", "link", "set", ifc, "up"]));
        sh(inNs(ns, ["ip", "link", "set", "lo", "up"]));
        sh(inNs(ns, ["ip", "route", "add", "default", "via", gw]));
      }
      // F has no addresses and a blackhole default route with forwarding on: its kernel drops the
      // frames silently (no ICMP unreachable racing the forwarder), and only the forwarder moves them.
      for (const i of [`fa${id}`, `fb${id}`, "lo"]) sh(inNs(F, ["ip", "link", "set", i, "up"]));
      sh(inNs(F, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]));
      sh(inNs(F, ["ip", "route", "add", "blackhole", "default"]));
      const macC = sh(inNs(C, ["cat", `/sys/class/net/c${id}/address`])).trim();
      const macS = sh(inNs(S, ["cat", `/sys/class/net/s${id}/address`])).trim();
      const macFa = sh(inNs(F, ["cat", `/sys/class/net/fa${id}/address`])).trim();
      const macFb = sh(inNs(F, ["cat", `/sys/class/net/fb${id}/address`])).trim();
      sh(
        inNs(C, [
          "ip",
          "neigh",
          "replace",
          `10.${o}.1.2`,
          "lladdr",
          macFa,
          "dev",
          `c${id}`,
          "nud",
          "permanent",
        ]),
      );
      sh(
        inNs(S, [
          "ip",
          "neigh",
          "replace",
          `10.${o}.2.2`,
          "lladdr",
          macFb,
          "dev",
          `s${id}`,
          "nud",
          "permanent",
        ]),
      );

      // The served file: 400 kB of seeded bytes.
      const body = new Uint8Array(400_000);
      let x = 12345;
      for (let i = 0; i < body.length; i++) body[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
      await Deno.mkdir(join(dir, "www"));
      await Deno.writeFile(join(dir, "www", "file.bin"), body);

      const fwd = new Deno.Command("ip", {
        args: ["netns", "exec", F, py, FWD, `fa${id}`, macC, `fb${id}`, macS, "42"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      procs.push(fwd);
      const fwdOut = fwd.stdout.getReader();
      const first = dec.decode((await fwdOut.read()).value);
      assert.match(first, /ready/);
      const server = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          S,
          py,
          "-m",
          "http.server",
          "8080",
          "--bind",
          `10.${o}.2.1`,
          "-d",
          join(dir, "www"),
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      procs.push(server);
      const pcap = join(dir, "client.pcap");
      const dump = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          C,
          "tcpdump",
          "-i",
          `c${id}`,
          "-B",
          "16384",
          "-w",
          pcap,
          "--immediate-mode",
          "-U",
          "tcp port 8080",
        ],
        stdout: "null",
        stderr: "piped",
      }).spawn();
      procs.push(dump);
      // Wait until the server listens (python can take seconds on a loaded machine).
      for (let i = 0; i < 120 && !sh(inNs(S, ["ss", "-ltn"])).includes(":8080"); i++) {
        await new Promise((r) => setTimeout(r, 250));
      }
      await new Promise((r) => setTimeout(r, 500));
      let got = "", why = "";
      // The server needs a moment to listen; the forwarder may drop the SYN (then curl waits 1 s).
      for (let attempt = 0; attempt < 30 && got !== "200"; attempt++) {
        const r = await new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            C,
            "curl",
            "-sS",
            // Slow enough that a loaded machine's capture keeps up.
            "--limit-rate",
            "200k",
            "-o",
            join(dir, "got.bin"),
            "-w",
            "%{http_code}",
            "--max-time",
            "20",
            `http://10.${o}.2.1:8080/file.bin`,
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        got = dec.decode(r.stdout);
        why = dec.decode(r.stderr);
        if (got !== "200") await new Promise((r) => setTimeout(r, 300));
      }
      if (got !== "200") {
        why += sh(inNs(C, ["ip", "route"])) + sh(inNs(C, ["ip", "neigh"])) +
          sh(inNs(F, ["ip", "-br", "addr"]));
      }
      assert.equal(got, "200", `curl fetched the file through the forwarder: ${why}`);
      assert.deepEqual(await Deno.readFile(join(dir, "got.bin")), body);
      await new Promise((r) => setTimeout(r, 500));
      dump.kill("SIGTERM");
      const dumpErr = dec.decode((await dump.output()).stderr);
      // If the kernel dropped frames before tcpdump read them, the capture itself lacks bytes.
      assert.match(dumpErr, /\b0 packets dropped by kernel/, `tcpdump lost frames: ${dumpErr}`);
      const out = join(dir, "bodies");
      const r = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "analyze", pcap, "--json", "--http", "--extract-http", out, "-q"],
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      assert.equal(r.code, 0, dec.decode(r.stderr));
      const report = JSON.parse(dec.decode(r.stdout));
      const tx = report.http.transactions.find((t: { uri: string }) => t.uri === "/file.bin");
      assert.ok(tx, "GET /file.bin seen");
      assert.equal(tx.status, 200);
      assert.equal(tx.respBodyBytes, body.length);
      assert.equal(tx.complete, true, `${JSON.stringify(tx)} ${JSON.stringify(report.tcp.counters)}`);
      const manifest = JSON.parse(await Deno.readTextFile(join(out, "bodies.json")));
      const saved = manifest.bodies.find((b: { response: boolean; uri: string }) =>
        b.response && b.uri === "/file.bin"
      );
      assert.deepEqual(
        await Deno.readFile(join(out, saved.file)),
        body,
        "reassembled body equals the served file",
      );
      const c = report.tcp.counters;
      assert.ok(c.outOfOrder > 0, `out of order seen (${JSON.stringify(c)})`);
      assert.ok(c.retransmitted > 0, "retransmissions/duplicates seen");
      assert.equal(c.missedBytes, 0);
      fwd.stdin.getWriter().close();
      const stats = dec.decode((await fwdOut.read()).value ?? new Uint8Array());
      console.log(`forwarder ${stats.trim()}; mpp counters ${JSON.stringify(c)}`);
    } finally {
      for (const p of procs) {
        try {
          p.kill("SIGKILL");
        } catch { /* already gone */ }
        await p.status.catch(() => {});
      }
      for (const ns of [C, F, S]) sh(["ip", "netns", "del", ns], false);
      await Deno.remove(dir, { recursive: true });
    }
  },
);
