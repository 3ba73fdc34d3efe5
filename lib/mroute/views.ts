/**
 * What `show` and `status` return: plain, versioned JSON-able objects (the --json output) built
 * from the service state and the kernel counters.
 */
import { prefixText } from "./addr.ts";
import { listInterfaces } from "./interfaces.ts";
import type { MrouteService } from "./service.ts";

export interface RouteView {
  iif: string;
  source: string;
  group: string;
  oifs: string[];
  origin: "config" | "runtime" | "learned";
  state: "installed" | "template" | "pending";
  pending?: string[];
  packets?: number;
  bytes?: number;
  wrongIf?: number;
}

export function showRoutes(s: MrouteService): RouteView[] {
  const out: RouteView[] = [];
  for (const r of s.rules.values()) {
    const v: RouteView = {
      iif: r.spec.iif,
      source: r.src ? prefixText(r.src) : "*",
      group: prefixText(r.grp),
      oifs: r.spec.oifs,
      origin: r.origin,
      state: !r.installed ? "pending" : r.template ? "template" : "installed",
    };
    if (r.pending.length) v.pending = r.pending;
    if (r.installed && !r.template) {
      const c = s.fam.get(r.family)?.kernel.sgCounters(r.src!.addr, r.grp.addr);
      if (c) Object.assign(v, { packets: c.packets, bytes: c.bytes, wrongIf: c.wrongIf });
    }
    out.push(v);
  }
  for (const l of s.learned.values()) {
    const rule = s.rules.get(l.rule);
    const v: RouteView = {
      iif: l.iif,
      source: l.src.text,
      group: l.grp.text,
      oifs: (rule?.outs ?? []).filter((n) => n !== l.iif),
      origin: "learned",
      state: "installed",
    };
    const c = s.fam.get(l.family)?.kernel.sgCounters(l.src, l.grp);
    if (c) Object.assign(v, { packets: c.packets, bytes: c.bytes, wrongIf: c.wrongIf });
    out.push(v);
  }
  return out.sort((a, b) => a.group.localeCompare(b.group) || a.source.localeCompare(b.source));
}

export interface InterfaceView {
  name: string;
  ifindex: number;
  up: boolean;
  multicast: boolean;
  vif4: number | null;
  vif6: number | null;
  inPackets: number;
  outPackets: number;
  inBytes: number;
  outBytes: number;
}

export function showInterfaces(s: MrouteService): InterfaceView[] {
  const out: InterfaceView[] = [];
  for (const i of listInterfaces()) {
    const v: InterfaceView = {
      name: i.name,
      ifindex: i.ifindex,
      up: i.up,
      multicast: i.multicast,
      vif4: null,
      vif6: null,
      inPackets: 0,
      outPackets: 0,
      inBytes: 0,
      outBytes: 0,
    };
    for (const [f, fs] of s.fam) {
      const vif = fs.vifs.get(i.name);
      if (!vif) continue;
      if (f === 4) v.vif4 = vif.vif;
      else v.vif6 = vif.vif;
      const c = fs.vifs.counters(vif);
      if (c) {
        v.inPackets += c.inPackets;
        v.outPackets += c.outPackets;
        v.inBytes += c.inBytes;
        v.outBytes += c.outBytes;
      }
    }
    out.push(v);
  }
  return out;
}

export function showGroups(s: MrouteService) {
  return [...s.joins.values()].map((j) => ({
    iif: j.spec.iif,
    source: j.spec.source ?? "*",
    group: j.spec.group,
    origin: j.origin,
    state: j.pending ? "pending" : "joined",
  }));
}

export function showPending(s: MrouteService) {
  const out: Array<
    { kind: "route" | "join"; iif: string; source: string; group: string; waitingFor: string[] }
  > = [];
  for (const r of s.rules.values()) {
    if (!r.pending.length) continue;
    out.push({
      kind: "route",
      iif: r.spec.iif,
      source: r.spec.source ?? "*",
      group: r.spec.group,
      waitingFor: r.pending,
    });
  }
  for (const j of s.joins.values()) {
    if (j.pending) {
      out.push({
        kind: "join",
        iif: j.spec.iif,
        source: j.spec.source ?? "*",
        group: j.spec.group,
        waitingFor: [j.spec.iif],
      });
    }
  }
  return out;
}
