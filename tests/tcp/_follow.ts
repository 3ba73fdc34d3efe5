/** Test helpers: mpp's reassembled streams of a capture, and tshark's `-z follow,tcp,raw,N`. */
import { Analyzer } from "../../lib/flow/analyzer.ts";
import { readCapture } from "../../lib/capture/mod.ts";
import { TcpReassembly } from "../../lib/tcp/reassembly.ts";
import type { TcpStream } from "../../lib/tcp/stream.ts";

export interface OurStream {
  stream: TcpStream;
  /** Bytes per direction (0 = originator). */
  bytes: [Uint8Array, Uint8Array];
  /** Direction of the first delivered byte (-1: none): tshark's follow names it Node 0. */
  firstDataDir: number;
}

class Grow {
  buf = new Uint8Array(1024);
  n = 0;
  push(b: Uint8Array, off: number, len: number): void {
    if (this.n + len > this.buf.length) {
      const nb = new Uint8Array(Math.max(this.buf.length * 2, this.n + len));
      nb.set(this.buf.subarray(0, this.n));
      this.buf = nb;
    }
    this.buf.set(b.subarray(off, off + len), this.n);
    this.n += len;
  }
  get view(): Uint8Array {
    return this.buf.subarray(0, this.n);
  }
}

export async function ourStreams(path: string): Promise<{ streams: OurStream[]; r: TcpReassembly }> {
  const r = new TcpReassembly();
  const g = new Map<number, [Grow, Grow]>();
  const first = new Map<number, number>();
  r.listen({
    open: (s) => void g.set(s.index, [new Grow(), new Grow()]),
    data: (s, dir, b, off, len) => {
      if (!first.has(s.index)) first.set(s.index, dir);
      g.get(s.index)![dir].push(b, off, len);
    },
  });
  const a = new Analyzer({ tcpHook: r.hook });
  await readCapture(path, a.sink);
  a.finish();
  r.finish();
  return {
    r,
    streams: r.streams.map((s) => ({
      stream: s,
      bytes: [g.get(s.index)![0].view, g.get(s.index)![1].view],
      firstDataDir: first.get(s.index) ?? -1,
    })),
  };
}

export interface TsharkFollow {
  stream: number;
  node0: string;
  node1: string;
  /** Bytes per node (0: the stream's first sender), tshark's gap markers removed. */
  bytes: [Uint8Array, Uint8Array];
  /** Bytes tshark reported as "[N bytes missing in capture file]". */
  missing: [number, number];
}

/** Runs tshark once with one `-z follow,tcp,raw,N` per stream. */
export async function tsharkFollow(path: string, streams: number[]): Promise<TsharkFollow[]> {
  const args = ["-n", "-r", path, "-q"];
  for (const n of streams) args.push("-z", `follow,tcp,raw,${n}`);
  const out = await new Deno.Command("tshark", {
    args,
    stdout: "piped",
    stderr: "null",
    env: { HOME: "/tmp/mpp-tshark-home" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const res: TsharkFollow[] = [];
  let cur: {
    stream: number;
    node0: string;
    node1: string;
    parts: [number[][], number[][]];
    missing: [number, number];
  } | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("Follow:")) {
      cur = { stream: -1, node0: "", node1: "", parts: [[], []], missing: [0, 0] };
      continue;
    }
    if (cur === null) continue;
    if (line.startsWith("Filter: tcp.stream eq ")) cur.stream = Number(line.slice(22));
    else if (line.startsWith("Node 0: ")) cur.node0 = line.slice(8);
    else if (line.startsWith("Node 1: ")) cur.node1 = line.slice(8);
    else if (line.startsWith("=====")) {
      const join = (ps: number[][]) => Uint8Array.from(ps.flat());
      res.push({
        stream: cur.stream,
        node0: cur.node0,
        node1: cur.node1,
        bytes: [join(cur.parts[0]), join(cur.parts[1])],
        missing: cur.missing,
      });
      cur = null;
    } else if (/^\t?[0-9a-f]+$/.test(line) && cur.node1 !== "") {
      const d = line.startsWith("\t") ? 1 : 0;
      const bytes = line.trim().match(/../g)!.map((x) => parseInt(x, 16));
      const m = /^\[(\d+) bytes missing in capture file\]\0$/.exec(String.fromCharCode(...bytes));
      if (m) cur.missing[d] += Number(m[1]);
      else cur.parts[d].push(bytes);
    }
  }
  // tshark prints the blocks of several -z follow options in reverse order.
  return res.sort((a, b) => a.stream - b.stream);
}

export async function sha256(b: Uint8Array): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
  return Array.from(h, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** "ip:port" as tshark prints a node ("[v6]:port" for IPv6). */
export function nodeLabel(s: TcpStream, dir: number): string {
  const a = s.addr[dir];
  return `${a.includes(":") ? `[${a}]` : a}:${s.port[dir]}`;
}
