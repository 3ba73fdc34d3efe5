/**
 * Typed binding to the system libpcap (Debian `libpcap0.8`) plus the few libc stdio/poll calls the
 * capture loop needs. This file is the only place that touches libpcap pointers: callers get
 * wrapper classes that free their handle with `using` (Symbol.dispose) and MppErrors whose text comes
 * from pcap_geterr / pcap_statustostr, never bare status numbers.
 */
import { MppError } from "../lib/errors.ts";

/** Oldest libpcap that has everything used here (immediate mode, nano precision, pcap_dump_fopen). */
const MIN_VERSION: readonly [number, number] = [1, 5];
const LIBPCAP_NAMES = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"];
const ERRBUF_SIZE = 256;
/** pcap_compile's "netmask unknown": `ip broadcast` then fails with a clear libpcap message. */
export const PCAP_NETMASK_UNKNOWN = 0xffffffff;

const pcapSymbols = {
  // const char *pcap_lib_version(void);
  pcap_lib_version: { parameters: [], result: "pointer" },
  // int pcap_findalldevs(pcap_if_t **alldevsp, char *errbuf);
  pcap_findalldevs: { parameters: ["buffer", "buffer"], result: "i32" },
  // void pcap_freealldevs(pcap_if_t *alldevs);
  pcap_freealldevs: { parameters: ["pointer"], result: "void" },
  // pcap_t *pcap_create(const char *source, char *errbuf);
  pcap_create: { parameters: ["buffer", "buffer"], result: "pointer" },
  // int pcap_set_snaplen(pcap_t *p, int snaplen);
  pcap_set_snaplen: { parameters: ["pointer", "i32"], result: "i32" },
  // int pcap_set_promisc(pcap_t *p, int promisc);
  pcap_set_promisc: { parameters: ["pointer", "i32"], result: "i32" },
  // int pcap_set_timeout(pcap_t *p, int to_ms);
  pcap_set_timeout: { parameters: ["pointer", "i32"], result: "i32" },
  // int pcap_set_immediate_mode(pcap_t *p, int immediate_mode);
  pcap_set_immediate_mode: { parameters: ["pointer", "i32"], result: "i32" },
  // int pcap_set_buffer_size(pcap_t *p, int buffer_size);
  pcap_set_buffer_size: { parameters: ["pointer", "i32"], result: "i32" },
  // int pcap_set_tstamp_precision(pcap_t *p, int tstamp_precision);
  pcap_set_tstamp_precision: { parameters: ["pointer", "i32"], result: "i32" },
  // int pcap_activate(pcap_t *p);
  pcap_activate: { parameters: ["pointer"], result: "i32" },
  // const char *pcap_statustostr(int error);
  pcap_statustostr: { parameters: ["i32"], result: "pointer" },
  // char *pcap_geterr(pcap_t *p);
  pcap_geterr: { parameters: ["pointer"], result: "pointer" },
  // void pcap_close(pcap_t *p);
  pcap_close: { parameters: ["pointer"], result: "void" },
  // pcap_t *pcap_open_dead(int linktype, int snaplen);
  pcap_open_dead: { parameters: ["i32", "i32"], result: "pointer" },
  // pcap_t *pcap_open_offline(const char *fname, char *errbuf);
  pcap_open_offline: { parameters: ["buffer", "buffer"], result: "pointer" },
  // int pcap_compile(pcap_t *p, struct bpf_program *fp, const char *str, int optimize, bpf_u_int32 netmask);
  pcap_compile: { parameters: ["pointer", "buffer", "buffer", "i32", "u32"], result: "i32" },
  // void pcap_freecode(struct bpf_program *fp);
  pcap_freecode: { parameters: ["buffer"], result: "void" },
  // int pcap_setfilter(pcap_t *p, struct bpf_program *fp);
  pcap_setfilter: { parameters: ["pointer", "buffer"], result: "i32" },
  // int pcap_offline_filter(const struct bpf_program *fp, const struct pcap_pkthdr *h, const u_char *pkt);
  pcap_offline_filter: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  // int pcap_datalink(pcap_t *p);
  pcap_datalink: { parameters: ["pointer"], result: "i32" },
  // int pcap_snapshot(pcap_t *p);
  pcap_snapshot: { parameters: ["pointer"], result: "i32" },
  // int pcap_setnonblock(pcap_t *p, int nonblock, char *errbuf);
  pcap_setnonblock: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  // int pcap_get_selectable_fd(pcap_t *p);
  pcap_get_selectable_fd: { parameters: ["pointer"], result: "i32" },
  // int pcap_next_ex(pcap_t *p, struct pcap_pkthdr **pkt_header, const u_char **pkt_data);
  pcap_next_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  // int pcap_dispatch(pcap_t *p, int cnt, pcap_handler callback, u_char *user);
  pcap_dispatch: { parameters: ["pointer", "i32", "pointer", "pointer"], result: "i32" },
  // pcap_dumper_t *pcap_dump_fopen(pcap_t *p, FILE *fp);
  pcap_dump_fopen: { parameters: ["pointer", "pointer"], result: "pointer" },
  // void pcap_dump(u_char *user, const struct pcap_pkthdr *h, const u_char *sp);  (used as a callback)
  pcap_dump: { parameters: ["pointer", "pointer", "pointer"], result: "void" },
  // int pcap_dump_flush(pcap_dumper_t *p);
  pcap_dump_flush: { parameters: ["pointer"], result: "i32" },
  // long pcap_dump_ftell(pcap_dumper_t *p);
  pcap_dump_ftell: { parameters: ["pointer"], result: "i64" },
  // void pcap_dump_close(pcap_dumper_t *p);  (fclose()s the FILE too)
  pcap_dump_close: { parameters: ["pointer"], result: "void" },
  // int pcap_stats(pcap_t *p, struct pcap_stat *ps);   struct pcap_stat = 3 x u_int on Linux
  pcap_stats: { parameters: ["pointer", "buffer"], result: "i32" },
  // void pcap_breakloop(pcap_t *p);
  pcap_breakloop: { parameters: ["pointer"], result: "void" },
} as const;

const libcSymbols = {
  // FILE *fmemopen(void *buf, size_t size, const char *mode);
  fmemopen: { parameters: ["pointer", "usize", "buffer"], result: "pointer" },
  // int fseek(FILE *stream, long offset, int whence);
  fseek: { parameters: ["pointer", "i64", "i32"], result: "i32" },
  // int poll(struct pollfd *fds, nfds_t nfds, int timeout);   struct pollfd {int fd; short events, revents}
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  // void *dlopen(const char *filename, int flags);
  dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
  // void *dlsym(void *handle, const char *symbol);
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
  // int *__errno_location(void);
  __errno_location: { parameters: [], result: "pointer" },
  // char *strerror(int errnum);
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

export type PcapSymbols = Deno.DynamicLibrary<typeof pcapSymbols>["symbols"];
export type LibcSymbols = Deno.DynamicLibrary<typeof libcSymbols>["symbols"];

export interface Libpcap {
  pcap: PcapSymbols;
  libc: LibcSymbols;
  /** e.g. "libpcap version 1.10.3 (with TPACKET_V3)". */
  version: string;
  /** The file name that was loaded, e.g. libpcap.so.0.8. */
  soname: string;
  /** Address of pcap_dump, for pcap_dispatch: libpcap then writes records without calling into JS. */
  pcapDumpFn: Deno.PointerValue;
}

let loaded: Libpcap | undefined;

/** Loads libpcap once per thread; MppError("missing_dependency") naming the Debian package when absent. */
export function libpcap(): Libpcap {
  if (loaded) return loaded;
  let lib: Deno.DynamicLibrary<typeof pcapSymbols> | undefined;
  let soname = "";
  const tried: string[] = [];
  for (const name of LIBPCAP_NAMES) {
    try {
      lib = Deno.dlopen(name, pcapSymbols);
      soname = name;
      break;
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable) {
        throw new MppError(
          "permission",
          "not allowed to load libpcap (FFI)",
          "run mpp with -A (--allow-all)",
        );
      }
      tried.push(`${name}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  if (!lib) {
    throw new MppError(
      "missing_dependency",
      `libpcap could not be loaded (${tried.join("; ")})`,
      "install it: apt-get install libpcap0.8 (Debian/Ubuntu) or your distribution's libpcap package",
    );
  }
  const version = cstr(lib.symbols.pcap_lib_version()) ?? "";
  const m = /(\d+)\.(\d+)/.exec(version);
  if (!m || +m[1] < MIN_VERSION[0] || (+m[1] === MIN_VERSION[0] && +m[2] < MIN_VERSION[1])) {
    lib.close();
    throw new MppError(
      "missing_dependency",
      `${soname} reports "${version}", older than the libpcap ${MIN_VERSION.join(".")} mpp needs`,
      "upgrade libpcap: apt-get install libpcap0.8",
    );
  }
  const libc = Deno.dlopen("libc.so.6", libcSymbols);
  // pcap_dump's address, so that pcap_dispatch can call it directly (one FFI call per batch).
  const h = libc.symbols.dlopen(cbuf(soname), 2 /* RTLD_NOW */);
  const pcapDumpFn = h ? libc.symbols.dlsym(h, cbuf("pcap_dump")) : null;
  if (!pcapDumpFn) {
    throw new MppError("missing_dependency", `pcap_dump not found in ${soname}`, "reinstall libpcap0.8");
  }
  loaded = { pcap: lib.symbols, libc: libc.symbols, version, soname, pcapDumpFn };
  return loaded;
}

/** True when libpcap can be loaded here (for tests that skip without it). */
export function libpcapAvailable(): boolean {
  try {
    libpcap();
    return true;
  } catch {
    return false;
  }
}

const enc = new TextEncoder();
/** NUL-terminated copy of a JS string for a `const char *` parameter. */
export function cbuf(s: string): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(enc.encode(s).length + 1);
  enc.encodeInto(s, b);
  return b;
}

function cstr(p: Deno.PointerValue): string | undefined {
  return p ? Deno.UnsafePointerView.getCString(p) : undefined;
}

function errbufText(b: Uint8Array): string {
  const end = b.indexOf(0);
  return new TextDecoder().decode(b.subarray(0, end < 0 ? b.length : end));
}

/** libc errno text for the last failed call on this thread. */
export function lastErrno(): { errno: number; message: string } {
  const { libc } = libpcap();
  const p = libc.__errno_location();
  const errno = p ? new Deno.UnsafePointerView(p).getInt32() : 0;
  return { errno, message: cstr(libc.strerror(errno)) ?? `errno ${errno}` };
}

/** PCAP_ERROR_* and PCAP_WARNING_* from pcap/pcap.h. */
export const PcapStatus = {
  ERROR: -1,
  BREAK: -2,
  NOT_ACTIVATED: -3,
  ACTIVATED: -4,
  NO_SUCH_DEVICE: -5,
  RFMON_NOTSUP: -6,
  NOT_RFMON: -7,
  PERM_DENIED: -8,
  IFACE_NOT_UP: -9,
  CANTSET_TSTAMP_TYPE: -10,
  PROMISC_PERM_DENIED: -11,
  TSTAMP_PRECISION_NOTSUP: -12,
  WARNING: 1,
  WARNING_PROMISC_NOTSUP: 2,
  WARNING_TSTAMP_TYPE_NOTSUP: 3,
} as const;

export const PERMISSION_HINT = "run as root, or give the program CAP_NET_RAW and CAP_NET_ADMIN " +
  "(setcap cap_net_raw,cap_net_admin=eip on the deno binary)";

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

export interface PcapAddress {
  family: "inet" | "inet6" | "packet" | number;
  /** Dotted quad, IPv6 text, or MAC address for AF_PACKET. */
  addr: string;
  netmask?: string;
}

export interface PcapInterface {
  name: string;
  description?: string;
  addresses: PcapAddress[];
  loopback: boolean;
  up: boolean;
  running: boolean;
  wireless: boolean;
}

/** pcap_findalldevs: pcap_if {next 0, name 8, description 16, addresses 24, flags 32}. */
export function findAllDevs(): PcapInterface[] {
  const { pcap } = libpcap();
  const pp = new BigUint64Array(1);
  const err = new Uint8Array(ERRBUF_SIZE);
  if (pcap.pcap_findalldevs(pp, err) !== 0) {
    throw new MppError("bad_capture", `cannot list interfaces: ${errbufText(err)}`, PERMISSION_HINT);
  }
  const head = Deno.UnsafePointer.create(pp[0]);
  const out: PcapInterface[] = [];
  for (let p = head; p;) {
    const v = new Deno.UnsafePointerView(p);
    const flags = v.getUint32(32);
    const addresses: PcapAddress[] = [];
    // pcap_addr {next 0, addr 8, netmask 16, broadaddr 24, dstaddr 32}
    for (let a = v.getPointer(24); a;) {
      const av = new Deno.UnsafePointerView(a);
      const addr = sockaddrText(av.getPointer(8));
      if (addr) {
        const mask = sockaddrText(av.getPointer(16));
        addresses.push(mask ? { ...addr, netmask: mask.addr } : addr);
      }
      a = av.getPointer(0);
    }
    out.push({
      name: cstr(v.getPointer(8)) ?? "",
      description: cstr(v.getPointer(16)),
      addresses,
      loopback: (flags & 1) !== 0,
      up: (flags & 2) !== 0,
      running: (flags & 4) !== 0,
      wireless: (flags & 8) !== 0,
    });
    p = v.getPointer(0);
  }
  if (head) pcap.pcap_freealldevs(head);
  return out;
}

function sockaddrText(p: Deno.PointerValue): PcapAddress | undefined {
  if (!p) return undefined;
  const v = new Deno.UnsafePointerView(p);
  const family = v.getUint16(0);
  if (family === 2) {
    return { family: "inet", addr: [4, 5, 6, 7].map((i) => v.getUint8(i)).join(".") };
  }
  if (family === 10) {
    const words: string[] = [];
    for (let i = 0; i < 8; i++) {
      words.push(((v.getUint8(8 + 2 * i) << 8) | v.getUint8(9 + 2 * i)).toString(16));
    }
    return { family: "inet6", addr: words.join(":").replace(/(^|:)0(:0)+(:|$)/, "::") };
  }
  if (family === 17) {
    // sockaddr_ll: sll_halen at 11, sll_addr at 12
    const n = Math.min(v.getUint8(11), 8);
    const bytes: string[] = [];
    for (let i = 0; i < n; i++) bytes.push(v.getUint8(12 + i).toString(16).padStart(2, "0"));
    return { family: "packet", addr: bytes.join(":") };
  }
  return { family, addr: "" };
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
