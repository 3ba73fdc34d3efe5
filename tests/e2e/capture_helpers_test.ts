/**
 * Helpers for the `mpp capture` e2e tests (this module registers no tests itself): namespaces joined
 * by a veth pair, starting mpp inside one, sending traffic from the other, counting with peers.
 */
import { haveTool, isRoot } from "../_util/corpus.ts";
import { libpcapAvailable } from "../../ffi/libpcap.ts";

export const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;
export const ready = isRoot && libpcapAvailable() && haveTool("ip") && haveTool("python3");
export const why = !isRoot ? "needs root (network namespaces)" : "needs libpcap, ip and python3";
export const dec = new TextDecoder();

export interface Net {
  a: string;
  b: string;
  ifA: string;
  addrA: string;
  addrB: string;
  dir: string;
  [Symbol.asyncDispose](): Promise<void>;
}

function sh(cmd: string, args: string[]): string {
  const r = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")}: ${dec.decode(r.stderr)}`);
  return dec.decode(r.stdout);
}

/** Two namespaces joined by a veth pair, removed (with the temp dir) on dispose even after failures. */
export function makeNet(): Net {
  const id = crypto.randomUUID().slice(0, 6);
  const a = `mppA${id}`, b = `mppB${id}`, ifA = `va${id}`, ifB = `vb${id}`;
  const octet = 1 + (parseInt(id.slice(0, 2), 16) % 250);
  const addrA = `10.${octet}.7.1`, addrB = `10.${octet}.7.2`;
  const dir = Deno.makeTempDirSync({ prefix: "mpp-cap-" });
  const net: Net = {
    a,
    b,
    ifA,
    addrA,
    addrB,
    dir,
    [Symbol.asyncDispose]: async () => {
      for (const ns of [a, b]) {
        await new Deno.Command("ip", { args: ["netns", "del", ns], stderr: "null" }).output();
      }
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  try {
    sh("ip", ["netns", "add", a]);
    sh("ip", ["netns", "add", b]);
    sh("ip", ["link", "add", ifA, "netns", a, "type", "veth", "peer", "name", ifB, "netns", b]);
    sh("ip", ["-n", a, "addr", "add", `${addrA}/24`, "dev", ifA]);
    sh("ip", ["-n", b, "addr", "add", `${addrB}/24`, "dev", ifB]);
    for (const [ns, dev] of [[a, ifA], [b, ifB], [a, "lo"], [b, "lo"]]) {
      sh("ip", ["-n", ns, "link", "set", dev, "up"]);
    }
  } catch (e) {
    for (const ns of [a, b]) {
      new Deno.Command("ip", { args: ["netns", "del", ns], stderr: "null" }).outputSync();
    }
    throw e;
  }
  return net;
}

export interface Running {
  child: Deno.ChildProcess;
  stderr: () => string;
  stdout: () => string;
  done: Promise<Deno.CommandStatus>;
}

/** Starts `mpp capture ARGS` inside namespace `ns` and resolves once it prints "listening on". */
export async function startCapture(ns: string, args: string[], prefix: string[] = []): Promise<Running> {
  const child = new Deno.Command(prefix.length ? prefix[0] : "ip", {
    args: [
      ...prefix.slice(1),
      ...(prefix.length ? ["ip"] : []),
      "netns",
      "exec",
      ns,
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "capture",
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1" },
  }).spawn();
  let err = "", out = "";
  const pump = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    for await (const c of s) add(dec.decode(c));
  };
  const pumps = Promise.all([pump(child.stderr, (t) => err += t), pump(child.stdout, (t) => out += t)]);
  const done = pumps.then(() => child.status);
  const t0 = Date.now();
  while (!err.includes("listening on")) {
    if (Date.now() - t0 > 15000) {
      child.kill("SIGKILL");
      await done;
      throw new Error(`capture did not start: ${err}`);
    }
    const st = await Promise.race([done.then(() => "exited"), new Promise((r) => setTimeout(r, 20, "wait"))]);
    if (st === "exited") throw new Error(`capture exited early: ${err}`);
  }
  return { child, stderr: () => err, stdout: () => out, done };
}

/** Runs a python3 snippet inside namespace `ns`. */
export function pyIn(ns: string, code: string): string {
  return sh("ip", ["netns", "exec", ns, "python3", "-c", code]);
}

export function udpSend(ns: string, to: string, port: number, count: number, size: number): void {
  pyIn(
    ns,
    `import socket,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
for i in range(${count}):
    s.sendto(bytes([i%256])*${size},("${to}",${port}))
    if i%50==49: time.sleep(0.002)`,
  );
}

/** Counts of a file by tshark (-Y filter) and by tcpdump (BPF filter). */
export function countWith(
  file: string,
  tsharkFilter: string,
  bpf: string,
): { tshark: number; tcpdump: number } {
  const t = haveTool("tshark")
    ? dec.decode(
      new Deno.Command("tshark", {
        args: ["-r", file, "-Y", tsharkFilter, "-T", "fields", "-e", "frame.number"],
        stdout: "piped",
        stderr: "null",
      }).outputSync().stdout,
    )
      .split("\n").filter(Boolean).length
    : -1;
  const d = haveTool("tcpdump")
    ? dec.decode(
      new Deno.Command("tcpdump", { args: ["-nn", "-r", file, bpf], stdout: "piped", stderr: "null" })
        .outputSync().stdout,
    )
      .split("\n").filter(Boolean).length
    : -1;
  return { tshark: t, tcpdump: d };
}
