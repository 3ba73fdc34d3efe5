/**
 * Network interfaces by name: index, flags and addresses, read from /sys/class/net and
 * Deno.networkInterfaces() (no netlink socket needed). Used to validate routes and to activate
 * pending interfaces when they appear.
 */
import type { Family } from "./addr.ts";

export const IFF_UP = 0x1;
export const IFF_MULTICAST = 0x1000;

export interface IfaceInfo {
  name: string;
  ifindex: number;
  flags: number;
  up: boolean;
  multicast: boolean;
  v4: string[];
  v6: string[];
}

function readNum(path: string): number | null {
  try {
    const t = Deno.readTextFileSync(path).trim();
    return t.startsWith("0x") ? parseInt(t, 16) : Number(t);
  } catch {
    return null;
  }
}

export function listInterfaceNames(): string[] {
  const names: string[] = [];
  try {
    for (const e of Deno.readDirSync("/sys/class/net")) names.push(e.name);
  } catch {
    // no sysfs: nothing to list
  }
  return names.sort();
}

export function getInterface(name: string, addrs = Deno.networkInterfaces()): IfaceInfo | null {
  if (!/^[^/\s]{1,15}$/.test(name) || name === "." || name === "..") return null;
  const ifindex = readNum(`/sys/class/net/${name}/ifindex`);
  const flags = readNum(`/sys/class/net/${name}/flags`);
  if (ifindex === null || flags === null) return null;
  const v4: string[] = [];
  const v6: string[] = [];
  for (const a of addrs) {
    if (a.name !== name) continue;
    (a.family === "IPv4" ? v4 : v6).push(a.address);
  }
  return {
    name,
    ifindex,
    flags,
    up: (flags & IFF_UP) !== 0,
    multicast: (flags & IFF_MULTICAST) !== 0,
    v4,
    v6,
  };
}

export function listInterfaces(): IfaceInfo[] {
  const addrs = Deno.networkInterfaces();
  const out: IfaceInfo[] = [];
  for (const n of listInterfaceNames()) {
    const i = getInterface(n, addrs);
    if (i) out.push(i);
  }
  return out;
}

/** Why an interface cannot carry multicast routes for a family, or null when it can. */
export function unusableReason(i: IfaceInfo, family: Family): string | null {
  if (!i.multicast) return `interface ${i.name} does not have the MULTICAST flag`;
  if (family === 4 && i.v4.length === 0) return `interface ${i.name} has no IPv4 address`;
  return null;
}
