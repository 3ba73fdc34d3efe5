/**
 * A deterministic traffic generator for benchmarks and the README sample: a seeded mix shaped like
 * the captures in ../shared/reference/performance.md — TCP (handshakes, request/response payloads,
 * some reordering and retransmission, FIN close) about 85%, RTP streams about 14%, DNS, PTP over
 * UDP and over Ethernet, 20% of TCP VLAN-tagged and 10% over IPv6.
 *
 * Frames are written from per-flow header templates into one scratch buffer (fields patched in
 * place), so generating millions of packets takes seconds. The flow population is bounded (TCP
 * connections recycle 8 source ports per client, DNS clients 16), so a 5M-packet file has the same flows as a
 * 1M-packet one: that is what makes "peak memory independent of file size" measurable.
 */

export interface GenOptions {
  packets: number;
  seed?: number;
  /** Concurrent TCP connection slots (each recycles 8 source ports). */
  tcpSlots?: number;
  rtpStreams?: number;
  /** Start time, epoch seconds. */
  startSec?: number;
  /** Shares of RTP, DNS and PTP frames (the rest is TCP); defaults 0.14, 0.006, 0.004. */
  rtpShare?: number;
  dnsShare?: number;
  ptpShare?: number;
  /** Mean gap between frames in ns (default 9,000: about 110k frames/s). */
  meanGapNs?: number;
}

export type FrameSink = (frame: Uint8Array, tsSec: number, tsNsec: number) => void;

/** mulberry32: small, fast, good enough for reproducible traffic (and fuzz inputs). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FILL = new TextEncoder().encode("x".repeat(1500));
const MAC_C = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
const MAC_S = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

class FrameBuf {
  readonly b = new Uint8Array(2048);
  len = 0;
  u8(v: number) {
    this.b[this.len++] = v & 0xff;
  }
  u16(v: number) {
    this.b[this.len++] = (v >>> 8) & 0xff;
    this.b[this.len++] = v & 0xff;
  }
  u32(v: number) {
    this.u16(v >>> 16);
    this.u16(v & 0xffff);
  }
  bytes(a: ArrayLike<number>, n = a.length) {
    for (let i = 0; i < n; i++) this.b[this.len++] = a[i];
  }
}

function sum16(b: Uint8Array, off: number, len: number, init = 0): number {
  let s = init;
  for (let i = 0; i + 1 < len; i += 2) s += (b[off + i] << 8) | b[off + i + 1];
  if (len & 1) s += b[off + len - 1] << 8;
  return s;
}
function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return (~s) & 0xffff;
}

interface Endpoints {
  v6: boolean;
  vlan: number;
  /** IPv4 as numbers, IPv6 as 16 bytes. */
  src4: number;
  dst4: number;
  src6: Uint8Array;
  dst6: Uint8Array;
  dstMac: number[];
  srcMac: number[];
}

/** Writes Ethernet (+VLAN) + IP + transport headers and payload; fixes lengths and checksums. */
function frame(
  f: FrameBuf,
  e: Endpoints,
  reverse: boolean,
  proto: number,
  sport: number,
  dport: number,
  tcp: { seq: number; ack: number; flags: number } | null,
  payload: Uint8Array,
  plen: number,
): Uint8Array {
  f.len = 0;
  f.bytes(reverse ? e.srcMac : e.dstMac);
  f.bytes(reverse ? e.dstMac : e.srcMac);
  if (e.vlan) {
    f.u16(0x8100);
    f.u16(e.vlan);
  }
  f.u16(e.v6 ? 0x86dd : 0x0800);
  const ip = f.len;
  const l4len = (tcp ? 20 : 8) + plen;
  if (!e.v6) {
    f.u8(0x45), f.u8(0), f.u16(20 + l4len), f.u16(0), f.u16(0x4000), f.u8(64), f.u8(proto), f.u16(0);
    f.u32(reverse ? e.dst4 : e.src4);
    f.u32(reverse ? e.src4 : e.dst4);
    const c = fold(sum16(f.b, ip, 20));
    f.b[ip + 10] = c >>> 8;
    f.b[ip + 11] = c & 0xff;
  } else {
    f.u32(0x60000000), f.u16(l4len), f.u8(proto), f.u8(64);
    f.bytes(reverse ? e.dst6 : e.src6);
    f.bytes(reverse ? e.src6 : e.dst6);
  }
  const l4 = f.len;
  f.u16(reverse ? dport : sport);
  f.u16(reverse ? sport : dport);
  if (tcp) {
    f.u32(tcp.seq), f.u32(tcp.ack), f.u8(0x50), f.u8(tcp.flags), f.u16(65535), f.u16(0), f.u16(0);
  } else {
    f.u16(l4len), f.u16(0);
  }
  f.bytes(payload, plen);
  // Pseudo-header checksum (TCP always, UDP too: IPv6 requires it).
  const addrOff = e.v6 ? ip + 8 : ip + 12, addrLen = e.v6 ? 32 : 8;
  let s = sum16(f.b, addrOff, addrLen) + proto + l4len;
  s = sum16(f.b, l4, l4len, s);
  const c = fold(s) || 0xffff;
  const co = l4 + (tcp ? 16 : 6);
  f.b[co] = c >>> 8;
  f.b[co + 1] = c & 0xff;
  return f.b.subarray(0, f.len);
}

interface TcpSlot {
  e: Endpoints;
  sport: number;
  gen: number;
  step: number;
  cseq: number;
  sseq: number;
  exchanges: number;
  respLeft: number;
  respFirst: boolean;
}

/** Generates `opts.packets` frames in time order into `sink`. */
export function generate(opts: GenOptions, sink: FrameSink): void {
  const rnd = prng(opts.seed ?? 1);
  const f = new FrameBuf();
  const slots = opts.tcpSlots ?? 2000;
  const nRtp = opts.rtpStreams ?? 300;
  let sec = opts.startSec ?? 1_700_000_000;
  let nsec = 0;
  const v6addr = (host: number, net: number) => {
    const a = new Uint8Array(16);
    a[0] = 0xfd, a[1] = 0x00, a[7] = net, a[14] = (host >>> 8) & 0xff, a[15] = host & 0xff;
    return a;
  };
  const ep = (i: number, server: number, v6: boolean, vlan: number): Endpoints => ({
    v6,
    vlan,
    src4: (10 << 24) | (1 << 16) | (i & 0xffff),
    dst4: (10 << 24) | (2 << 16) | server,
    src6: v6addr(i, 1),
    dst6: v6addr(server, 2),
    srcMac: MAC_C,
    dstMac: MAC_S,
  });
  const tcp: TcpSlot[] = [];
  for (let i = 0; i < slots; i++) {
    const e = ep(i + 1, 1 + (i % 16), i % 10 === 3, i % 5 === 4 ? 100 : 0);
    tcp.push({ e, sport: 0, gen: 0, step: 0, cseq: 0, sseq: 0, exchanges: 0, respLeft: 0, respFirst: false });
  }
  const rtp = [];
  for (let i = 0; i < nRtp; i++) {
    rtp.push({
      e: ep(1000 + i, 100 + (i % 8), false, 0),
      sport: 16384 + 2 * i,
      dport: 20000 + 2 * i,
      seq: (i * 7919) & 0xffff,
      ts: i * 1000,
      ssrc: (0x5eed0000 + i) >>> 0,
    });
  }
  const ptpUdp = ep(2000, 0, false, 0);
  ptpUdp.dst4 = 0xe0000181; // 224.0.1.129
  const ptpL2: Endpoints = { ...ptpUdp, dstMac: [0x01, 0x1b, 0x19, 0, 0, 0] };
  // One sequenceId counter per PTP port (the UDP and the Ethernet one), as a real clock keeps.
  let ptpUdpSeq = 0, ptpL2Seq = 0, ptpTurn = 0;
  const dnsPending: { e: Endpoints; sport: number; id: number; name: number }[] = [];
  const payload = new Uint8Array(1500);
  let rtpNext = 0;
  const pRtp = opts.rtpShare ?? 0.14;
  const pDns = pRtp + (opts.dnsShare ?? 0.006);
  const pPtp = pDns + (opts.ptpShare ?? 0.004);

  let emitted = 0;
  const gap = opts.meanGapNs ?? 9000;
  const emit = (fr: Uint8Array) => {
    if (emitted++ >= opts.packets) return;
    sink(fr, sec, nsec);
    nsec += Math.floor(gap * (0.2 + 1.6 * rnd()));
    if (nsec >= 1e9) {
      sec++;
      nsec -= 1e9;
    }
  };

  for (let n = 0; n < opts.packets;) {
    const r = rnd();
    if (r < pRtp) {
      const s = rtp[rtpNext];
      rtpNext = (rtpNext + 1) % nRtp;
      payload[0] = 0x80, payload[1] = 0; // V=2, PT 0 (PCMU)
      payload[2] = s.seq >>> 8, payload[3] = s.seq & 0xff;
      payload[4] = s.ts >>> 24,
        payload[5] = (s.ts >>> 16) & 0xff,
        payload[6] = (s.ts >>> 8) & 0xff,
        payload[7] = s.ts & 0xff;
      payload[8] = s.ssrc >>> 24,
        payload[9] = (s.ssrc >>> 16) & 0xff,
        payload[10] = (s.ssrc >>> 8) & 0xff,
        payload[11] = s.ssrc & 0xff;
      payload.fill(0xd5, 12, 172);
      s.seq = (s.seq + 1) & 0xffff;
      s.ts = (s.ts + 160) >>> 0;
      // One packet in 500 is "lost": skip a sequence number.
      if (rnd() < 0.002) s.seq = (s.seq + 1) & 0xffff;
      emit(frame(f, s.e, false, 17, s.sport, s.dport, null, payload, 172));
      n++;
    } else if (r < pDns) {
      if (dnsPending.length > 0 && rnd() < 0.5) {
        const q = dnsPending.shift()!;
        const len = dnsMessage(payload, q.id, q.name, true, enc);
        emit(frame(f, q.e, true, 17, q.sport, 53, null, payload, len));
      } else {
        const host = 1 + Math.floor(rnd() * 256);
        const q = {
          e: ep(host, 53, host % 10 === 0, 0),
          sport: 1024 + Math.floor(rnd() * 16),
          id: Math.floor(rnd() * 65536),
          name: Math.floor(rnd() * 500),
        };
        const len = dnsMessage(payload, q.id, q.name, false, enc);
        emit(frame(f, q.e, false, 17, q.sport, 53, null, payload, len));
        dnsPending.push(q);
      }
      n++;
    } else if (r < pPtp) {
      // PTP two-step: Sync (319) then Follow_Up (320), alternating UDP and Ethernet transport.
      const l2 = (ptpTurn++ & 1) === 1;
      const seq = l2 ? ptpL2Seq : ptpUdpSeq;
      for (const type of [0, 8]) {
        const len = ptpMessage(payload, type, seq);
        if (l2) {
          f.len = 0;
          f.bytes(ptpL2.dstMac), f.bytes(ptpL2.srcMac), f.u16(0x88f7), f.bytes(payload, len);
          emit(f.b.subarray(0, f.len));
        } else {emit(
            frame(f, ptpUdp, false, 17, type === 0 ? 319 : 320, type === 0 ? 319 : 320, null, payload, len),
          );}
        n++;
      }
      if (l2) ptpL2Seq = (ptpL2Seq + 1) & 0xffff;
      else ptpUdpSeq = (ptpUdpSeq + 1) & 0xffff;
    } else {
      n += tcpStep(tcp[Math.floor(rnd() * slots)], f, payload, rnd, emit);
    }
  }
}

const SYN = 0x02, ACK = 0x10, PSH = 0x08, FIN = 0x01;

/** Advances one connection by one exchange step; returns the number of frames emitted. */
const enc = new TextEncoder();

function tcpStep(
  s: TcpSlot,
  f: FrameBuf,
  payload: Uint8Array,
  rnd: () => number,
  emit: (fr: Uint8Array) => void,
): number {
  // Each slot has its own client address and cycles through 8 source ports: bounded flows.
  const port = 20000 + (s.gen & 7);
  switch (s.step) {
    case 0:
      s.sport = port;
      s.cseq = Math.floor(rnd() * 0xffffffff) >>> 0;
      s.sseq = Math.floor(rnd() * 0xffffffff) >>> 0;
      s.exchanges = 2 + Math.floor(rnd() * 6);
      emit(frame(f, s.e, false, 6, s.sport, 80, { seq: s.cseq, ack: 0, flags: SYN }, payload, 0));
      s.step = 1;
      return 1;
    case 1:
      emit(
        frame(
          f,
          s.e,
          true,
          6,
          s.sport,
          80,
          { seq: s.sseq, ack: (s.cseq + 1) >>> 0, flags: SYN | ACK },
          payload,
          0,
        ),
      );
      s.cseq = (s.cseq + 1) >>> 0;
      s.sseq = (s.sseq + 1) >>> 0;
      emit(frame(f, s.e, false, 6, s.sport, 80, { seq: s.cseq, ack: s.sseq, flags: ACK }, payload, 0));
      s.step = 2;
      return 2;
    case 2: {
      // A real HTTP/1.1 request padded to 200-400 bytes; the response announces its exact length.
      const req = 200 + Math.floor(rnd() * 200);
      const head = `GET /obj/${s.exchanges} HTTP/1.1\r\nHost: server\r\nX-Pad: `;
      payload.set(FILL.subarray(0, req));
      payload.set(enc.encode(head));
      payload.set([0x0d, 0x0a, 0x0d, 0x0a], req - 4);
      emit(
        frame(f, s.e, false, 6, s.sport, 80, { seq: s.cseq, ack: s.sseq, flags: PSH | ACK }, payload, req),
      );
      s.cseq = (s.cseq + req) >>> 0;
      s.respLeft = 1 + Math.floor(rnd() * 4);
      s.respFirst = true;
      s.step = 3;
      return 1;
    }
    case 3: {
      // Server segments; one exchange in 50 delivers two segments swapped, one in 100 retransmits.
      payload.set(FILL.subarray(0, 1448));
      if (s.respFirst) {
        // Header in the first segment, then a body that fills exactly respLeft segments.
        const hdr0 = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ";
        const total = s.respLeft * 1448;
        let body = total - hdr0.length - 4 - 5;
        const hdr = enc.encode(`${hdr0}${String(body).padStart(5, "0")}\r\n\r\n`);
        body = total - hdr.length;
        payload.set(enc.encode(`${hdr0}${String(body).padStart(5, "0")}\r\n\r\n`));
        s.respFirst = false;
      }
      let emitted = 0;
      if (s.respLeft >= 2 && rnd() < 0.02) {
        emit(
          frame(
            f,
            s.e,
            true,
            6,
            s.sport,
            80,
            { seq: (s.sseq + 1448) >>> 0, ack: s.cseq, flags: ACK },
            payload,
            1448,
          ),
        );
        emit(frame(f, s.e, true, 6, s.sport, 80, { seq: s.sseq, ack: s.cseq, flags: ACK }, payload, 1448));
        s.sseq = (s.sseq + 2896) >>> 0;
        s.respLeft -= 2;
        emitted = 2;
      } else {
        emit(
          frame(
            f,
            s.e,
            true,
            6,
            s.sport,
            80,
            { seq: s.sseq, ack: s.cseq, flags: ACK | (s.respLeft === 1 ? PSH : 0) },
            payload,
            1448,
          ),
        );
        if (rnd() < 0.01) {
          emit(frame(f, s.e, true, 6, s.sport, 80, { seq: s.sseq, ack: s.cseq, flags: ACK }, payload, 1448));
          emitted++;
        }
        s.sseq = (s.sseq + 1448) >>> 0;
        s.respLeft--;
        emitted++;
      }
      if (s.respLeft <= 0) {
        emit(frame(f, s.e, false, 6, s.sport, 80, { seq: s.cseq, ack: s.sseq, flags: ACK }, payload, 0));
        emitted++;
        s.step = --s.exchanges > 0 ? 2 : 4;
      }
      return emitted;
    }
    default:
      emit(frame(f, s.e, false, 6, s.sport, 80, { seq: s.cseq, ack: s.sseq, flags: FIN | ACK }, payload, 0));
      emit(
        frame(
          f,
          s.e,
          true,
          6,
          s.sport,
          80,
          { seq: s.sseq, ack: (s.cseq + 1) >>> 0, flags: FIN | ACK },
          payload,
          0,
        ),
      );
      emit(
        frame(
          f,
          s.e,
          false,
          6,
          s.sport,
          80,
          { seq: (s.cseq + 1) >>> 0, ack: (s.sseq + 1) >>> 0, flags: ACK },
          payload,
          0,
        ),
      );
      s.gen++;
      s.step = 0;
      return 3;
  }
}

/** A DNS A query (or its answer) for host<n>.example.com, in wire format. */
function dnsMessage(b: Uint8Array, id: number, name: number, response: boolean, enc: TextEncoder): number {
  let o = 0;
  const u16 = (v: number) => {
    b[o++] = v >>> 8;
    b[o++] = v & 0xff;
  };
  u16(id);
  u16(response ? 0x8180 : 0x0100);
  u16(1), u16(response ? 1 : 0), u16(0), u16(0);
  for (const label of [`host${name}`, "example", "com"]) {
    const l = enc.encode(label);
    b[o++] = l.length;
    b.set(l, o);
    o += l.length;
  }
  b[o++] = 0;
  u16(1), u16(1);
  if (response) {
    u16(0xc00c), u16(1), u16(1), u16(0), u16(300), u16(4);
    b[o++] = 10, b[o++] = 3, b[o++] = (name >>> 8) & 0xff, b[o++] = name & 0xff;
  }
  return o;
}

/** A PTPv2 Sync (0) or Follow_Up (8) message of 44 bytes from one grandmaster. */
function ptpMessage(b: Uint8Array, type: number, seq: number): number {
  b.fill(0, 0, 44);
  b[0] = type;
  b[1] = 2;
  b[3] = 44;
  b[6] = type === 0 ? 0x02 : 0; // twoStep on Sync
  b.set([0x00, 0x1b, 0x19, 0xff, 0xfe, 0x00, 0x00, 0x01], 20);
  b[29] = 1;
  b[30] = seq >>> 8;
  b[31] = seq & 0xff;
  b[32] = type === 0 ? 0 : 2;
  b[33] = 0xfd; // logMessageInterval -3 (125 ms)
  return 44;
}
