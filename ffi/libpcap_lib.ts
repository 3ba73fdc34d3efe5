/**
 * Loading the system libpcap (Debian `libpcap0.8`) and the few libc stdio/poll calls the capture
 * loop needs: the symbol tables with their C prototypes, the version check, and the string/errno
 * helpers. The wrapper classes are in libpcap.ts, interface listing in pcap_devs.ts. This file is the only place that touches libpcap pointers: callers get
 * wrapper classes that free their handle with `using` (Symbol.dispose) and MppErrors whose text comes
 * from pcap_geterr / pcap_statustostr, never bare status numbers.
 */
import { MppError } from "../lib/errors.ts";

/** Oldest libpcap that has everything used here (immediate mode, nano precision, pcap_dump_fopen). */
const MIN_VERSION: readonly [number, number] = [1, 5];
const LIBPCAP_NAMES = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"];
export const ERRBUF_SIZE = 256;
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

export function cstr(p: Deno.PointerValue): string | undefined {
  return p ? Deno.UnsafePointerView.getCString(p) : undefined;
}

export function errbufText(b: Uint8Array): string {
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
