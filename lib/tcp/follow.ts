/**
 * `mpp analyze --follow N|ip:port,ip:port`: one conversation, both directions interleaved in arrival
 * order, printed as `tshark -q -z follow,tcp,MODE,…` does (raw, ascii or hex; the second node's
 * chunks indented with a tab).
 */
import { MppError } from "../errors.ts";
import type { StreamListener } from "./reassembly.ts";
import type { TcpStream } from "./stream.ts";

export type FollowFormat = "raw" | "ascii" | "hex";

/** Which conversation: a stream index, or two endpoints in either order. */
export type FollowTarget = { index: number } | { a: string; aPort: number; b: string; bPort: number };

/** Bytes kept for one followed conversation; more are dropped and reported. */
export const MAX_FOLLOW_BYTES = 256 << 20;

export function parseFollowTarget(v: string): FollowTarget {
  const s = v.trim();
  if (/^\d+$/.test(s)) return { index: Number(s) };
  const m = /^\[?([0-9a-fA-F.:]+?)\]?:(\d{1,5}),\[?([0-9a-fA-F.:]+?)\]?:(\d{1,5})$/.exec(s);
  if (m !== null && Number(m[2]) <= 65535 && Number(m[4]) <= 65535) {
    return { a: m[1].toLowerCase(), aPort: Number(m[2]), b: m[3].toLowerCase(), bPort: Number(m[4]) };
  }
  throw new MppError(
    "bad_usage",
    `bad --follow value "${v}"`,
    "give a stream number (e.g. --follow 0) or two endpoints: --follow 10.0.0.1:40000,10.0.0.2:80",
  );
}

interface Chunk {
  dir: number;
  data: Uint8Array;
}

export class Follower implements StreamListener {
  stream: TcpStream | null = null;
  readonly chunks: Chunk[] = [];
  kept = 0;
  dropped = 0;
  missed = [0, 0];

  constructor(readonly target: FollowTarget) {}

  open(s: TcpStream): void {
    if (this.stream !== null) return;
    const t = this.target;
    if ("index" in t) {
      if (s.index === t.index) this.stream = s;
      return;
    }
    const ab = s.addr[0] === t.a && s.port[0] === t.aPort && s.addr[1] === t.b && s.port[1] === t.bPort;
    const ba = s.addr[0] === t.b && s.port[0] === t.bPort && s.addr[1] === t.a && s.port[1] === t.aPort;
    if (ab || ba) this.stream = s;
  }

  data(s: TcpStream, dir: number, b: Uint8Array, off: number, len: number): void {
    if (s !== this.stream) return;
    if (this.kept + len > MAX_FOLLOW_BYTES) {
      this.dropped += len;
      return;
    }
    this.kept += len;
    this.chunks.push({ dir, data: b.slice(off, off + len) });
  }

  gap(s: TcpStream, dir: number, len: number): void {
    if (s === this.stream) this.missed[dir] += len;
  }

  /** The text tshark prints; throws not_found when no stream matched. */
  render(format: FollowFormat): string {
    const s = this.stream;
    if (s === null) {
      const t = this.target;
      const what = "index" in t ? `stream ${t.index}` : `${t.a}:${t.aPort} <-> ${t.b}:${t.bPort}`;
      throw new MppError(
        "not_found",
        `no TCP ${what} in the input`,
        "list streams with --streams DIR or --json",
      );
    }
    const n0 = s.firstDir;
    const node = (d: number) => {
      const a = s.addr[d];
      return `${a.includes(":") ? `[${a}]` : a}:${s.port[d]}`;
    };
    const out: string[] = [
      "",
      "===================================================================",
      `Follow: tcp,${format}`,
      `Filter: tcp.stream eq ${s.index}`,
      `Node 0: ${node(n0)}`,
      `Node 1: ${node(n0 ^ 1)}`,
    ];
    const offs = [0, 0];
    for (const c of this.chunks) {
      const tab = c.dir === n0 ? "" : "\t";
      if (format === "raw") out.push(tab + hex(c.data));
      else if (format === "ascii") out.push(`${tab}${c.data.length}`, ascii(c.data));
      else {
        out.push(hexDump(c.data, offs[c.dir], tab));
        offs[c.dir] += c.data.length;
      }
    }
    if (this.dropped > 0) out.push(`[mpp: ${this.dropped} more bytes not shown (cap ${MAX_FOLLOW_BYTES})]`);
    out.push("===================================================================");
    return out.join("\n") + "\n";
  }
}

function hex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? "0" : "") + b[i].toString(16);
  return s;
}

function ascii(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    s += (c >= 32 && c < 127) || c === 10 || c === 13 ? String.fromCharCode(c) : ".";
  }
  return s;
}

/** tshark's hex mode: offset, 16 bytes in two groups of 8, then the printable characters. */
function hexDump(b: Uint8Array, base: number, tab: string): string {
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 16) {
    let h = "", a = "";
    for (let k = 0; k < 16; k++) {
      if (k === 8) {
        h += " ";
        if (i + k < b.length) a += " ";
      }
      if (i + k < b.length) {
        const c = b[i + k];
        h += (c < 16 ? "0" : "") + c.toString(16) + " ";
        a += c >= 32 && c < 127 ? String.fromCharCode(c) : ".";
      } else h += "   ";
    }
    const line = `${tab}${(base + i).toString(16).toUpperCase().padStart(8, "0")}  ${h} ${a}`;
    // tshark drops one trailing space (its line buffer ends with the last character's separator).
    lines.push(line.endsWith(" ") ? line.slice(0, -1) : line);
  }
  return lines.join("\n");
}
