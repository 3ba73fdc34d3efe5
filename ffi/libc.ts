/**
 * The libc calls mpp needs for multicast routing: raw sockets, setsockopt/getsockopt, ioctl,
 * non-blocking read and poll. Opened lazily on first use, so programs that never route multicast
 * never pay for dlopen. Failures come back as SyscallError with errno, its name and strerror text.
 * This file is a leaf: it imports nothing of the project.
 */

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  // size_t and ssize_t as 32 bits: lengths here stay below 2^31, and a 64-bit result would come
  // back as a BigInt on every call.
  write32: { name: "write", parameters: ["i32", "buffer", "u32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  poll_async: { name: "poll", parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  setgroups: { parameters: ["usize", "buffer"], result: "i32" },
  setgid: { parameters: ["u32"], result: "i32" },
  setuid: { parameters: ["u32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** The raw symbols (opened on first call). */
export function libc(): Libc {
  lib ??= Deno.dlopen("libc.so.6", SYMBOLS);
  return lib.symbols;
}

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const IPPROTO_IP = 0;
export const IPPROTO_IGMP = 2;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ICMPV6 = 58;
export const POLLIN = 0x1;

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  92: "ENOPROTOOPT",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  105: "ENOBUFS",
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** errno of the calling thread; read it right after the failing call. */
export function lastErrno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

export function strerror(errno: number): string {
  const p = libc().strerror(errno);
  return p === null ? `errno ${errno}` : Deno.UnsafePointerView.getCString(p);
}

export class SyscallError extends Error {
  constructor(readonly syscall: string, readonly errno: number, readonly detail = "") {
    super(`${syscall}${detail ? ` ${detail}` : ""}: ${strerror(errno)} (${errnoName(errno)})`);
    this.name = "SyscallError";
  }
  get errnoName(): string {
    return errnoName(this.errno);
  }
}

function check(r: number, syscall: string, detail?: string): number {
  if (r < 0) throw new SyscallError(syscall, lastErrno(), detail);
  return r;
}

export function socket(domain: number, type: number, protocol: number): number {
  return check(libc().socket(domain, type, protocol), "socket");
}

export function setsockopt(fd: number, level: number, opt: number, value: Uint8Array, detail?: string): void {
  check(libc().setsockopt(fd, level, opt, value, value.byteLength), "setsockopt", detail);
}

export function setsockoptInt(fd: number, level: number, opt: number, v: number, detail?: string): void {
  setsockopt(fd, level, opt, new Uint8Array(new Int32Array([v]).buffer), detail);
}

/** Fills `out` and returns the length the kernel wrote. */
export function getsockopt(fd: number, level: number, opt: number, out: Uint8Array, detail?: string): number {
  const len = new Uint32Array([out.byteLength]);
  check(libc().getsockopt(fd, level, opt, out, new Uint8Array(len.buffer)), "getsockopt", detail);
  return len[0];
}

export function ioctl(fd: number, request: number, arg: Uint8Array, detail?: string): void {
  check(libc().ioctl(fd, BigInt(request), arg), "ioctl", detail);
}

export function close(fd: number): void {
  libc().close(fd);
}

export const O_WRONLY = 0o1;
export const O_CREAT = 0o100;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_CLOEXEC = 0o2000000;

/** open(2) of a NUL-terminated path; the descriptor, or a SyscallError (the caller names the path). */
export function openPath(pathZ: Uint8Array, flags: number, mode: number): number {
  return check(libc().open(pathZ, flags, mode), "open");
}

/** Writes all of `b` to `fd` (retrying short writes); a SyscallError on failure. */
export function writeAll(fd: number, b: Uint8Array): void {
  const w = libc().write32;
  let off = 0;
  while (off < b.length) {
    const n = w(fd, off === 0 ? b : b.subarray(off), b.length - off);
    if (n < 0) {
      const e = lastErrno();
      if (e === 4) continue; // EINTR
      throw new SyscallError("write", e);
    }
    off += n;
  }
}

const RLIMIT_NOFILE = 7;

/**
 * Raises this process's open-file limit to its hard limit (as tcpflow does) and returns the soft
 * limit now in force. Many open files let --streams keep every live connection's files open.
 */
export function raiseOpenFileLimit(): number {
  const rl = new BigUint64Array(2);
  const b = new Uint8Array(rl.buffer);
  if (libc().getrlimit(RLIMIT_NOFILE, b) !== 0) return 1024;
  if (rl[0] < rl[1]) {
    const cur = rl[0];
    rl[0] = rl[1];
    if (libc().setrlimit(RLIMIT_NOFILE, b) !== 0) rl[0] = cur;
  }
  return Number(rl[0] > 1n << 30n ? 1n << 30n : rl[0]);
}

/** One non-blocking read: the byte count, or -1 when nothing is queued (EAGAIN). */
export function readNonBlocking(fd: number, buf: Uint8Array): number {
  const n = Number(libc().read(fd, buf, BigInt(buf.byteLength)));
  if (n >= 0) return n;
  const e = lastErrno();
  if (e === 11 || e === 4) return -1;
  throw new SyscallError("read", e);
}

/** Waits up to timeoutMs for fd to become readable, off the event loop thread. */
export async function waitReadable(fd: number, timeoutMs: number, pollfd: Uint8Array): Promise<boolean> {
  const dv = new DataView(pollfd.buffer, pollfd.byteOffset, 8);
  dv.setInt32(0, fd, true);
  dv.setInt16(4, POLLIN, true);
  dv.setInt16(6, 0, true);
  const r = await libc().poll_async(pollfd, 1n, timeoutMs);
  if (r < 0) {
    const e = lastErrno();
    if (e === 4) return false;
    throw new SyscallError("poll", e);
  }
  return r > 0 && (dv.getInt16(6, true) & POLLIN) !== 0;
}

/**
 * Switches the whole process (glibc applies it to every thread) to uid/gid with no supplementary
 * groups. Group first: after setuid there is no permission left to change it.
 */
export function dropPrivileges(uid: number, gid: number): void {
  check(libc().setgroups(0n, new Uint8Array(4)), "setgroups");
  check(libc().setgid(gid), "setgid");
  check(libc().setuid(uid), "setuid");
}

export function ifNameToIndex(name: string): number {
  return libc().if_nametoindex(new TextEncoder().encode(name + "\0"));
}
