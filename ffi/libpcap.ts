/**
 * Typed wrappers over libpcap: compiled filters (BpfCode), pcap_t handles (PcapHandle), offline
 * reading, the in-memory dumper and poll(). This folder is the only place that touches libpcap
 * pointers: callers get classes that free their handle with `using` (Symbol.dispose) and MppErrors
 * whose text comes from pcap_geterr / pcap_statustostr, never bare status numbers.
 */
import { MppError } from "../lib/errors.ts";
import {
  cbuf,
  cstr,
  ERRBUF_SIZE,
  errbufText,
  lastErrno,
  libpcap,
  PCAP_NETMASK_UNKNOWN,
  PcapStatus,
  PERMISSION_HINT,
} from "./libpcap_lib.ts";

export * from "./libpcap_lib.ts";
export * from "./pcap_devs.ts";
export interface PcapStats {
  /** Packets received by the filter (Linux: counted after the filter). */
  received: number;
  /** Dropped because the kernel buffer was full. */
  dropped: number;
  /** Dropped by the interface or driver (0 may mean "not supported"). */
  ifDropped: number;
}

/** One `struct bpf_insn` as libpcap emits it. */
export interface RawBpfInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/**
 * A compiled `struct bpf_program` (16 bytes: u_int bf_len, 4 bytes padding, struct bpf_insn *bf_insns)
 * owned by libpcap until disposed.
 */
export class BpfCode implements Disposable {
  /** The struct itself; pass as the `struct bpf_program *` argument. */
  readonly struct: Uint8Array<ArrayBuffer> = new Uint8Array(16);
  #freed = false;
  /** Instructions owned by JS (from `wrap`), kept alive here; libpcap must not free them. */
  #own: Uint8Array<ArrayBuffer> | undefined;

  /**
   * A bpf_program over instructions built in JS: lets tests run hand-made (even hostile) programs
   * through libpcap's own interpreter. libpcap executes them unvalidated, so only pass programs that
   * lib/filter's validator accepted.
   */
  static wrap(insns: readonly RawBpfInsn[]): BpfCode {
    const c = new BpfCode();
    const own = new Uint8Array(Math.max(1, insns.length) * 8);
    const dv = new DataView(own.buffer);
    insns.forEach((x, i) => {
      dv.setUint16(i * 8, x.code, true);
      dv.setUint8(i * 8 + 2, x.jt);
      dv.setUint8(i * 8 + 3, x.jf);
      dv.setUint32(i * 8 + 4, x.k >>> 0, true);
    });
    c.#own = own;
    const sv = new DataView(c.struct.buffer);
    sv.setUint32(0, insns.length, true);
    sv.setBigUint64(8, Deno.UnsafePointer.value(Deno.UnsafePointer.of(own)), true);
    c.#freed = true; // nothing of libpcap's to free
    return c;
  }

  get length(): number {
    return new DataView(this.struct.buffer).getUint32(0, true);
  }

  /** Copies the instructions out of libpcap's memory (8 bytes each: u16 code, u8 jt, u8 jf, u32 k). */
  instructions(): RawBpfInsn[] {
    const n = this.length;
    const p = Deno.UnsafePointer.create(new DataView(this.struct.buffer).getBigUint64(8, true));
    const out: RawBpfInsn[] = [];
    if (!p || n === 0) return out;
    const v = new Deno.UnsafePointerView(p);
    for (let i = 0; i < n; i++) {
      out.push({
        code: v.getUint16(i * 8),
        jt: v.getUint8(i * 8 + 2),
        jf: v.getUint8(i * 8 + 3),
        k: v.getUint32(i * 8 + 4),
      });
    }
    return out;
  }

  /**
   * libpcap's own verdict for one packet (the oracle for lib/filter). `hdr` is a 24-byte pcap_pkthdr
   * buffer the caller reuses; caplen and len are written into it here.
   */
  offlineFilter(hdr: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>, origLen: number): number {
    const dv = new DataView(hdr.buffer, hdr.byteOffset, 24);
    dv.setUint32(16, data.length, true);
    dv.setUint32(20, origLen, true);
    return libpcap().pcap.pcap_offline_filter(this.struct, hdr, data);
  }

  [Symbol.dispose](): void {
    if (this.#freed) return;
    this.#freed = true;
    libpcap().pcap.pcap_freecode(this.struct);
  }
}

/** A pcap_t: live (create + activate), dead (for compiling) or offline (reading a file). */
export class PcapHandle implements Disposable {
  #p: Deno.PointerValue;
  readonly source: string;
  private constructor(p: Deno.PointerValue, source: string) {
    this.#p = p;
    this.source = source;
  }

  get pointer(): Deno.PointerValue {
    if (!this.#p) throw new MppError("internal", `pcap handle for ${this.source} used after close`);
    return this.#p;
  }

  /** pcap_create: the handle still needs options and activate(). */
  static create(device: string): PcapHandle {
    const { pcap } = libpcap();
    const err = new Uint8Array(ERRBUF_SIZE);
    const p = pcap.pcap_create(cbuf(device), err);
    if (!p) throw new MppError("bad_capture", `cannot open ${device}: ${errbufText(err)}`, "check the name");
    return new PcapHandle(p, device);
  }

  static openDead(linkType: number, snaplen: number): PcapHandle {
    const p = libpcap().pcap.pcap_open_dead(linkType, snaplen);
    if (!p) {
      throw new MppError("internal", `pcap_open_dead(${linkType}, ${snaplen}) failed`, "out of memory?");
    }
    return new PcapHandle(p, `dead:${linkType}`);
  }

  static openOffline(path: string): PcapHandle {
    const err = new Uint8Array(ERRBUF_SIZE);
    const p = libpcap().pcap.pcap_open_offline(cbuf(path), err);
    if (!p) {
      throw new MppError("bad_input", `libpcap cannot read ${path}: ${errbufText(err)}`, "check the file");
    }
    return new PcapHandle(p, path);
  }

  /** libpcap's last error text for this handle. */
  lastError(): string {
    return cstr(libpcap().pcap.pcap_geterr(this.pointer)) ?? "unknown error";
  }

  #check(rc: number, what: string): void {
    if (rc !== 0) {
      const text = cstr(libpcap().pcap.pcap_statustostr(rc)) ?? `status ${rc}`;
      throw new MppError("bad_usage", `${this.source}: ${what}: ${text}`, "check the capture options");
    }
  }

  setSnaplen(n: number): void {
    this.#check(libpcap().pcap.pcap_set_snaplen(this.pointer, n), `snaplen ${n}`);
  }
  setPromisc(on: boolean): void {
    this.#check(libpcap().pcap.pcap_set_promisc(this.pointer, on ? 1 : 0), "promiscuous mode");
  }
  setTimeout(ms: number): void {
    this.#check(libpcap().pcap.pcap_set_timeout(this.pointer, ms), `timeout ${ms} ms`);
  }
  setImmediate(on: boolean): void {
    this.#check(libpcap().pcap.pcap_set_immediate_mode(this.pointer, on ? 1 : 0), "immediate mode");
  }
  /** Kernel buffer size in bytes. */
  setBufferSize(bytes: number): void {
    this.#check(libpcap().pcap.pcap_set_buffer_size(this.pointer, bytes), `buffer size ${bytes}`);
  }
  setNanoPrecision(nano: boolean): void {
    const rc = libpcap().pcap.pcap_set_tstamp_precision(this.pointer, nano ? 1 : 0);
    if (rc === PcapStatus.TSTAMP_PRECISION_NOTSUP) {
      throw new MppError(
        "bad_usage",
        `${this.source} does not support ${nano ? "nanosecond" : "microsecond"} time stamps`,
        "use --tstamp-precision micro",
      );
    }
    this.#check(rc, "time stamp precision");
  }

  /**
   * pcap_activate with every failure mapped to an MppError a user can act on. Returns libpcap's
   * warning text (promiscuous mode unsupported...) or undefined.
   */
  activate(knownInterfaces?: () => string[]): string | undefined {
    const { pcap } = libpcap();
    const rc = pcap.pcap_activate(this.pointer);
    if (rc === 0) return undefined;
    const detail = this.lastError();
    const status = cstr(pcap.pcap_statustostr(rc)) ?? `status ${rc}`;
    if (rc > 0) return detail || status;
    const text = detail && detail !== status ? `${status} (${detail})` : status;
    switch (rc) {
      case PcapStatus.PERM_DENIED:
      case PcapStatus.PROMISC_PERM_DENIED:
        throw new MppError(
          "permission",
          `not permitted to capture on ${this.source}: ${text}`,
          PERMISSION_HINT,
        );
      case PcapStatus.NO_SUCH_DEVICE: {
        const names = knownInterfaces?.() ?? [];
        throw new MppError(
          "not_found",
          `no such interface: ${this.source}`,
          names.length
            ? `interfaces here: ${names.join(", ")} (mpp capture --list)`
            : "see mpp capture --list",
        );
      }
      case PcapStatus.IFACE_NOT_UP:
        throw new MppError(
          "bad_capture",
          `interface ${this.source} is down`,
          `ip link set ${this.source} up`,
        );
      default:
        throw new MppError(
          "bad_capture",
          `cannot capture on ${this.source}: ${text}`,
          "see mpp capture --list",
        );
    }
  }

  datalink(): number {
    return libpcap().pcap.pcap_datalink(this.pointer);
  }
  snapshot(): number {
    return libpcap().pcap.pcap_snapshot(this.pointer);
  }

  /** pcap_compile; MppError("bad_usage") with libpcap's message (which names the offending token). */
  compile(expr: string, optimize = true, netmask = PCAP_NETMASK_UNKNOWN): BpfCode {
    const code = new BpfCode();
    const rc = libpcap().pcap.pcap_compile(this.pointer, code.struct, cbuf(expr), optimize ? 1 : 0, netmask);
    if (rc !== 0) {
      throw new MppError(
        "bad_usage",
        `bad filter "${expr}": ${this.lastError()}`,
        "filters use tcpdump's syntax (man 7 pcap-filter), e.g. 'udp port 53 and host 10.0.0.1'",
      );
    }
    return code;
  }

  setFilter(code: BpfCode): void {
    if (libpcap().pcap.pcap_setfilter(this.pointer, code.struct) !== 0) {
      throw new MppError("bad_capture", `${this.source}: cannot set filter: ${this.lastError()}`, "");
    }
  }

  setNonblock(on: boolean): void {
    const err = new Uint8Array(ERRBUF_SIZE);
    if (libpcap().pcap.pcap_setnonblock(this.pointer, on ? 1 : 0, err) < 0) {
      throw new MppError(
        "bad_capture",
        `${this.source}: cannot set non-blocking mode: ${errbufText(err)}`,
        "",
      );
    }
  }

  selectableFd(): number {
    return libpcap().pcap.pcap_get_selectable_fd(this.pointer);
  }

  /** pcap_stats into a reused 12-byte buffer; undefined when the handle cannot report (offline). */
  stats(buf: Uint32Array<ArrayBuffer> = new Uint32Array(3)): PcapStats | undefined {
    if (libpcap().pcap.pcap_stats(this.pointer, buf) !== 0) return undefined;
    return { received: buf[0], dropped: buf[1], ifDropped: buf[2] };
  }

  close(): void {
    if (!this.#p) return;
    libpcap().pcap.pcap_close(this.#p);
    this.#p = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Reads an offline file record by record through pcap_next_ex (copying each frame, since libpcap
 * reuses its buffer). For tests and oracles, not for mpp's own reading.
 */
export function* offlinePackets(
  h: PcapHandle,
): Generator<{ data: Uint8Array<ArrayBuffer>; origLen: number; tsSec: number; tsFrac: number }> {
  const { pcap } = libpcap();
  const hp = new BigUint64Array(1);
  const dp = new BigUint64Array(1);
  for (;;) {
    const rc = pcap.pcap_next_ex(h.pointer, hp, dp);
    if (rc === -2) return; // end of file
    if (rc !== 1) throw new MppError("bad_input", `${h.source}: ${h.lastError()}`, "");
    const hv = new Deno.UnsafePointerView(Deno.UnsafePointer.create(hp[0])!);
    const caplen = hv.getUint32(16);
    const data = caplen
      ? new Uint8Array(
        Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(dp[0])!, caplen).slice(0),
      )
      : new Uint8Array(0);
    yield {
      data,
      origLen: hv.getUint32(20),
      tsSec: Number(hv.getBigInt64(0)),
      tsFrac: Number(hv.getBigInt64(8)),
    };
  }
}

/**
 * A pcap_dumper writing into a caller-owned memory region (fmemopen): pcap_dispatch with pcap_dump
 * as the callback copies a whole batch of records into shared memory in one FFI call, with no
 * JavaScript per packet. Records have the classic pcap layout (16-byte header: ts_sec, ts_usec or
 * ts_nsec per the handle's precision, caplen, len; host byte order) followed by the data.
 */
export class MemoryDumper implements Disposable {
  #dumper: Deno.PointerValue;
  #file: Deno.PointerValue;
  readonly handle: PcapHandle;

  /** `region` must stay alive (and not move) as long as the dumper: use a SharedArrayBuffer view. */
  constructor(handle: PcapHandle, region: Uint8Array) {
    const { libc, pcap } = libpcap();
    this.handle = handle;
    const base = Deno.UnsafePointer.of(region as Uint8Array<ArrayBuffer>);
    const f = libc.fmemopen(base, BigInt(region.length), cbuf("w"));
    if (!f) {
      const e = lastErrno();
      throw new MppError("io", `fmemopen failed: ${e.message}`, "out of memory?");
    }
    this.#file = f;
    this.#dumper = pcap.pcap_dump_fopen(handle.pointer, f);
    if (!this.#dumper) throw new MppError("io", `pcap_dump_fopen failed: ${handle.lastError()}`, "");
    // Push out the 24-byte file header now so that later seeks are not undone by a pending write.
    pcap.pcap_dump_flush(this.#dumper);
  }

  /**
   * Reads up to `maxPackets` available packets (non-blocking handle: returns 0 when none) and writes
   * them at byte `offset` of the region. Returns the packet count (or a negative pcap status) and
   * sets `end` to the offset after the last record.
   */
  dispatch(offset: number, maxPackets: number, out: { end: number }): number {
    const { libc, pcap, pcapDumpFn } = libpcap();
    libc.fseek(this.#file, BigInt(offset), 0);
    const n = pcap.pcap_dispatch(this.handle.pointer, maxPackets, pcapDumpFn, this.#dumper);
    pcap.pcap_dump_flush(this.#dumper);
    out.end = Number(pcap.pcap_dump_ftell(this.#dumper));
    return n;
  }

  [Symbol.dispose](): void {
    if (this.#dumper) libpcap().pcap.pcap_dump_close(this.#dumper);
    this.#dumper = null;
    this.#file = null;
  }
}

/** poll(2) on a set of fds for POLLIN with a reused pollfd array; returns the ready count (or -1). */
export class Poller {
  readonly #fds: Int32Array<ArrayBuffer>;
  readonly #n: bigint;
  constructor(fds: number[]) {
    // struct pollfd {int fd; short events; short revents} = 8 bytes
    this.#fds = new Int32Array(fds.length * 2);
    for (let i = 0; i < fds.length; i++) {
      this.#fds[i * 2] = fds[i];
      this.#fds[i * 2 + 1] = 1; // events = POLLIN, revents = 0
    }
    this.#n = BigInt(fds.length);
  }
  wait(timeoutMs: number): number {
    for (let i = 0; i < this.#fds.length; i += 2) this.#fds[i + 1] = 1;
    return libpcap().libc.poll(this.#fds, this.#n, timeoutMs);
  }
}
