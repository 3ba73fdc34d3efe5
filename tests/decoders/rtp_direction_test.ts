/**
 * The two directions of a call share one UDP flow but are two RTP streams: each names its own
 * sender and receiver (they were both given the flow's A → B), plain and inside a GTP-U bearer whose
 * directions have their own TEIDs. Checked against tshark's `-z rtp,streams` when it is installed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as B from "../../lib/packet/build.ts";
import { PcapWriter } from "../../lib/capture/mod.ts";
import { analyzeFiles } from "../../lib/flow/analyze_files.ts";
import { haveTool, testIf } from "../_util/corpus.ts";
import { tshark } from "../_util/tshark.ts";

const UE = "10.45.0.2", PEER = "10.99.0.9";

function rtp(seq: number, ts: number, ssrc: number): Uint8Array {
  const b = new Uint8Array(172);
  b[0] = 0x80;
  b[2] = seq >> 8;
  b[3] = seq & 0xff;
  const dv = new DataView(b.buffer);
  dv.setUint32(4, ts);
  dv.setUint32(8, ssrc);
  return b;
}

/** 60 packets each way, 20 ms apart; the PEER → UE direction starts first, so it is not the flow's A. */
async function call(dir: string, gtp: boolean): Promise<string> {
  const file = join(dir, gtp ? "gtp-call.pcap" : "call.pcap");
  const w = await PcapWriter.create(file, { linkType: 1, precision: "ns" });
  let t = 0;
  for (let i = 0; i < 60; i++) {
    for (const up of [false, true]) {
      const [s, d] = up ? [UE, PEER] : [PEER, UE];
      const [sp, dp] = up ? [30000, 40000] : [40000, 30000];
      let ip = B.ipv4({
        src: s,
        dst: d,
        proto: 17,
        payload: B.udp({
          sport: sp,
          dport: dp,
          payload: rtp(100 + i, 160 * i, up ? 0x1234 : 0x5678),
          src: s,
          dst: d,
        }),
      });
      if (gtp) {
        const [os, od] = up ? ["192.168.1.1", "192.168.1.2"] : ["192.168.1.2", "192.168.1.1"];
        const g = B.gtpu({ teid: up ? 7 : 9, payload: ip });
        ip = B.ipv4({
          src: os,
          dst: od,
          proto: 17,
          payload: B.udp({ sport: 2152, dport: 2152, payload: g, src: os, dst: od }),
        });
      }
      const f = B.ethernet({
        src: "02:00:00:00:00:01",
        dst: "02:00:00:00:00:02",
        etherType: 0x0800,
        payload: ip,
      });
      t += 10_000_000;
      w.write(f, f.length, 1_700_000_000, t, 0);
    }
  }
  await w.close();
  return file;
}

Deno.test("each RTP stream of a two-way call names its own sender and receiver, plain and over GTP-U", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mpp-rtp-" });
  try {
    for (const gtp of [false, true]) {
      const { report } = await analyzeFiles([await call(dir, gtp)], { threads: 1 });
      assert.equal(report.flows.length, 1, "one flow for the call, its two TEIDs included");
      const got = report.rtp.streams.map((s) => `${s.ssrc.toString(16)} ${s.src} ${s.dst} ${s.packets}`)
        .sort();
      assert.deepEqual(
        got,
        [`1234 ${UE}:30000 ${PEER}:40000 60`, `5678 ${PEER}:40000 ${UE}:30000 60`],
        `gtp ${gtp}`,
      );
      // The flow's session lists the same directions.
      const flow = report.flows.find((f) => f.encodings[0]?.name === "RTP")!;
      const session = flow.encodings[0].session as { streams: { ssrc: number; src: string }[] };
      assert.equal(session.streams.find((s) => s.ssrc === 0x5678)!.src, `${PEER}:40000`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

testIf(
  haveTool("tshark"),
  "tshark not installed",
  "RTP stream directions equal tshark's rtp,streams",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mpp-rtp-" });
    try {
      for (const gtp of [false, true]) {
        const file = await call(dir, gtp);
        const out = await tshark(["-r", file, "--enable-heuristic", "rtp_udp", "-q", "-z", "rtp,streams"]);
        const theirs = [...out.matchAll(/\s(\S+) (\d+)\s+(\S+) (\d+) 0x([0-9A-Fa-f]+)/g)]
          .map((m) => `${parseInt(m[5], 16).toString(16)} ${m[1]}:${m[2]} ${m[3]}:${m[4]}`).sort();
        const { report } = await analyzeFiles([file], { threads: 1 });
        const ours = report.rtp.streams.map((s) => `${s.ssrc.toString(16)} ${s.src} ${s.dst}`).sort();
        assert.equal(theirs.length, 2, out);
        assert.deepEqual(ours, theirs, `gtp ${gtp}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
