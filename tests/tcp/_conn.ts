/** Test helper: crafted TCP segments through lib/flow's Analyzer with lib/tcp reassembly attached. */
import { CaptureRecord } from "../../lib/capture/record.ts";
import { ethernet, ipv4, tcp } from "../../lib/packet/build.ts";
import { TcpFlag } from "../../lib/packet/packet.ts";
import { Analyzer } from "../../lib/flow/analyzer.ts";
import { type TcpOptions, TcpReassembly } from "../../lib/tcp/reassembly.ts";

export const F = TcpFlag;
const enc = new TextEncoder();

export interface Seg {
  /** true: client (10.0.0.1:40000) to server (10.0.0.2:80). */
  c2s: boolean;
  flags: number;
  seq: number;
  ack?: number;
  data?: string | Uint8Array;
  t?: number;
  window?: number;
  sport?: number;
}

export class Harness {
  readonly r: TcpReassembly;
  readonly a: Analyzer;
  /** Reassembled bytes per stream index and direction (0 = originator). */
  readonly out = new Map<number, [number[], number[]]>();
  readonly gaps: string[] = [];
  readonly ended: number[] = [];
  private n = 0;
  constructor(opts: TcpOptions = {}) {
    this.r = new TcpReassembly(opts);
    this.r.listen({
      data: (s, dir, b, off, len) => {
        let e = this.out.get(s.index);
        if (!e) this.out.set(s.index, e = [[], []]);
        for (let i = 0; i < len; i++) e[dir].push(b[off + i]);
      },
      gap: (s, dir, len) => this.gaps.push(`${s.index}:${dir}:${len}`),
      end: (s) => this.ended.push(s.index),
    });
    this.a = new Analyzer({ tcpHook: this.r.hook });
  }

  send(s: Seg): void {
    const cport = s.sport ?? 40000;
    const [src, dst, sport, dport] = s.c2s
      ? ["10.0.0.1", "10.0.0.2", cport, 80]
      : ["10.0.0.2", "10.0.0.1", 80, cport];
    const payload = typeof s.data === "string" ? enc.encode(s.data) : s.data ?? new Uint8Array(0);
    const frame = ethernet({
      src: "02:00:00:00:00:01",
      dst: "02:00:00:00:00:02",
      etherType: 0x0800,
      payload: ipv4({
        src,
        dst,
        proto: 6,
        payload: tcp({
          src,
          dst,
          sport,
          dport,
          seq: s.seq >>> 0,
          ack: (s.ack ?? 0) >>> 0,
          flags: s.flags,
          window: s.window ?? 65535,
          payload,
        }),
      }),
    });
    const rec = new CaptureRecord();
    rec.data = frame;
    rec.origLen = frame.length;
    const t = s.t ?? this.n * 0.001;
    rec.tsSec = Math.floor(t);
    rec.tsNsec = Math.round((t - Math.floor(t)) * 1e9);
    rec.linkType = 1;
    rec.index = this.n++;
    this.a.record(rec);
  }

  finish(): void {
    this.a.finish();
    this.r.finish();
  }

  text(stream: number, dir: number): string {
    return new TextDecoder().decode(Uint8Array.from(this.out.get(stream)?.[dir] ?? []));
  }

  /** A full handshake with client ISN `c` and server ISN `s`. */
  handshake(c: number, s: number, sport?: number): void {
    this.send({ c2s: true, flags: F.SYN, seq: c, sport });
    this.send({ c2s: false, flags: F.SYN | F.ACK, seq: s, ack: c + 1, sport });
    this.send({ c2s: true, flags: F.ACK, seq: c + 1, ack: s + 1, sport });
  }
}
