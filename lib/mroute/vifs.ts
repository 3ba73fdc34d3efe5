/**
 * VIF (IPv4) / MIF (IPv6) allocation by interface name. A VIF is created the first time a route
 * uses an interface (the kernel allows 32 per table), with VIFF_USE_IFINDEX so interfaces are
 * matched by index, not by address. Interfaces that vanish are forgotten so their routes can be
 * re-installed when they return.
 */
import { MAXVIFS, type VifCounters } from "../../ffi/mroute_structs.ts";
import { MppError } from "../errors.ts";
import type { Family } from "./addr.ts";
import { getInterface, type IfaceInfo, listInterfaceNames, unusableReason } from "./interfaces.ts";
import type { MrouteKernel } from "./kernel.ts";

/** smcroute-style wildcard: "eth+" stands for every interface whose name starts with "eth". */
export function isWildcard(name: string): boolean {
  return name.length > 1 && name.endsWith("+");
}

export function matchesName(pattern: string, name: string): boolean {
  return isWildcard(pattern) ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}

export interface Vif {
  vif: number;
  name: string;
  ifindex: number;
  threshold: number;
}

export interface PhyintSettings {
  enabled: boolean;
  threshold: number;
}

export class VifTable {
  readonly family: Family;
  #kernel: MrouteKernel;
  #byName = new Map<string, Vif>();
  #byIndex: Array<Vif | undefined> = new Array(MAXVIFS);
  phyints = new Map<string, PhyintSettings>();
  // Interface facts are cached briefly: a batch of 1,000 routes must not re-read sysfs 3,000 times.
  #cache = new Map<string, { info: IfaceInfo | null; at: number }>();
  #cacheMs = 1000;

  constructor(kernel: MrouteKernel) {
    this.#kernel = kernel;
    this.family = kernel.family;
  }

  get(name: string): Vif | undefined {
    return this.#byName.get(name);
  }

  byIndex(vif: number): Vif | undefined {
    return this.#byIndex[vif];
  }

  list(): Vif[] {
    return [...this.#byName.values()].sort((a, b) => a.vif - b.vif);
  }

  counters(v: Vif): VifCounters | null {
    return this.#kernel.vifCounters(v.vif);
  }

  /**
   * Checks that `name` can carry multicast for this family. Returns the interface, or null when it
   * does not exist (the caller decides whether that is pending or an error).
   */
  check(name: string): IfaceInfo | null {
    const p = this.phyints.get(name);
    if (p && !p.enabled) {
      throw new MppError(
        "bad_input",
        `interface ${name} is disabled in the configuration (phyint ${name} disable)`,
        "enable it in the config file and run 'mpp mroute reload'",
      );
    }
    const info = this.lookup(name);
    if (!info) return null;
    const why = unusableReason(info, this.family);
    if (why) {
      throw new MppError(
        "bad_input",
        why,
        why.includes("MULTICAST")
          ? `run: ip link set dev ${name} multicast on`
          : `give it an address: ip addr add ADDR/LEN dev ${name}`,
      );
    }
    return info;
  }

  /** The existing interfaces a wildcard stands for that can carry multicast (others are skipped). */
  expand(pattern: string): IfaceInfo[] {
    const out: IfaceInfo[] = [];
    for (const n of listInterfaceNames()) {
      if (!matchesName(pattern, n)) continue;
      const p = this.phyints.get(n);
      if (p && !p.enabled) continue;
      const info = this.lookup(n);
      if (info && unusableReason(info, this.family) === null) out.push(info);
    }
    return out;
  }

  lookup(name: string): IfaceInfo | null {
    const now = Date.now();
    const c = this.#cache.get(name);
    if (c && now - c.at < this.#cacheMs) return c.info;
    if (this.#cache.size > 4096) this.#cache.clear();
    const info = getInterface(name);
    this.#cache.set(name, { info, at: now });
    return info;
  }

  invalidate(): void {
    this.#cache.clear();
  }

  /** The VIF for an existing, usable interface, allocating it on first use. */
  acquire(info: IfaceInfo): Vif {
    const have = this.#byName.get(info.name);
    if (have && have.ifindex === info.ifindex) return have;
    if (have) this.#forget(have);
    let slot = -1;
    for (let i = 0; i < MAXVIFS; i++) {
      if (!this.#byIndex[i]) {
        slot = i;
        break;
      }
    }
    if (slot < 0) {
      throw new MppError(
        "busy",
        `no free ${
          this.family === 4 ? "VIF" : "MIF"
        } for ${info.name}: the kernel allows ${MAXVIFS} per table and all are in use`,
        "remove routes on unused interfaces, or route through another table (--table)",
      );
    }
    const threshold = this.phyints.get(info.name)?.threshold ?? 1;
    this.#kernel.addVif(slot, info.ifindex, threshold);
    const v: Vif = { vif: slot, name: info.name, ifindex: info.ifindex, threshold };
    this.#byName.set(info.name, v);
    this.#byIndex[slot] = v;
    return v;
  }

  /** Releases VIFs that no route uses any more. */
  release(inUse: Set<string>): void {
    for (const v of this.list()) {
      if (!inUse.has(v.name)) {
        this.#kernel.delVif(v.vif, v.ifindex);
        this.#forget(v);
      }
    }
  }

  /** Drops VIFs whose interface vanished or was re-created; returns their names. */
  sweep(): string[] {
    this.#cache.clear();
    const gone: string[] = [];
    for (const v of this.list()) {
      const info = getInterface(v.name);
      if (!info || info.ifindex !== v.ifindex) {
        this.#kernel.delVif(v.vif, v.ifindex);
        this.#forget(v);
        gone.push(v.name);
      }
    }
    return gone;
  }

  #forget(v: Vif): void {
    this.#byName.delete(v.name);
    if (this.#byIndex[v.vif] === v) this.#byIndex[v.vif] = undefined;
  }
}

export function unknownInterface(name: string): MppError {
  const names = listInterfaceNames();
  return new MppError(
    "bad_input",
    `unknown interface '${name}'`,
    `interfaces here: ${names.join(", ") || "(none)"}; or add with --allow-pending to wait for it`,
  );
}
