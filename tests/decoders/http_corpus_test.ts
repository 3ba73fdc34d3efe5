/**
 * HTTP transactions of every corpus file that carries HTTP equal tshark's
 * `-Y http.request -T fields -e http.request.method -e http.host -e http.request.uri` and
 * `-Y http.response -e http.response.code`; the flow hierarchy counts one HTTP packet type per
 * message, as tshark's frames with http.request / http.response.
 *
 * Difference (by design): tshark lists a response only once it reassembled the whole message, so a
 * response whose body has a hole (a gap in the capture) is absent from its output; mpp reports it
 * with complete=false. Those are compared by excluding incomplete responses, and each of them must
 * lie on a stream where mpp counted missed bytes.
 */
import assert from "node:assert/strict";
import { corpusFiles, corpusPath, corpusTest, eachCorpusFile, expected, haveTool } from "../_util/corpus.ts";
import { tshark } from "../_util/tshark.ts";
import { analyzeFiles } from "../../lib/flow/analyze_files.ts";
import { AnalyzeReport } from "../../lib/flow/report_schema.ts";

const haveTshark = haveTool("tshark");
const httpFiles = corpusFiles().filter((f) => (expected()[f].protocols ?? {}).http !== undefined);

function lines(s: string): string[] {
  return s.split("\n").filter((l) => l.trim() !== "").sort();
}

eachCorpusFile("http transactions equal tshark's", httpFiles, (file) => {
  corpusTest(`http transactions equal tshark's: ${file}`, async () => {
    const path = corpusPath(file);
    const { report } = await analyzeFiles([path], { httpTransactions: true });
    AnalyzeReport.parse(report);
    const h = report.http;
    assert.ok(h !== undefined && h.transactions.length > 0, "HTTP recognised by content");
    // Hierarchy: HTTP packet types under TCP, one per complete message.
    let typed = 0;
    for (const f of report.flows) {
      for (const e of f.encodings) {
        if (e.name === "HTTP") {
          for (const t of e.packetTypes) typed += t.packets;
        }
      }
    }
    const incomplete = h.transactions.filter((t) => t.status !== null && !t.complete);
    for (const t of incomplete) {
      const fl = report.flows.find((f) => f.id === t.flow)!;
      assert.ok(
        (fl.tcpStreams?.missedBytes ?? 0) > 0,
        `incomplete response ${t.uri} only on a flow with a gap`,
      );
    }
    if (!haveTshark) {
      console.warn(`SKIP tshark comparison for ${file}: tshark not installed`);
      return;
    }
    const ours = lines(
      h.transactions.filter((t) => t.method !== null).map((t) => `${t.method}\t${t.host}\t${t.uri}`).join(
        "\n",
      ),
    );
    const theirs = lines(
      await tshark([
        "-r",
        path,
        "-Y",
        "http.request",
        "-T",
        "fields",
        "-e",
        "http.request.method",
        "-e",
        "http.host",
        "-e",
        "http.request.uri",
      ]),
    );
    assert.deepEqual(ours, theirs, "requests");
    const oursResp = lines(
      h.transactions.filter((t) => t.status !== null && t.complete).map((t) => String(t.status)).join("\n"),
    );
    const theirResp = lines(
      await tshark(["-r", path, "-Y", "http.response", "-T", "fields", "-e", "http.response.code"]),
    );
    assert.deepEqual(oursResp, theirResp, "responses");
    const frames = lines(
      await tshark(["-r", path, "-Y", "http.request || http.response", "-T", "fields", "-e", "frame.number"]),
    );
    assert.equal(typed, frames.length, "one HTTP packet type per message, counted at its last segment");
  });
});
