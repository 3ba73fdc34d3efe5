/**
 * `mpp capture` end to end, as root, in network namespaces the test creates: a veth pair between
 * namespace A (where mpp captures) and B (where traffic comes from), real UDP and TCP traffic,
 * stop by signal, and the written file checked with tcpdump and tshark.
 */
import assert from "node:assert/strict";
import { haveTool, testIf } from "../_util/corpus.ts";
import {
  countWith,
  dec,
  MAIN,
  makeNet,
  pyIn,
  ready,
  startCapture,
  udpSend,
  why,
} from "./capture_helpers_test.ts";

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

testIf(ready, why, "--flows prints the flow hierarchy table every second and at the end", async () => {
  await using net = makeNet();
  const cap = await startCapture(net.a, ["-i", net.ifA, "-f", "udp", "--flows", "-a", "duration:2"]);
  udpSend(net.b, net.addrA, 9000, 40, 120);
  assert.equal((await cap.done).code, 0, cap.stderr());
  const out = cap.stdout();
  const tables = out.split("Flow / transport / encoding / packet type").length - 1;
  assert.ok(tables >= 2, `expected a table per second and a final one, got ${tables}:\n${out}`);
  const last = out.slice(out.lastIndexOf("frames,") - 10);
  assert.match(last, /\b40 frames\b/);
  assert.ok(last.includes(net.addrB) && last.includes(`${net.addrA}:9000`), last);
  assert.match(last, /UDP/);
});

testIf(
  ready,
  why,
  "several -i write one pcapng with an interface each; --tstamp-precision nano; --immediate",
  async () => {
    await using net = makeNet();
    const file = `${net.dir}/two.pcapng`;
    const cap = await startCapture(net.a, [
      "-i",
      net.ifA,
      "-i",
      "lo",
      "-f",
      "udp",
      "--tstamp-precision",
      "nano",
      "--immediate",
      "-s",
      "2048",
      "-w",
      file,
    ]);
    udpSend(net.b, net.addrA, 9000, 5, 50);
    pyIn(
      net.a,
      `import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
for i in range(3): s.sendto(b"l"*20,("127.0.0.1",9001))`,
    );
    await new Promise((r) => setTimeout(r, 200));
    cap.child.kill("SIGINT");
    assert.equal((await cap.done).code, 0, cap.stderr());
    assert.match(cap.stderr(), /listening on lo/);
    if (haveTool("tshark")) {
      const rows = dec.decode(
        new Deno.Command("tshark", {
          args: [
            "-r",
            file,
            "-Y",
            "udp && !icmp",
            "-T",
            "fields",
            "-e",
            "frame.interface_name",
            "-e",
            "udp.dstport",
          ],
          stdout: "piped",
        }).outputSync().stdout,
      ).split("\n").filter(Boolean).sort();
      assert.deepEqual(rows, [...Array(3).fill("lo\t9001"), ...Array(5).fill(`${net.ifA}\t9000`)].sort());
    }
    if (haveTool("capinfos")) {
      // capinfos prints times with the file's own resolution: 9 digits only for nanosecond interfaces.
      const info = dec.decode(
        new Deno.Command("capinfos", { args: ["-a", file], stdout: "piped", stderr: "null" }).outputSync()
          .stdout,
      );
      assert.match(info, /First packet time:\s+\S+ \d\d:\d\d:\d\d\.\d{9}\s*$/m, info);
    }
  },
);

testIf(ready, why, "packet lines name the application protocol a decoder recognises", async () => {
  await using net = makeNet();
  const cap = await startCapture(net.a, ["-i", net.ifA, "-c", "1", "-f", "udp port 53"]);
  // A DNS query for example.com, type A, built byte by byte.
  pyIn(
    net.b,
    `import socket
q=bytes([0x12,0x34,1,0,0,1,0,0,0,0,0,0,7])+b"example"+bytes([3])+b"com"+bytes([0,0,1,0,1])
socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(q,("${net.addrA}",53))`,
  );
  assert.equal((await cap.done).code, 0, cap.stderr());
  const line = cap.stdout().trim();
  assert.match(line, /UDP, length 29 \[DNS [^\]]*[Qq]uery[^\]]*\]$/, line);
});
