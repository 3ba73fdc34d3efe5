/** HTTP transactions of an analysis: the JSON report section and the `--http` table. */
import type { HttpTransactionReport } from "../lib/flow/report_schema.ts";
import { HttpState } from "./http.ts";
import { columnWidths } from "../lib/column_widths.ts";

export interface HttpSection {
  requests: number;
  responses: number;
  /** Transactions ended (listed or not). */
  count: number;
  dropped: number;
  transactions: HttpTransactionReport[];
}

interface FlowLike {
  id: number;
  decoderState: unknown;
}

/** Collects every flow's transactions, ordered by start time; `streams` maps a flow to its tcp.stream indices. */
export function httpSection(
  flows: readonly FlowLike[],
  streams: Map<unknown, number[]>,
): HttpSection | undefined {
  const out: HttpSection = { requests: 0, responses: 0, count: 0, dropped: 0, transactions: [] };
  let any = false;
  for (const f of flows) {
    const s = f.decoderState;
    if (!(s instanceof HttpState)) continue;
    any = true;
    out.requests += s.requests;
    out.responses += s.responses;
    out.dropped += s.dropped;
    out.count += s.finished;
    const idx = streams.get(f) ?? [];
    for (const t of s.transactions) {
      const start = t.reqStart ?? t.respStart;
      out.transactions.push({
        flow: f.id,
        stream: idx[t.conn] ?? null,
        method: t.method,
        host: t.host,
        uri: t.uri,
        version: t.version,
        status: t.status,
        interim: t.interim,
        reqHeaderBytes: t.reqHeaderBytes,
        reqBodyBytes: t.reqBodyBytes,
        respHeaderBytes: t.respHeaderBytes,
        respBodyBytes: t.respBodyBytes,
        contentType: t.contentType,
        contentEncoding: t.contentEncoding,
        start,
        firstByte: t.reqEnd !== null && t.respStart !== null ? Math.max(0, t.respStart - t.reqEnd) : null,
        total: start !== null && t.respEnd !== null ? t.respEnd - start : null,
        complete: t.complete,
      });
    }
  }
  if (!any) return undefined;
  out.transactions.sort((a, b) => (a.start ?? 0) - (b.start ?? 0) || a.flow - b.flow);
  return out;
}

function ms(v: number | null): string {
  return v === null ? "-" : (v * 1000).toFixed(1);
}

/** One line per transaction, for a terminal. */
export function renderHttp(h: HttpSection | undefined): string {
  if (h === undefined || h.transactions.length === 0) return "HTTP: no transactions\n";
  const rows = [[
    "stream",
    "start s",
    "method",
    "host",
    "uri",
    "status",
    "req B",
    "resp B",
    "ttfb ms",
    "total ms",
  ]];
  for (const t of h.transactions) {
    const uri = t.uri.length > 60 ? t.uri.slice(0, 57) + "..." : t.uri;
    rows.push([
      t.stream === null ? "-" : String(t.stream),
      t.start === null ? "-" : t.start.toFixed(6),
      t.method ?? "-",
      t.host || "-",
      uri || "-",
      t.status === null ? "-" : String(t.status) + (t.complete ? "" : "*"),
      String(t.reqBodyBytes),
      String(t.respBodyBytes),
      ms(t.firstByte),
      ms(t.total),
    ]);
  }
  const w = columnWidths(rows, rows[0].length);
  const lines = rows.map((r) =>
    r.map((c, i) => (i >= 5 ? c.padStart(w[i]) : c.padEnd(w[i]))).join("  ").trimEnd()
  );
  lines.push(
    `${h.requests} requests, ${h.responses} responses${
      h.dropped ? `, ${h.dropped} transactions not listed` : ""
    }` +
      " (* = incomplete: gap or cut by the end of the capture)",
  );
  return lines.join("\n") + "\n";
}
