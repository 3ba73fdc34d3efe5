/**
 * The kernel side of multicast routing for one address family: the raw mroute socket
 * (IGMP for IPv4, ICMPv6 for IPv6), VIF/MIF and MFC setsockopts, counters by ioctl, membership
 * joins, and the upcall reader. The only mroute module that touches ffi/.
 */
import * as libc from "../../ffi/libc.ts";
import * as S from "../../ffi/mroute_structs.ts";
import { MppError } from "../errors.ts";
import { type Addr, addrFromBytes, type Family, fromV4Number, v4Number } from "./addr.ts";

export interface KernelUpcall {
  type: "nocache" | "wrongvif" | "other";
  vif: number;
  src: Addr;
  group: Addr;
}

const ICMP6_FILTER = 1;

function explain(e: unknown, what: string, table: number): MppError {
  if (!(e instanceof libc.SyscallError)) {
    return e instanceof MppError ? e : new MppError("internal", String(e), "");
  }
  switch (e.errno) {
    case 98:
      return new MppError(
        "busy",
        `${what}: another multicast routing daemon already owns table ${table} in this network namespace (EADDRINUSE)`,
        "stop the other daemon (smcrouted, pimd, mpp mroute daemon), or use another --table ID",
      );
    case 1:
    case 13:
      return new MppError(
        "permission",
        `${what}: ${e.message}`,
        "run the daemon as root or with CAP_NET_ADMIN",
      );
    case 92:
    case 93:
    case 95:
      return new MppError(
        "missing_dependency",
        `${what}: ${e.message}`,
        "the kernel lacks multicast routing (CONFIG_IP_MROUTE / CONFIG_IPV6_MROUTE, and _MULTIPLE_TABLES for --table)",
      );
    default:
      return new MppError("io", `${what}: ${e.message}`, "see the daemon log");
  }
}

export class MrouteKernel {
  readonly family: Family;
  readonly table: number;
  readonly fd: number;
  #level: number;
  #joinFds: number[] = [];
  #mfc: Uint8Array<ArrayBuffer>;
  #pollfd = new Uint8Array(8);
  #rbuf = new Uint8Array(2048);
  #closed = false;
  pim = false;

  constructor(family: Family, table: number) {
    this.family = family;
    this.table = table;
    this.#level = family === 4 ? libc.IPPROTO_IP : libc.IPPROTO_IPV6;
    this.#mfc = new Uint8Array(family === 4 ? S.MFCCTL.size : S.MF6CCTL.size);
    const what = family === 4 ? "IPv4 multicast routing socket" : "IPv6 multicast routing socket";
    let fd = -1;
    try {
      fd = family === 4
        ? libc.socket(libc.AF_INET, libc.SOCK_RAW | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC, libc.IPPROTO_IGMP)
        : libc.socket(
          libc.AF_INET6,
          libc.SOCK_RAW | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC,
          libc.IPPROTO_ICMPV6,
        );
      // MRT_TABLE must come before MRT_INIT: INIT binds the socket to the selected table.
      if (table !== 0) libc.setsockoptInt(fd, this.#level, S.MRT_TABLE, table, "MRT_TABLE");
      libc.setsockoptInt(fd, this.#level, S.MRT_INIT, 1, "MRT_INIT");
    } catch (e) {
      if (fd >= 0) libc.close(fd);
      throw explain(e, what, table);
    }
    this.fd = fd;
    if (family === 6) {
      // Only upcalls matter on this socket; block every ordinary ICMPv6 message.
      libc.setsockopt(fd, libc.IPPROTO_ICMPV6, ICMP6_FILTER, new Uint8Array(32).fill(0xff), "ICMP6_FILTER");
    }
    try {
      // MRT_PIM also turns on asserts, which is what makes the kernel report WRONGVIF.
      libc.setsockoptInt(fd, this.#level, S.MRT_PIM, 1, "MRT_PIM");
      this.pim = true;
    } catch {
      this.pim = false;
    }
  }

  addVif(vif: number, ifindex: number, threshold = 1): void {
    try {
      if (this.family === 4) {
        libc.setsockopt(
          this.fd,
          this.#level,
          S.MRT_ADD_VIF,
          S.encodeVifctl({ vifi: vif, flags: S.VIFF_USE_IFINDEX, threshold, ifindexOrAddr: ifindex }),
          "MRT_ADD_VIF",
        );
      } else {
        libc.setsockopt(
          this.fd,
          this.#level,
          S.MRT6_ADD_MIF,
          S.encodeMif6ctl({ mifi: vif, flags: 0, threshold, pifi: ifindex }),
          "MRT6_ADD_MIF",
        );
      }
    } catch (e) {
      throw explain(e, `adding ${this.family === 4 ? "VIF" : "MIF"} ${vif}`, this.table);
    }
  }

  delVif(vif: number, ifindex: number): void {
    try {
      if (this.family === 4) {
        libc.setsockopt(
          this.fd,
          this.#level,
          S.MRT_DEL_VIF,
          S.encodeVifctl({ vifi: vif, flags: S.VIFF_USE_IFINDEX, threshold: 1, ifindexOrAddr: ifindex }),
        );
      } else {
        libc.setsockopt(this.fd, this.#level, S.MRT6_DEL_MIF, new Uint8Array(new Uint16Array([vif]).buffer));
      }
    } catch {
      // The interface may have gone away, which removes the VIF in the kernel already.
    }
  }

  #encodeMfc(src: Addr, grp: Addr, parent: number, oifs: number[]): Uint8Array {
    if (this.family === 4) {
      const ttls = new Uint8Array(S.MAXVIFS);
      for (const v of oifs) ttls[v] = 1;
      return S.encodeMfcctl({ origin: v4Number(src), group: v4Number(grp), parent, ttls }, this.#mfc);
    }
    return S.encodeMf6cctl({ origin: src.bytes, group: grp.bytes, parent, oifs }, this.#mfc);
  }

  addMfc(src: Addr, grp: Addr, parent: number, oifs: number[]): void {
    try {
      libc.setsockopt(
        this.fd,
        this.#level,
        S.MRT_ADD_MFC,
        this.#encodeMfc(src, grp, parent, oifs),
        "MRT_ADD_MFC",
      );
    } catch (e) {
      throw explain(e, `installing route (${src.text}, ${grp.text})`, this.table);
    }
  }

  delMfc(src: Addr, grp: Addr, parent: number): void {
    try {
      libc.setsockopt(
        this.fd,
        this.#level,
        S.MRT_DEL_MFC,
        this.#encodeMfc(src, grp, parent, []),
        "MRT_DEL_MFC",
      );
    } catch (e) {
      // ENOENT: already gone (e.g. flushed by the kernel); that is the state we wanted.
      if (e instanceof libc.SyscallError && e.errno === 2) return;
      throw explain(e, `removing route (${src.text}, ${grp.text})`, this.table);
    }
  }

  sgCounters(src: Addr, grp: Addr): S.SgCounters | null {
    try {
      if (this.family === 4) {
        const req = S.encodeSiocSgReq(v4Number(src), v4Number(grp));
        libc.ioctl(this.fd, S.SIOCGETSGCNT, req);
        return S.decodeSgCounters(req, S.SIOC_SG_REQ);
      }
      const req = S.encodeSiocSgReq6(src.bytes, grp.bytes);
      libc.ioctl(this.fd, S.SIOCGETSGCNT_IN6, req);
      return S.decodeSgCounters(req, S.SIOC_SG_REQ6);
    } catch {
      return null;
    }
  }

  vifCounters(vif: number): S.VifCounters | null {
    try {
      const req = S.encodeSiocVifReq(vif);
      libc.ioctl(this.fd, this.family === 4 ? S.SIOCGETVIFCNT : S.SIOCGETMIFCNT_IN6, req);
      return S.decodeVifCounters(req);
    } catch {
      return null;
    }
  }

  /** IGMP/MLD membership (SSM when a source is given), spread over sockets to stay under per-socket limits. */
  membership(join: boolean, ifindex: number, group: Addr, source?: Addr): void {
    const g = this.family === 4 ? v4Number(group) : group.bytes;
    const req = source
      ? S.encodeGroupSourceReq(ifindex, g, this.family === 4 ? v4Number(source) : source.bytes)
      : S.encodeGroupReq(ifindex, g);
    const opt = source
      ? (join ? S.MCAST_JOIN_SOURCE_GROUP : S.MCAST_LEAVE_SOURCE_GROUP)
      : (join ? S.MCAST_JOIN_GROUP : S.MCAST_LEAVE_GROUP);
    const name = join ? "join" : "leave";
    let lastErr: unknown;
    for (let i = 0; i <= this.#joinFds.length; i++) {
      if (i === this.#joinFds.length) {
        if (!join) break;
        this.#joinFds.push(
          libc.socket(
            this.family === 4 ? libc.AF_INET : libc.AF_INET6,
            libc.SOCK_DGRAM | libc.SOCK_CLOEXEC,
            0,
          ),
        );
      }
      try {
        libc.setsockopt(this.#joinFds[i], this.#level, opt, req, name);
        return;
      } catch (e) {
        lastErr = e;
        // ENOBUFS: this socket is at igmp_max_memberships; EADDRNOTAVAIL on leave: not this socket.
        if (e instanceof libc.SyscallError && (e.errno === 105 || e.errno === 99)) continue;
        break;
      }
    }
    throw explain(lastErr, `${name} ${source ? `(${source.text}, ${group.text})` : group.text}`, this.table);
  }

  /** Reads every queued upcall; `onUpcall` is called for each. Returns when stopped or closed. */
  async readUpcalls(onUpcall: (u: KernelUpcall) => void, stopped: () => boolean): Promise<void> {
    while (!this.#closed && !stopped()) {
      let ready = false;
      try {
        ready = await libc.waitReadable(this.fd, 250, this.#pollfd);
      } catch {
        return;
      }
      if (!ready || this.#closed) continue;
      for (;;) {
        let n: number;
        try {
          n = libc.readNonBlocking(this.fd, this.#rbuf);
        } catch {
          break;
        }
        if (n < 0) break;
        const u = this.family === 4 ? S.decodeIgmpmsg(this.#rbuf, n) : S.decodeMrt6msg(this.#rbuf, n);
        if (!u) continue;
        const src = typeof u.src === "number" ? fromV4Number(u.src) : addrFromBytes(6, u.src);
        const group = typeof u.dst === "number" ? fromV4Number(u.dst) : addrFromBytes(6, u.dst);
        const type = u.type === S.IGMPMSG_NOCACHE
          ? "nocache"
          : u.type === S.IGMPMSG_WRONGVIF
          ? "wrongvif"
          : "other";
        onUpcall({ type, vif: u.vif, src, group });
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fd of this.#joinFds) libc.close(fd);
    try {
      libc.setsockoptInt(this.fd, this.#level, S.MRT_DONE, 1);
    } catch {
      // closing the socket does the same
    }
    libc.close(this.fd);
  }
}
