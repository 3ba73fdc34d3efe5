/**
 * `mpp capture -w` end to end: ring buffers by size, file count and duration, autostop, a signal in
 * the middle of a flood, and a full disk (a small tmpfs): every file left behind must be readable.
 */
import assert from "node:assert/strict";
import { haveTool, testIf } from "../_util/corpus.ts";
import { countWith, dec, MAIN, makeNet, ready, startCapture, udpSend, why } from "./capture_helpers_test.ts";

const RING_NAME = /^ring_(\d{5})_(\d{14})\.pcapng$/;

function ringFiles(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => RING_NAME.test(n)).sort();
}

/** tcpdump must read the whole file without complaining (a cut record gives "truncated dump file"). */
function assertReadable(file: string): number {
  if (!haveTool("tcpdump")) return -1;
  const r = new Deno.Command("tcpdump", { args: ["-nn", "-r", file], stdout: "piped", stderr: "piped" })
    .outputSync();
  const err = dec.decode(r.stderr);
  assert.ok(r.success, `${file}: ${err}`);
  assert.ok(!/truncated|bogus|error/i.test(err), `${file}: ${err}`);
  return dec.decode(r.stdout).split("\n").filter(Boolean).length;
}

testIf(ready, why, "-b filesize:KB rotates with dumpcap names; -b files:N keeps the newest N", async () => {
  await using net = makeNet();
  for (const keep of [0, 3]) {
    const dir = `${net.dir}/k${keep}`;
    Deno.mkdirSync(dir);
    const args = ["-i", net.ifA, "-f", "udp", "-w", `${dir}/ring.pcapng`, "-b", "filesize:20"];
    if (keep) args.push("-b", `files:${keep}`);
    const cap = await startCapture(net.a, args);
    udpSend(net.b, net.addrA, 9000, 300, 1000);
    await new Promise((r) => setTimeout(r, 300));
    cap.child.kill("SIGINT");
    assert.equal((await cap.done).code, 0, cap.stderr());
    const files = ringFiles(dir);
    const numbers = files.map((f) => Number(RING_NAME.exec(f)![1]));
    if (keep) {
      assert.equal(files.length, keep, files.join(" "));
      // The newest ones survive, in sequence.
      assert.deepEqual(numbers, [numbers[0], numbers[0] + 1, numbers[0] + 2]);
      assert.ok(numbers[0] > 1);
    } else {
      assert.ok(files.length >= 14, `only ${files.length} files`);
      assert.deepEqual(numbers, files.map((_, i) => i + 1));
      let total = 0;
      for (const f of files) {
        const size = Deno.statSync(`${dir}/${f}`).size;
        // A file is switched after the record that reaches 20 kB: at most one record over.
        assert.ok(size <= 20000 + 1100, `${f}: ${size} bytes`);
        total += assertReadable(`${dir}/${f}`);
      }
      assert.equal(total, 300);
    }
  }
});

testIf(ready, why, "-b duration:S switches files on time, also without traffic", async () => {
  await using net = makeNet();
  const cap = await startCapture(net.a, ["-i", net.ifA, "-w", `${net.dir}/ring.pcapng`, "-b", "duration:1"]);
  udpSend(net.b, net.addrA, 9000, 10, 100);
  await new Promise((r) => setTimeout(r, 2700));
  cap.child.kill("SIGTERM");
  assert.equal((await cap.done).code, 0, cap.stderr());
  const files = ringFiles(net.dir);
  assert.ok(files.length >= 3 && files.length <= 4, files.join(" "));
  let total = 0;
  for (const f of files) {
    total += Math.max(
      0,
      countWith(`${net.dir}/${f}`, "udp.dstport == 9000 && !icmp", "udp dst port 9000").tcpdump,
    );
  }
  if (haveTool("tcpdump")) assert.equal(total, 10);
});

testIf(ready, why, "-a duration:S stops by itself; -a packets:N stops after N", async () => {
  await using net = makeNet();
  const t0 = Date.now();
  const cap = await startCapture(net.a, ["-i", net.ifA, "-a", "duration:1", "-w", `${net.dir}/a.pcapng`]);
  assert.equal((await cap.done).code, 0, cap.stderr());
  const took = Date.now() - t0;
  assert.ok(took < 6000, `took ${took} ms`);
  const cap2 = await startCapture(net.a, [
    "-i",
    net.ifA,
    "-f",
    "udp",
    "-a",
    "packets:7",
    "-w",
    `${net.dir}/p.pcap`,
  ]);
  udpSend(net.b, net.addrA, 9000, 30, 100);
  assert.equal((await cap2.done).code, 0, cap2.stderr());
  assert.equal(assertReadable(`${net.dir}/p.pcap`), 7);
});

testIf(
  ready,
  why,
  "SIGTERM in the middle of a flood leaves a valid file with every counted packet",
  async () => {
    await using net = makeNet();
    const file = `${net.dir}/flood.pcapng`;
    const cap = await startCapture(net.a, ["-i", net.ifA, "-w", file, "-f", "udp"]);
    const flood = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        net.b,
        "python3",
        "-c",
        `import socket,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); t=time.time()
while time.time()-t < 2.5: s.sendto(b"z"*300,("${net.addrA}",9000))`,
      ],
    }).spawn();
    await new Promise((r) => setTimeout(r, 1000));
    cap.child.kill("SIGTERM");
    assert.equal((await cap.done).code, 0, cap.stderr());
    await flood.status;
    const n = assertReadable(file);
    const m = /^(\d+) packets captured/m.exec(cap.stderr());
    assert.ok(m, cap.stderr());
    if (n >= 0) assert.equal(n, Number(m[1]), "the file holds every packet mpp counted");
    assert.ok(Number(m[1]) > 1000, `only ${m[1]} packets in a flood`);
  },
);

testIf(
  ready && haveTool("mount"),
  why,
  "a full disk stops the capture with a clear error and a valid file",
  async () => {
    await using net = makeNet();
    const mnt = `${net.dir}/small`;
    Deno.mkdirSync(mnt);
    const m = new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt],
      stderr: "piped",
    }).outputSync();
    assert.ok(m.success, dec.decode(m.stderr));
    try {
      for (const name of ["full.pcap", "full.pcapng"]) {
        const file = `${mnt}/${name}`;
        const cap = await startCapture(net.a, ["-i", net.ifA, "-f", "udp", "-w", file]);
        // Well over 256 KiB (the writer's 1 MiB buffer is flushed when it fills and at the end).
        udpSend(net.b, net.addrA, 9000, 1500, 1000);
        // The capture must stop by itself when the disk fills.
        const timer = setTimeout(() => cap.child.kill("SIGKILL"), 10000);
        const st = await cap.done;
        clearTimeout(timer);
        const err = cap.stderr();
        assert.equal(st.code, 1, err);
        assert.match(
          err,
          /^mpp: writing .*full\.pcap(ng)? failed; .* was cut to \d+ bytes, its last whole record: .*No space left/m,
        );
        assert.match(err, /^hint: the disk is full/m);
        const n = assertReadable(file);
        if (n >= 0) assert.ok(n > 100, `${n} packets kept`);
        Deno.removeSync(file);
      }
    } finally {
      new Deno.Command("umount", { args: [mnt] }).outputSync();
    }
  },
);

testIf(ready, why, "-w - streams a pcap to stdout that tcpdump reads", async () => {
  await using net = makeNet();
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      net.a,
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "capture",
      "-i",
      net.ifA,
      "-f",
      "udp",
      "-c",
      "12",
      "-F",
      "pcap",
      "-w",
      "-",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const chunks: Uint8Array[] = [];
  let err = "";
  const outDone = (async () => {
    for await (const c of child.stdout) chunks.push(c);
  })();
  const errDone = (async () => {
    for await (const c of child.stderr) err += dec.decode(c);
  })();
  for (let t = 0; !err.includes("listening on") && t < 750; t++) await new Promise((r) => setTimeout(r, 20));
  udpSend(net.b, net.addrA, 9000, 12, 80);
  const st = await child.status;
  await Promise.all([outDone, errDone]);
  assert.equal(st.code, 0, err);
  const file = `${net.dir}/stdout.pcap`;
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) bytes.set(c, (o += c.length) - c.length);
  Deno.writeFileSync(file, bytes);
  assert.equal(new DataView(bytes.buffer).getUint32(0, true), 0xa1b2c3d4, "pcap magic on stdout");
  assert.equal(bytes.length, 24 + 12 * (16 + 14 + 20 + 8 + 80));
  const n = assertReadable(file);
  if (n >= 0) assert.equal(n, 12);
  assert.match(err, /^12 packets captured/m);
});
