import type { AnalyzeReport } from "../../lib/flow/report_schema.ts";

const HEADER = [
  "level",
  "flow",
  "name",
  "orig",
  "resp",
  "traffic",
  "packets",
  "bytes",
  "first",
  "last",
  "duration",
  "iat_min",
  "iat_mean",
  "iat_max",
  "iat_stddev",
  "jitter",
  "conn_state",
  "history",
  "evidence",
  "confidence",
];

/** The hierarchy flattened to RFC 4180 CSV: one row per node, `level` says which. */
export function renderCsv(r: AnalyzeReport): string {
  const lines = [HEADER.join(",")];
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return "";
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const push = (vals: unknown[]) => lines.push(vals.map(cell).join(","));
  type T = {
    packets: number;
    bytes: number;
    first: string | null;
    last: string | null;
    duration: number;
    iatMin: number | null;
    iatMean: number | null;
    iatMax: number | null;
    iatStddev: number | null;
    jitter: number | null;
  };
  const t = (
    x: T,
  ) => [
    x.packets,
    x.bytes,
    x.first,
    x.last,
    x.duration,
    x.iatMin,
    x.iatMean,
    x.iatMax,
    x.iatStddev,
    x.jitter,
  ];
  for (const f of r.flows) {
    const o = f.orig.port === null ? f.orig.address : `${f.orig.address}:${f.orig.port}`;
    const p = f.resp.port === null ? f.resp.address : `${f.resp.address}:${f.resp.port}`;
    push([
      "flow",
      f.id,
      f.label,
      o,
      p,
      f.traffic,
      ...t(f.transport),
      f.transport.connState,
      f.transport.history,
      "",
      "",
    ]);
    push([
      "transport",
      f.id,
      f.transport.name,
      o,
      p,
      f.traffic,
      ...t(f.transport),
      f.transport.connState,
      f.transport.history,
      "",
      "",
    ]);
    for (const e of f.encodings) {
      push(["encoding", f.id, e.label, o, p, f.traffic, ...t(e), "", "", e.evidence, e.confidence]);
      for (const pt of e.packetTypes) {
        push(["packet_type", f.id, pt.name, o, p, f.traffic, ...t(pt), "", "", "", ""]);
      }
    }
  }
  return lines.join("\n") + "\n";
}
