import type { AnalyzeReport, ConvType } from "../../lib/flow/report_schema.ts";
import { bytes, int, secs, table } from "./format.ts";

/** tshark -z io,phs style: indented protocol tree with frames and bytes. */
export function renderPhs(r: AnalyzeReport): string {
  const rows = r.phs.map((e) => {
    const parts = e.path.split(":");
    return ["  ".repeat(parts.length - 1) + parts[parts.length - 1], int(e.packets), bytes(e.bytes)];
  });
  return "Protocol hierarchy\n" +
    table(
      [{ title: "Protocol" }, { title: "Frames", align: "right" }, { title: "Bytes", align: "right" }],
      rows,
    ) + "\n";
}

const CONV_TITLES: Record<ConvType, string> = {
  eth: "Ethernet",
  ip: "IPv4",
  ipv6: "IPv6",
  tcp: "TCP",
  udp: "UDP",
};

/** tshark -z conv,TYPE style tables, one per type that has rows. */
export function renderConversations(r: AnalyzeReport, types: ConvType[]): string {
  const out: string[] = [];
  for (const t of types) {
    const rows = r.conversations[t] ?? [];
    if (rows.length === 0) continue;
    out.push(`${CONV_TITLES[t]} conversations (${int(rows.length)})`);
    out.push(table(
      [
        { title: "Address A" },
        { title: "Address B" },
        { title: "A→B frames", align: "right" },
        { title: "A→B bytes", align: "right" },
        { title: "B→A frames", align: "right" },
        { title: "B→A bytes", align: "right" },
        { title: "Frames", align: "right" },
        { title: "Bytes", align: "right" },
        { title: "Rel start", align: "right" },
        { title: "Duration", align: "right" },
      ],
      rows.map((c) => [
        c.a,
        c.b,
        int(c.aToBPackets),
        bytes(c.aToBBytes),
        int(c.bToAPackets),
        bytes(c.bToABytes),
        int(c.packets),
        bytes(c.bytes),
        c.relStart.toFixed(6),
        secs(c.duration),
      ]),
    ));
    out.push("");
  }
  return out.join("\n") || "no conversations\n";
}

export function renderEndpoints(r: AnalyzeReport, types: ConvType[]): string {
  const out: string[] = [];
  for (const t of types) {
    const rows = r.endpoints[t] ?? [];
    if (rows.length === 0) continue;
    out.push(`${CONV_TITLES[t]} endpoints (${int(rows.length)})`);
    out.push(table(
      [
        { title: "Address" },
        { title: "Frames", align: "right" },
        { title: "Bytes", align: "right" },
        { title: "Tx frames", align: "right" },
        { title: "Tx bytes", align: "right" },
        { title: "Rx frames", align: "right" },
        { title: "Rx bytes", align: "right" },
      ],
      rows.map((e) => [
        e.address,
        int(e.packets),
        bytes(e.bytes),
        int(e.txPackets),
        bytes(e.txBytes),
        int(e.rxPackets),
        bytes(e.rxBytes),
      ]),
    ));
    out.push("");
  }
  return out.join("\n") || "no endpoints\n";
}

export function renderIo(r: AnalyzeReport): string {
  if (!r.io) return "";
  const rows = r.io.rows.map((
    x,
  ) => [`${x.start.toFixed(3)} - ${x.end.toFixed(3)}`, int(x.frames), bytes(x.bytes)]);
  return `I/O statistics, interval ${r.io.interval} s\n` +
    table([{ title: "Interval (s)" }, { title: "Frames", align: "right" }, {
      title: "Bytes",
      align: "right",
    }], rows) + "\n";
}
