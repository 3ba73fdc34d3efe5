import type { AnalyzeReport, FlowReport } from "../../lib/flow/report_schema.ts";
import { bytes, int, secs, table } from "./format.ts";

type Timing = FlowReport["transport"];

/**
 * The flow hierarchy as a tree table: flow → transport → application encoding → packet type, each
 * level with frames, bytes, duration and inter-arrival statistics, in the layout of a flight-test
 * monitor (`10.0.0.1:0 → 239.255.0.1:319  UDP Multi`, with `PTP (v2)` and its message types below).
 */
export function renderTree(r: AnalyzeReport): string {
  const rows: string[][] = [];
  const stats = (t: Timing | FlowReport["encodings"][number]) => [
    int(t.packets),
    bytes(t.bytes),
    t.packets === 0 ? "-" : secs(t.duration),
    secs(t.iatMean),
    secs(t.jitter),
  ];
  for (const f of r.flows) {
    const traffic = f.traffic === "multicast" ? "Multi" : f.traffic === "broadcast" ? "Broad" : "Uni";
    const vlan = f.vlan !== null ? ` vlan ${f.vlan}` : "";
    rows.push([`${f.label}  ${f.transport.name} ${traffic}${vlan}`, ...stats(f.transport)]);
    const state = f.transport.connState ? `  ${f.transport.connState}` : "";
    const hist = f.transport.history ? ` ${f.transport.history}` : "";
    rows.push([`  └ ${f.transport.name}${state}${hist}`, ...stats(f.transport)]);
    for (const e of f.encodings) {
      const why = `${e.evidence} ${e.confidence.toFixed(2)}`;
      const bad = e.malformed > 0
        ? `, ${int(e.malformed)} malformed`
        : e.packets === 0
        ? ", no message decoded"
        : "";
      rows.push([`      └ ${e.label}  (${why}${bad})`, ...stats(e)]);
      for (const t of e.packetTypes) rows.push([`          · ${t.name}`, ...stats(t)]);
    }
  }
  const s = r.summary;
  const head = [
    `${int(s.packets)} frames, ${bytes(s.bytes)}, ${secs(s.duration)}` +
    (s.first ? `, from ${isoTime(s.first)} to ${isoTime(s.last!)}` : ""),
    `${int(s.flows)} flows` +
    (s.flowsShown < s.flows ? ` (top ${int(s.flowsShown)} shown; --top N for more)` : ""),
  ];
  if (s.truncated > 0) head.push(`${int(s.truncated)} frames truncated by the snapshot length`);
  if (s.filteredOut > 0) head.push(`${int(s.filteredOut)} frames excluded by the filter`);
  const cols = [
    { title: "Flow / transport / encoding / packet type" },
    { title: "Frames", align: "right" as const },
    { title: "Bytes", align: "right" as const },
    { title: "Duration", align: "right" as const },
    { title: "IAT mean", align: "right" as const },
    { title: "Jitter", align: "right" as const },
  ];
  return head.join("\n") + "\n\n" + table(cols, rows) + "\n";
}

/** ISO 8601 UTC with the full sub-second precision kept in the epoch string. */
export function isoTime(epoch: string): string {
  const [s, frac = "0"] = epoch.split(".");
  const date = new Date(Number(s) * 1000);
  // A damaged or odd timestamp (64-bit pcapng units) can lie beyond the dates JavaScript can name.
  if (Number.isNaN(date.getTime())) return `epoch ${epoch} s`;
  return `${date.toISOString().replace(/\.\d{3}Z$/, "")}.${frac}Z`;
}
