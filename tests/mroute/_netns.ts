/**
 * Test harness for the mroute e2e tests: network namespaces joined by veth pairs (sender → router →
 * two receivers), the daemon started in the router namespace, the CLI run as a separate process,
 * and small python3 UDP multicast senders/receivers (receivers report the TTL/hop limit they saw).
 * Everything is created with a random suffix and removed in `close()`, even after failures.
 */
import { haveTool, isRoot } from "../_util/corpus.ts";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The kernel's multicast routing: ipmr (CONFIG_IP_MROUTE) and ip6mr (CONFIG_IPV6_MROUTE) create these
 * files in every network namespace, so their absence means MRT_INIT would fail with ENOPROTOOPT.
 */
export const kernelMroute4 = exists("/proc/net/ip_mr_vif");
export const kernelMroute6 = exists("/proc/net/ip6_mr_vif");
const tools = haveTool("ip") && haveTool("python3");
export const canRunNetns = isRoot && tools && kernelMroute4;
export const netnsWhy = !isRoot
  ? "needs root (network namespaces)"
  : !tools
  ? "needs ip (iproute2) and python3"
  : "this kernel has no IPv4 multicast routing (CONFIG_IP_MROUTE: /proc/net/ip_mr_vif is missing)";
export const canRunNetns6 = canRunNetns && kernelMroute6;
export const netns6Why = canRunNetns
  ? "this kernel has no IPv6 multicast routing (CONFIG_IPV6_MROUTE: /proc/net/ip6_mr_vif is missing)"
  : netnsWhy;

const ROOT = new URL("../../", import.meta.url).pathname;
export const CLI = `${ROOT}cli/mroute.ts`;
const dec = new TextDecoder();

export interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

export function sh(cmd: string, args: string[], check = true): Out {
  const o = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  const r = { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
  if (check && o.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${o.code}): ${r.stderr}`);
  return r;
}

const RECEIVER = String.raw`
import socket, struct, sys, json, select, time
grp, port, ifname, dur = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
v6 = ":" in grp
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
idx = socket.if_nametoindex(ifname)
if v6:
    s.bind(("::", port))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, grp) + struct.pack("@I", idx))
    s.setsockopt(socket.IPPROTO_IPV6, 51, 1)  # IPV6_RECVHOPLIMIT
else:
    s.bind(("", port))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("=4s4si", socket.inet_aton(grp), b"\0\0\0\0", idx))
    s.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL
print("ready", flush=True)
end = time.time() + dur
out = []
while True:
    left = end - time.time()
    if left <= 0: break
    r, _, _ = select.select([s], [], [], left)
    if not r: break
    data, anc, _, addr = s.recvmsg(4096, 256)
    ttl = None
    for lvl, typ, d in anc:
        ttl = struct.unpack("i", d[:4])[0] if len(d) >= 4 else d[0]
    out.append({"src": addr[0], "ttl": ttl, "data": data.decode()})
print(json.dumps(out), flush=True)
`;

const SENDER = String.raw`
import socket, struct, sys, time
grp, port, ifname, ttl, n, tag, gap = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], float(sys.argv[7])
v6 = ":" in grp
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
if len(sys.argv) > 8:
    s.bind((sys.argv[8], 0))
idx = socket.if_nametoindex(ifname)
if v6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
else:
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, struct.pack("=4s4si", b"\0\0\0\0", b"\0\0\0\0", idx))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
for i in range(n):
    s.sendto(("%s-%d" % (tag, i)).encode(), (grp, port))
    time.sleep(gap)
`;

export interface Received {
  src: string;
  ttl: number;
  data: string;
}

export class Lab {
  readonly id = Math.random().toString(36).slice(2, 8);
  readonly snd = `mpps-${this.id}`;
  readonly rtr = `mppr-${this.id}`;
  readonly r1 = `mpp1-${this.id}`;
  readonly r2 = `mpp2-${this.id}`;
  readonly dir = Deno.makeTempDirSync({ prefix: "mpp-mroute-e2e-" });
  readonly socket = `${this.dir}/mroute.sock`;
  readonly state = `${this.dir}/state.json`;
  daemon?: Deno.ChildProcess;

  constructor() {
    const namespaces = [this.snd, this.rtr, this.r1, this.r2];
    try {
      for (const n of namespaces) {
        sh("ip", ["netns", "add", n]);
        sh("ip", ["-n", n, "link", "set", "lo", "up"]);
        // No duplicate address detection: link-local addresses must not sit in "tentative" while
        // the IPv6 test sends its first packets.
        for (const k of ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]) {
          sh("ip", ["netns", "exec", n, "sysctl", "-qw", k]);
        }
      }
      sh("ip", [
        "link",
        "add",
        "s0",
        "netns",
        this.snd,
        "type",
        "veth",
        "peer",
        "name",
        "in0",
        "netns",
        this.rtr,
      ]);
      sh("ip", [
        "link",
        "add",
        "o1",
        "netns",
        this.rtr,
        "type",
        "veth",
        "peer",
        "name",
        "e0",
        "netns",
        this.r1,
      ]);
      sh("ip", [
        "link",
        "add",
        "o2",
        "netns",
        this.rtr,
        "type",
        "veth",
        "peer",
        "name",
        "e0",
        "netns",
        this.r2,
      ]);
      const addrs: Array<[string, string, string, string]> = [
        [this.snd, "s0", "10.1.0.1/24", "2001:db8:1::1/64"],
        [this.rtr, "in0", "10.1.0.2/24", "2001:db8:1::2/64"],
        [this.rtr, "o1", "10.2.0.1/24", "2001:db8:2::1/64"],
        [this.rtr, "o2", "10.3.0.1/24", "2001:db8:3::1/64"],
        [this.r1, "e0", "10.2.0.2/24", "2001:db8:2::2/64"],
        [this.r2, "e0", "10.3.0.2/24", "2001:db8:3::2/64"],
      ];
      for (const [n, dev, a4, a6] of addrs) {
        sh("ip", ["-n", n, "addr", "add", a4, "dev", dev]);
        sh("ip", ["-n", n, "addr", "add", a6, "dev", dev, "nodad"]);
        sh("ip", ["-n", n, "link", "set", dev, "up"]);
      }
      for (
        const k of [
          "net.ipv4.ip_forward=1",
          "net.ipv4.conf.all.rp_filter=0",
          "net.ipv4.conf.default.rp_filter=0",
          "net.ipv6.conf.all.forwarding=1",
        ]
      ) {
        sh("ip", ["netns", "exec", this.rtr, "sysctl", "-qw", k]);
      }
    } catch (e) {
      this.#removeNamespaces();
      throw e;
    }
  }

  #removeNamespaces(): void {
    for (const n of [this.snd, this.rtr, this.r1, this.r2]) sh("ip", ["netns", "del", n], false);
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch {
      // already removed
    }
  }

  /** Runs a command inside a namespace. */
  exec(ns: string, cmd: string, args: string[], check = true): Out {
    return sh("ip", ["netns", "exec", ns, cmd, ...args], check);
  }

  /** The daemon's stderr goes to a file: a pipe that the (synchronously waiting) test does not drain would block it. */
  readonly logFile = `${this.dir}/daemon.log`;

  /**
   * Waits until every veth is operationally up. Until the kernel's link watcher (which runs up to a
   * second late) has activated a device, its queue discipline drops every packet sent through it.
   */
  async linksUp(): Promise<void> {
    const devs: Array<[string, string]> = [
      [this.snd, "s0"],
      [this.rtr, "in0"],
      [this.rtr, "o1"],
      [this.rtr, "o2"],
      [this.r1, "e0"],
      [this.r2, "e0"],
    ];
    for (let i = 0; i < 100; i++) {
      const down = devs.filter(([ns, dev]) =>
        this.exec(ns, "cat", [`/sys/class/net/${dev}/operstate`], false).stdout.trim() !== "up"
      );
      if (down.length === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("veth links did not come up");
  }

  async startDaemon(extra: string[] = []): Promise<void> {
    await this.linksUp();
    const args = [
      Deno.execPath(),
      "run",
      "-A",
      CLI,
      "daemon",
      "--socket",
      this.socket,
      "--state",
      this.state,
      "--log-level",
      "debug",
      ...extra,
    ];
    this.daemon = new Deno.Command("sh", {
      args: ["-c", `exec ip netns exec "$0" "$@" 2>>${this.logFile}`, this.rtr, ...args],
      stdout: "null",
      stderr: "null",
      env: { DENO_NO_UPDATE_CHECK: "1", RUST_BACKTRACE: "0" },
    }).spawn();
    for (let i = 0; i < 200; i++) {
      try {
        const c = await Deno.connect({ transport: "unix", path: this.socket });
        c.close();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`daemon did not start:\n${this.daemonLog}`);
  }

  get daemonLog(): string {
    try {
      return Deno.readTextFileSync(this.logFile);
    } catch {
      return "";
    }
  }

  async killDaemon(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    const d = this.daemon;
    if (!d) return;
    this.daemon = undefined;
    try {
      // ip netns exec execs the command, so this pid is the daemon itself.
      d.kill(signal);
    } catch {
      // already gone
    }
    await d.status;
  }

  /** The mroute CLI against this lab's daemon. */
  cli(args: string[]): Out {
    const o = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, ...args, "--socket", this.socket],
      stdout: "piped",
      stderr: "piped",
      env: { DENO_NO_UPDATE_CHECK: "1", RUST_BACKTRACE: "0" },
    }).outputSync();
    return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
  }

  async cliAsync(args: string[], stdin: string): Promise<Out> {
    const p = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, ...args, "--socket", this.socket],
      stdout: "piped",
      stderr: "piped",
      stdin: "piped",
      env: { DENO_NO_UPDATE_CHECK: "1", RUST_BACKTRACE: "0" },
    }).spawn();
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
    const o = await p.output();
    return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
  }

  showRoutes(): Array<Record<string, unknown>> {
    const o = this.cli(["show", "routes", "--json"]);
    if (o.code !== 0) throw new Error(o.stderr);
    return JSON.parse(o.stdout).routes;
  }

  /** Starts receivers on r1 and r2, sends from the sender, returns what each receiver got. */
  async traffic(
    group: string,
    opts: {
      n?: number;
      ttl?: number;
      tag?: string;
      gap?: number;
      listen?: number;
      from?: [string, string, string];
    } = {},
  ): Promise<{ r1: Received[]; r2: Received[] }> {
    const port = 5000 + Math.floor(Math.random() * 1000);
    const listen = opts.listen ?? 1.5;
    const start = (ns: string) => {
      const p = new Deno.Command("ip", {
        args: ["netns", "exec", ns, "python3", "-c", RECEIVER, group, String(port), "e0", String(listen)],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      return p;
    };
    const recv = [start(this.r1), start(this.r2)];
    // Wait for both "ready" lines before sending.
    const readers = recv.map((p) => p.stdout.getReader());
    const bufs = ["", ""];
    for (let i = 0; i < 2; i++) {
      while (!bufs[i].includes("ready\n")) {
        const { value, done } = await readers[i].read();
        if (done) throw new Error("receiver died");
        bufs[i] += dec.decode(value);
      }
    }
    const [ns, dev, bind] = opts.from ?? [this.snd, "s0", ""];
    const sargs = ["-c", SENDER, group, String(port), dev, String(opts.ttl ?? 8), String(opts.n ?? 5)];
    sargs.push(opts.tag ?? "pkt", String(opts.gap ?? 0.05));
    if (bind) sargs.push(bind);
    this.exec(ns, "python3", sargs);
    const results: Received[][] = [];
    for (let i = 0; i < 2; i++) {
      for (;;) {
        const { value, done } = await readers[i].read();
        if (done) break;
        bufs[i] += dec.decode(value);
      }
      await recv[i].status;
      await recv[i].stderr.cancel();
      const line = bufs[i].split("\n").filter((l) => l.startsWith("["))[0];
      results.push(line ? JSON.parse(line) : []);
    }
    return { r1: results[0], r2: results[1] };
  }

  async close(): Promise<void> {
    await this.killDaemon();
    this.#removeNamespaces();
  }
}

/** Runs `fn` with a fresh lab and always tears it down. */
export async function withLab(fn: (lab: Lab) => Promise<void>): Promise<void> {
  const lab = new Lab();
  try {
    await fn(lab);
  } catch (e) {
    console.error(`--- daemon log ---\n${lab.daemonLog}`);
    throw e;
  } finally {
    await lab.close();
  }
}
