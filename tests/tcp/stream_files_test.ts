/**
 * --streams files as tcpflow writes them. Names follow tcpflow's default template
 * `%A.%a-%B.%b%V%v%C%c`: the `--N` VLAN label is the whole tag control word of an 802.1Q (0x8100)
 * frame, priority bits included, and an 802.1ad (0x88a8) outer tag gets none; the `cN` counter of a
 * reused 4-tuple comes after it. A gap followed by data is zeros in the file, up to tcpflow's 16 MiB
 * max_seek. Checked against tcpflow itself when it is installed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PcapWriter } from "../../lib/capture/mod.ts";
import { ethernet, ipv4, tcp } from "../../lib/packet/build.ts";
import { haveTool } from "../_util/corpus.ts";

const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;
const SYN = 0x02, ACK = 0x10, PSH = 0x08, FIN = 0x01;

interface Conn {
  /** [tpid, tci] per tag, outermost first. */
  tags: [number, number][];
  sport: number;
}

/** `mpp analyze FILE --streams OUT`; returns OUT. */
async function streams(file: string, out: string): Promise<string> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "analyze", file, "--streams", out, "-q"],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  return out;
}

/** One TCP segment of connection `c` between 10.0.0.1:sport and 10.0.0.2:80. */
function seg(c: Conn, fromA: boolean, seq: number, ack: number, flags: number, text = ""): Uint8Array {
  const a = "10.0.0.1", b = "10.0.0.2", dport = 80;
  const payload = new TextEncoder().encode(text);
  const [src, dst] = fromA ? [a, b] : [b, a];
  const [sport, dp] = fromA ? [c.sport, dport] : [dport, c.sport];
  const f = ethernet({
    src: fromA ? "00:00:00:00:00:01" : "00:00:00:00:00:02",
    dst: fromA ? "00:00:00:00:00:02" : "00:00:00:00:00:01",
    etherType: 0x0800,
    vlans: c.tags.map(([, tci]) => tci),
    vlanTpids: c.tags.map(([tpid]) => tpid),
    payload: ipv4({
      src,
      dst,
      proto: 6,
      payload: tcp({ src, dst, sport, dport: dp, seq, ack, flags, payload }),
    }),
  });
  // The builder writes VLAN ids only: put the priority and DEI bits back.
  c.tags.forEach(([, tci], i) => {
    f[14 + 4 * i] = tci >> 8;
    f[15 + 4 * i] = tci & 0xff;
  });
  return f;
}

/** One connection: handshake, a request, a response, FINs. */
function frames(c: Conn, isn: number): Uint8Array[] {
  const req = `GET /${c.sport} HTTP/1.1\r\nHost: x\r\n\r\n`,
    resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  const s = isn, r = isn + 5000, s1 = s + 1 + req.length, r1 = r + 1 + resp.length;
  return [
    seg(c, true, s, 0, SYN),
    seg(c, false, r, s + 1, SYN | ACK),
    seg(c, true, s + 1, r + 1, ACK),
    seg(c, true, s + 1, r + 1, PSH | ACK, req),
    seg(c, false, r + 1, s1, PSH | ACK, resp),
    seg(c, true, s1, r1, FIN | ACK),
    seg(c, false, r1, s1 + 1, FIN | ACK),
    seg(c, true, s1 + 1, r1 + 1, ACK),
  ];
}

Deno.test("--streams names: tcpflow's VLAN label and reuse counter", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mpp-names-" });
  try {
    const file = join(dir, "vlan.pcap");
    const w = await PcapWriter.create(file, { linkType: 1, precision: "us" });
    const conns: [Conn, number][] = [
      [{ tags: [[0x8100, 0x2005]], sport: 1001 }, 1000], // PCP 1, VID 5: label 8197
      [{ tags: [[0x88a8, 100], [0x8100, 5]], sport: 1002 }, 2000], // 802.1ad outer tag: no label
      [{ tags: [[0x8100, 100], [0x8100, 5]], sport: 1003 }, 3000], // QinQ with 0x8100 outside: the outer TCI
      [{ tags: [[0x8100, 7]], sport: 1004 }, 4000], // the same 4-tuple twice: c1 after the label
      [{ tags: [[0x8100, 7]], sport: 1004 }, 90000],
      [{ tags: [], sport: 1005 }, 5000],
    ];
    let t = 0;
    for (const [c, isn] of conns) {
      for (const f of frames(c, isn)) await w.write(f, f.length, 1700000000, 1000 * t++, 0);
    }
    await w.close();
    const out = await streams(file, join(dir, "mpp"));
    const names = (d: string) =>
      [...Deno.readDirSync(d)].map((e) => e.name).filter((n) => n !== "report.xml" && n !== "index.json")
        .sort();
    const a = "010.000.000.001", b = "010.000.000.002";
    const pair = (sport: number, suffix: string) => [
      `${a}.0${sport}-${b}.00080${suffix}`,
      `${b}.00080-${a}.0${sport}${suffix}`,
    ];
    const expected = [
      ...pair(1001, "--8197"),
      ...pair(1002, ""),
      ...pair(1003, "--100"),
      ...pair(1004, "--7"),
      ...pair(1004, "--7c1"),
      ...pair(1005, ""),
    ].sort();
    assert.deepEqual(names(out), expected);
    if (!haveTool("tcpflow")) return console.warn("SKIP tcpflow comparison: tcpflow not installed");
    const tf = join(dir, "tf");
    await Deno.mkdir(tf);
    const t2 = await new Deno.Command("tcpflow", {
      args: ["-r", file, "-o", tf],
      stdout: "null",
      stderr: "null",
    })
      .output();
    assert.equal(t2.code, 0);
    assert.deepEqual(names(out), names(tf));
    for (const n of names(tf)) {
      assert.deepEqual(await Deno.readFile(join(out, n)), await Deno.readFile(join(tf, n)), n);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--streams gaps: zeros up to 16 MiB as tcpflow writes them; a sequence jump past that writes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mpp-gaps-" });
  try {
    const file = join(dir, "gaps.pcap");
    const w = await PcapWriter.create(file, { linkType: 1, precision: "us" });
    // Connection 1: "head", 4 bytes lost, "tail". Connection 2 (another port): "head", a 300 MB jump, "tail".
    const small = { tags: [], sport: 2001 }, jump = { tags: [], sport: 2002 };
    const frames1 = (c: Conn, lost: number) => [
      seg(c, true, 100, 0, SYN),
      seg(c, false, 500, 101, SYN | ACK),
      seg(c, true, 101, 501, PSH | ACK, "head"),
      seg(c, true, 105 + lost, 501, PSH | ACK, "tail"),
      seg(c, true, 109 + lost, 501, FIN | ACK),
      seg(c, false, 501, 110 + lost, FIN | ACK),
    ];
    let t = 0;
    for (const f of [...frames1(small, 4), ...frames1(jump, 300_000_000)]) {
      await w.write(f, f.length, 1700000000, 1000 * t++, 0);
    }
    await w.close();
    const out = await streams(file, join(dir, "mpp"));
    const name = (sport: number) => `010.000.000.001.0${sport}-010.000.000.002.00080`;
    const te = new TextEncoder();
    assert.deepEqual(await Deno.readFile(join(out, name(2001))), te.encode("head\0\0\0\0tail"));
    assert.deepEqual(await Deno.readFile(join(out, name(2002))), te.encode("headtail"));
    const idx = JSON.parse(await Deno.readTextFile(join(out, "index.json")));
    const side = (sport: number) =>
      idx.streams.find((s: { orig: { file: string } }) => s.orig.file === name(sport)).orig;
    assert.deepEqual(
      [side(2001).bytes, side(2001).fileBytes, side(2001).missedBytes, side(2001).gaps],
      [8, 12, 4, [{ offset: 4, length: 4 }]],
    );
    assert.deepEqual(
      [side(2002).bytes, side(2002).fileBytes, side(2002).missedBytes, side(2002).gaps],
      [8, 8, 300_000_000, [{ offset: 4, length: 300_000_000 }]],
    );
    if (!haveTool("tcpflow")) return console.warn("SKIP tcpflow comparison: tcpflow not installed");
    const tf = join(dir, "tf");
    await Deno.mkdir(tf);
    await new Deno.Command("tcpflow", { args: ["-r", file, "-o", tf], stdout: "null", stderr: "null" })
      .output();
    // tcpflow zero-fills the small gap the same way (it starts a new `c1` file after the jump).
    assert.deepEqual(await Deno.readFile(join(tf, name(2001))), await Deno.readFile(join(out, name(2001))));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
