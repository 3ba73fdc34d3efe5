/**
 * `mpp capture` end to end, as root, in network namespaces the test creates: a veth pair between
 * namespace A (where mpp captures) and B (where traffic comes from), real UDP and TCP traffic,
 * stop by signal, and the written file checked with tcpdump and tshark.
 */
import assert from "node:assert/strict";
import { haveTool, isRoot, testIf } from "../_util/corpus.ts";
import { libpcapAvailable } from "../../ffi/libpcap.ts";

const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;
const ready = isRoot && libpcapAvailable() && haveTool("ip") && haveTool("python3");
const why = !isRoot ? "needs root (network namespaces)" : "needs libpcap, ip and python3";
const dec = new TextDecoder();

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

testIf(
  ready,
  why,
  "capture UDP and TCP through a veth, stop with SIGINT, file agrees with tcpdump and tshark",
  async () => {
    await using net = makeNet();
    for (const name of ["out.pcapng", "out.pcap"]) {
      const file = `${net.dir}/${name}`;
      const cap = await startCapture(net.a, ["-i", net.ifA, "-w", file]);
      // A TCP server in A that reads everything; the client in B sends a known number of bytes.
      const server = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          net.a,
          "python3",
          "-c",
          `import socket
l=socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("${net.addrA}",7001)); l.listen(1)
c,_=l.accept(); n=0
while True:
    d=c.recv(65536)
    if not d: break
    n+=len(d)
print(n)`,
        ],
        stdout: "piped",
      }).spawn();
      await new Promise((r) => setTimeout(r, 300));
      udpSend(net.b, net.addrA, 9000, 300, 200);
      pyIn(
        net.b,
        `import socket,time
s=socket.create_connection(("${net.addrA}",7001))
for i in range(100): s.sendall(b"y"*1000)
s.close()`,
      );
      const got = dec.decode((await server.output()).stdout).trim();
      assert.equal(got, "100000");
      cap.child.kill("SIGINT"); // right after the traffic: the tail must still reach the file
      const st = await cap.done;
      assert.equal(st.code, 0, cap.stderr());
      assert.match(cap.stderr(), /packets captured/);
      assert.match(
        cap.stderr(),
        new RegExp(`${net.ifA}: \\d+ packets received by filter, 0 dropped by kernel`),
      );

      const udp = countWith(file, "udp.dstport == 9000 && !icmp", "udp dst port 9000");
      assert.equal(udp.tshark, 300, `tshark UDP count (${name})`);
      assert.equal(udp.tcpdump, 300, `tcpdump UDP count (${name})`);
      if (haveTool("tshark")) {
        const lens = dec.decode(
          new Deno.Command("tshark", {
            args: ["-r", file, "-Y", "tcp.dstport == 7001", "-T", "fields", "-e", "tcp.len"],
            stdout: "piped",
          }).outputSync().stdout,
        )
          .split("\n").filter(Boolean).map(Number);
        assert.equal(lens.reduce((a, b) => a + b, 0), 100000, "TCP payload bytes in the file");
        const all = countWith(file, "frame", "");
        assert.equal(all.tshark, all.tcpdump, "tshark and tcpdump read the same number of packets");
        const m = /(\d+) packets captured/.exec(cap.stderr());
        assert.equal(Number(m?.[1]), all.tshark, "mpp's count equals the file's");
      }
    }
  },
);

testIf(ready, why, "a filter that excludes everything writes a valid empty capture", async () => {
  await using net = makeNet();
  const file = `${net.dir}/none.pcapng`;
  const cap = await startCapture(net.a, ["-i", net.ifA, "-f", "udp port 1", "-w", file]);
  udpSend(net.b, net.addrA, 9000, 50, 100);
  await new Promise((r) => setTimeout(r, 200));
  cap.child.kill("SIGTERM");
  assert.equal((await cap.done).code, 0);
  assert.match(cap.stderr(), /^0 packets captured/m);
  const c = countWith(file, "frame", "");
  if (c.tshark >= 0) assert.equal(c.tshark, 0);
  if (c.tcpdump >= 0) assert.equal(c.tcpdump, 0);
  assert.ok(Deno.statSync(file).size > 0, "header written");
});

testIf(ready, why, "-c stops after COUNT packets and prints one line per packet without -w", async () => {
  await using net = makeNet();
  const cap = await startCapture(net.a, ["-i", net.ifA, "-c", "5", "-f", "udp"]);
  udpSend(net.b, net.addrA, 9000, 20, 64);
  const st = await cap.done;
  assert.equal(st.code, 0, cap.stderr());
  const lines = cap.stdout().split("\n").filter(Boolean);
  assert.equal(lines.length, 5);
  for (const l of lines) {
    assert.match(
      l,
      new RegExp(
        `^\\d\\d:\\d\\d:\\d\\d\\.\\d{6} IP ${net.addrB.replaceAll(".", "\\.")}\\.\\d+ > ${
          net.addrA.replaceAll(".", "\\.")
        }\\.9000: UDP, length 64$`,
      ),
    );
  }
  assert.match(cap.stderr(), /^5 packets captured/m);
});

testIf(
  ready && haveTool("setpriv"),
  "needs root, libpcap and setpriv",
  "without CAP_NET_RAW the run fails with the permission error",
  async () => {
    const r = await new Deno.Command("setpriv", {
      args: [
        "--bounding-set=-net_raw,-net_admin",
        "--inh-caps=-net_raw,-net_admin",
        Deno.execPath(),
        "run",
        "-A",
        MAIN,
        "capture",
        "-i",
        "lo",
        "-c",
        "1",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = dec.decode(r.stderr);
    assert.equal(r.code, 1, err);
    assert.match(err, /^mpp: not permitted to capture on lo: .*permission/m);
    assert.match(err, /^hint: run as root, or give the program CAP_NET_RAW and CAP_NET_ADMIN/m);
    assert.ok(!err.includes("    at "), "no stack trace");
  },
);

testIf(ready, why, "bad interface and bad filter are clear errors", async () => {
  for (
    const [args, re, code] of [
      [["-i", "mpp-nope0"], /^mpp: no such interface: mpp-nope0\nhint: interfaces here: .*\blo\b/m, 1],
      [["-i", "lo", "-f", "udp port 99999"], /^mpp: bad filter "udp port 99999": .*port/m, 2],
      [["-i", "lo", "-b", "filesize:10"], /^mpp: -b needs -w FILE/m, 2],
    ] as const
  ) {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "capture", ...args],
      stderr: "piped",
      stdout: "null",
    }).output();
    const err = dec.decode(r.stderr);
    assert.equal(r.code, code, err);
    assert.match(err, re);
  }
});
