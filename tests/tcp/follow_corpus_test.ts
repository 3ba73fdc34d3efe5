/**
 * Every TCP stream of every corpus file: the bytes of each direction equal tshark's
 * `-z follow,tcp,raw,N` (length and SHA-256), and the bytes tshark marks missing equal mpp's
 * missed bytes. Legitimate differences are listed in DIFFERENCES with the reason.
 */
import assert from "node:assert/strict";
import { corpusFiles, corpusPath, corpusTest, eachCorpusFile, expected, haveTool } from "../_util/corpus.ts";
import { nodeLabel, ourStreams, sha256, tsharkFollow } from "./_follow.ts";

const DIFFERENCES: Record<string, string> = {
  "tcp-retrans-lost-dupack.pcap":
    "the client's retransmissions carry different bytes for the same sequence ranges (two " +
    "segmentations of the upload). mpp keeps the first copy received (documented first-data-wins " +
    "policy), tshark's follow lets the in-order segment that fills a hole overwrite data it " +
    "buffered out of order. Lengths and missed bytes agree; exactly 52 bytes differ.",
};

const haveTshark = haveTool("tshark");
const tcpFiles = corpusFiles().filter((f) => (expected()[f].protocols ?? {}).tcp !== undefined);

eachCorpusFile("follow,tcp,raw equals tshark for every stream", tcpFiles, (file) => {
  corpusTest(`follow,tcp,raw equals tshark for every stream: ${file}`, async () => {
    const path = corpusPath(file);
    const { streams } = await ourStreams(path);
    assert.ok(streams.length > 0, "at least one TCP stream");
    for (const s of streams) {
      // Basic invariants hold even without tshark.
      for (const d of [0, 1]) assert.equal(s.bytes[d].length, s.stream.dirs[d].bytes);
    }
    if (!haveTshark) {
      console.warn(`SKIP tshark comparison for ${file}: tshark not installed`);
      return;
    }
    if (file === "gtp-u-http-ipv4-frag.pcap") {
      const [t] = await tsharkFollow(path, [0]);
      const byKey = new Map<string, Uint8Array>();
      for (const s of streams) {
        for (const d of [0, 1]) {
          if (s.bytes[d].length > 0) {
            byKey.set(`${nodeLabel(s.stream, d)}>${nodeLabel(s.stream, d ^ 1)}`, s.bytes[d]);
          }
        }
      }
      const c2s = byKey.get(`${t.node0}>${t.node1}`)!, s2c = byKey.get(`${t.node1}>${t.node0}`)!;
      assert.equal(c2s.length, t.bytes[0].length);
      assert.equal(await sha256(c2s), await sha256(t.bytes[0]));
      // The server's direction: tshark marks 5760 bytes missing, mpp skips the same hole.
      assert.equal(s2c.length, t.bytes[1].length);
      assert.equal(await sha256(s2c), await sha256(t.bytes[1]));
      const missed = streams.reduce(
        (n, s) => n + s.stream.dirs[0].missedBytes + s.stream.dirs[1].missedBytes,
        0,
      );
      assert.equal(missed, t.missing[0] + t.missing[1]);
      return;
    }
    const ts = await tsharkFollow(path, streams.map((s) => s.stream.index));
    assert.equal(ts.length, streams.length, "tshark printed one block per stream");
    for (let i = 0; i < streams.length; i++) {
      const s = streams[i], t = ts[i];
      const where = `${file} stream ${i}`;
      // Node 0 is the sender of the stream's first segment (tshark skips frames whose TCP header
      // the snaplen cut, so names are compared only for streams that carry data).
      const d0 = s.stream.firstDir;
      assert.equal(t.stream, s.stream.index);
      if (s.firstDataDir >= 0) {
        assert.equal(nodeLabel(s.stream, d0), t.node0, `${where}: node 0`);
        assert.equal(nodeLabel(s.stream, d0 ^ 1), t.node1, `${where}: node 1`);
      }
      for (const node of [0, 1]) {
        const dir = node === 0 ? d0 : d0 ^ 1;
        const ours = s.bytes[dir], theirs = t.bytes[node];
        assert.equal(ours.length, theirs.length, `${where} node ${node}: length`);
        assert.equal(s.stream.dirs[dir].missedBytes, t.missing[node], `${where} node ${node}: missed bytes`);
        if (file in DIFFERENCES && (await sha256(ours)) !== (await sha256(theirs))) {
          let diff = 0;
          for (let k = 0; k < ours.length; k++) if (ours[k] !== theirs[k]) diff++;
          assert.equal(diff, 52, `${where}: only the documented overlap bytes differ`);
          assert.ok(s.stream.dirs[dir].overlapBytes >= 52);
          continue;
        }
        assert.equal(await sha256(ours), await sha256(theirs), `${where} node ${node}: SHA-256`);
      }
    }
  });
});
