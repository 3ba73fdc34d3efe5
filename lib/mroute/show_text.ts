/**
 * Text tables for `mpp mroute show` and `status` on a terminal (the --json output is the daemon's
 * result as is).
 */

import { columnWidths } from "../column_widths.ts";

export function table(rows: string[][]): string {
  if (rows.length === 0) return "";
  const w = columnWidths(rows, rows[0].length);
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join("  ")).join("\n");
}

export function showText(what: string, v: Record<string, unknown>): string {
  const n = (x: unknown) => (x === undefined || x === null ? "-" : String(x));
  if (what === "routes") {
    const rows = (v.routes as Array<Record<string, unknown>>).map((r) => [
      n(r.iif),
      n(r.source),
      n(r.group),
      (r.oifs as string[]).join(",") || "-",
      n(r.origin),
      r.pending ? `${r.state}(${(r.pending as string[]).join(",")})` : n(r.state),
      n(r.packets),
      n(r.bytes),
      n(r.wrongIf),
    ]);
    return table([
      ["IIF", "SOURCE", "GROUP", "OIFS", "ORIGIN", "STATE", "PACKETS", "BYTES", "WRONGIF"],
      ...rows,
    ]);
  }
  if (what === "interfaces") {
    const rows = (v.interfaces as Array<Record<string, unknown>>).map((i) => [
      n(i.name),
      n(i.ifindex),
      i.up ? "up" : "down",
      i.multicast ? "yes" : "no",
      n(i.vif4),
      n(i.vif6),
      n(i.inPackets),
      n(i.outPackets),
      n(i.inBytes),
      n(i.outBytes),
    ]);
    return table([[
      "NAME",
      "INDEX",
      "STATE",
      "MULTICAST",
      "VIF",
      "MIF",
      "IN_PKTS",
      "OUT_PKTS",
      "IN_BYTES",
      "OUT_BYTES",
    ], ...rows]);
  }
  if (what === "groups") {
    const rows = (v.groups as Array<Record<string, unknown>>).map((
      g,
    ) => [n(g.iif), n(g.source), n(g.group), n(g.origin), n(g.state)]);
    return table([["IIF", "SOURCE", "GROUP", "ORIGIN", "STATE"], ...rows]);
  }
  const rows = (v.pending as Array<Record<string, unknown>>).map((
    p,
  ) => [n(p.kind), n(p.iif), n(p.source), n(p.group), (p.waitingFor as string[]).join(",")]);
  return table([["KIND", "IIF", "SOURCE", "GROUP", "WAITING FOR"], ...rows]);
}

export function statusText(r: Record<string, unknown>): string {
  return Object.entries(r).filter(([k]) => k !== "v").map(([k, v]) =>
    `${k}: ${Array.isArray(v) ? v.join(",") : v}`
  ).join("\n");
}
