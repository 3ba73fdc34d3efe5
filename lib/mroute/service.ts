/**
 * The multicast routing service: rules ((S,G) routes and (*,G)/prefix templates), routes learned
 * from kernel upcalls, memberships, and the pending list for interfaces that do not exist yet.
 * Every change is validated completely before the kernel is touched, so a bad request leaves the
 * routing state as it was.
 */
import { MppError } from "../errors.ts";
import type { EventBus } from "../command/events.ts";
import type { Logger } from "../log/logger.ts";
import { type Family, prefixText } from "./addr.ts";
import type { KernelUpcall, MrouteKernel } from "./kernel.ts";
import {
  type JoinSpec,
  type ParsedJoin,
  type ParsedRoute,
  parseJoin,
  parseRoute,
  type RouteSpec,
} from "./spec.ts";
import { type Learned, LearnedRoutes } from "./learning.ts";
import type { IfaceInfo } from "./interfaces.ts";
import { listInterfaceNames } from "./interfaces.ts";
import { isWildcard, unknownInterface, VifTable } from "./vifs.ts";

export type Origin = "config" | "runtime";

export interface Rule extends ParsedRoute {
  origin: Origin;
  /** Interfaces the rule names that do not exist yet. */
  pending: string[];
  installed: boolean;
  /** Inbound and outbound interfaces in use (wildcards expanded), as installed. */
  ins: string[];
  outs: string[];
}

export interface Membership extends ParsedJoin {
  origin: Origin;
  pending: boolean;
}

export interface FamilyState {
  kernel: MrouteKernel;
  vifs: VifTable;
}

export interface ServiceOptions {
  kernels: MrouteKernel[];
  log: Logger;
  events: EventBus;
  /** Learned routes without traffic for this long are removed. */
  cacheTimeoutMs: number;
  /** Called after every change to runtime state (persistence). */
  onChange?: () => Promise<void>;
}

export class MrouteService {
  readonly fam = new Map<Family, FamilyState>();
  readonly rules = new Map<string, Rule>();
  readonly learning: LearnedRoutes;
  readonly joins = new Map<string, Membership>();
  readonly log: Logger;
  readonly events: EventBus;
  cacheTimeoutMs: number;
  #onChange: () => Promise<void>;
  #lastNames = "";

  constructor(o: ServiceOptions) {
    for (const k of o.kernels) this.fam.set(k.family, { kernel: k, vifs: new VifTable(k) });
    this.log = o.log;
    this.events = o.events;
    this.cacheTimeoutMs = o.cacheTimeoutMs;
    this.#onChange = o.onChange ?? (() => Promise.resolve());
    this.learning = new LearnedRoutes(this);
  }

  get learned(): Map<string, Learned> {
    return this.learning.map;
  }

  #family(f: Family): FamilyState {
    const s = this.fam.get(f);
    if (!s) {
      throw new MppError(
        "bad_input",
        `this daemon does not route IPv${f}`,
        f === 6 ? "start the daemon with -6 to route IPv6" : "start a daemon without -6 for IPv4",
      );
    }
    return s;
  }

  setOnChange(fn: () => Promise<void>): void {
    this.#onChange = fn;
  }

  changed(origin: Origin): Promise<void> {
    return origin === "runtime" ? this.#onChange() : Promise.resolve();
  }

  /** Adds a route, merging outputs into an existing route with the same (S,G) and input. */
  addRoute(spec: RouteSpec, origin: Origin, allowPending: boolean): Rule {
    const p = parseRoute(spec, true);
    const fs = this.#family(p.family);
    const old = this.rules.get(p.key);
    if (old && old.spec.iif === p.spec.iif) {
      p.spec.oifs = [...new Set([...old.spec.oifs, ...p.spec.oifs])].sort();
    }
    const names = [p.spec.iif, ...p.spec.oifs];
    for (const n of names) {
      if (!isWildcard(n) && !fs.vifs.check(n) && !allowPending) throw unknownInterface(n);
    }
    const rule: Rule = {
      ...p,
      origin: old?.origin === "config" && origin === "runtime" ? "runtime" : origin,
      pending: [],
      installed: false,
      ins: [],
      outs: [],
    };
    try {
      this.#install(rule, fs);
    } catch (e) {
      this.#releaseLater(fs);
      throw e;
    }
    if (old && old.spec.iif !== rule.spec.iif && old.template) this.learning.dropOf(old.key);
    this.rules.set(rule.key, rule);
    if (rule.template && rule.installed) this.learning.resolveWaiting(rule, fs);
    this.events.publish("routes", { action: "add", route: rule.spec, origin: rule.origin });
    this.log.info("route added", {
      ...rule.spec,
      origin: rule.origin,
      pending: rule.pending.length ? rule.pending : undefined,
    });
    return rule;
  }

  #install(rule: Rule, fs: FamilyState): void {
    rule.pending = [];
    let ins: IfaceInfo[];
    if (isWildcard(rule.spec.iif)) ins = fs.vifs.expand(rule.spec.iif);
    else {
      const info = fs.vifs.check(rule.spec.iif);
      ins = info ? [info] : [];
      if (!info) rule.pending.push(rule.spec.iif);
    }
    const inNames = new Set(ins.map((i) => i.name));
    const present = new Map<string, IfaceInfo>();
    for (const n of rule.spec.oifs) {
      if (isWildcard(n)) {
        for (const i of fs.vifs.expand(n)) if (!inNames.has(i.name)) present.set(i.name, i);
        continue;
      }
      const info = fs.vifs.check(n);
      if (info) present.set(n, info);
      else rule.pending.push(n);
    }
    if (ins.length === 0) {
      if (rule.installed && !rule.template) fs.kernel.delMfc(rule.src!.addr, rule.grp.addr, 0);
      rule.installed = false;
      rule.ins = [];
      rule.outs = [];
      return;
    }
    const parent = fs.vifs.acquire(ins[0]).vif;
    for (let i = 1; i < ins.length; i++) fs.vifs.acquire(ins[i]);
    const oifs = [...present.values()].map((i) => fs.vifs.acquire(i).vif);
    rule.ins = [...inNames];
    rule.outs = [...present.keys()];
    if (!rule.template) fs.kernel.addMfc(rule.src!.addr, rule.grp.addr, parent, oifs);
    else this.learning.refreshOf(rule, fs);
    rule.installed = true;
  }

  /** Removes a route, or only the named outputs of it. */
  delRoute(spec: { iif?: string; source?: string; group: string; oifs?: string[] }, origin: Origin): Rule {
    const p = parseRoute({ iif: spec.iif ?? "*", source: spec.source, group: spec.group, oifs: [] }, false);
    let rule = this.rules.get(p.key);
    if (!rule && p.template && spec.iif === undefined) {
      rule = [...this.rules.values()].find((r) =>
        r.template && r.key.endsWith(p.key.slice(p.key.indexOf("|", 2)))
      );
    }
    const what = `(${p.spec.source ?? "*"}, ${p.spec.group})`;
    if (!rule) {
      throw new MppError("not_found", `no route ${what}`, "list the routes with: mpp mroute show routes");
    }
    if (spec.iif !== undefined && spec.iif !== rule.spec.iif) {
      throw new MppError(
        "bad_input",
        `route ${what} comes in on ${rule.spec.iif}, not ${spec.iif}`,
        `use: mpp mroute del ${rule.spec.iif} ...`,
      );
    }
    const fs = this.#family(rule.family);
    const remove = spec.oifs ?? [];
    const unknown = remove.filter((o) => !rule!.spec.oifs.includes(o));
    if (unknown.length) {
      throw new MppError(
        "bad_input",
        `route ${what} does not send to ${unknown.join(", ")}`,
        `its outputs are: ${rule.spec.oifs.join(", ")}`,
      );
    }
    const left = rule.spec.oifs.filter((o) => !remove.includes(o));
    if (remove.length > 0 && left.length > 0) {
      const next: Rule = {
        ...rule,
        spec: { ...rule.spec, oifs: left },
        origin,
        pending: [],
        installed: rule.installed,
      };
      this.#install(next, fs);
      this.rules.set(next.key, next);
      this.#releaseLater(fs);
      this.events.publish("routes", { action: "update", route: next.spec });
      this.log.info("route outputs removed", { ...next.spec, removed: remove });
      return next;
    }
    if (rule.template) this.learning.dropOf(rule.key);
    else if (rule.installed) fs.kernel.delMfc(rule.src!.addr, rule.grp.addr, 0);
    this.rules.delete(rule.key);
    this.#releaseLater(fs);
    this.events.publish("routes", { action: "del", route: rule.spec });
    this.log.info("route removed", { ...rule.spec });
    return rule;
  }

  join(spec: JoinSpec, origin: Origin, allowPending: boolean): Membership {
    const p = parseJoin(spec);
    const fs = this.#family(p.family);
    if (this.joins.has(p.key)) return this.joins.get(p.key)!;
    const info = fs.vifs.check(p.spec.iif);
    if (!info && !allowPending) throw unknownInterface(p.spec.iif);
    if (info) fs.kernel.membership(true, info.ifindex, p.grp.addr, p.src?.addr);
    const m: Membership = { ...p, origin, pending: !info };
    this.joins.set(p.key, m);
    this.log.info("joined group", { ...p.spec, pending: m.pending || undefined });
    return m;
  }

  leave(spec: JoinSpec): Membership {
    const p = parseJoin(spec);
    const m = this.joins.get(p.key);
    if (!m) {
      throw new MppError(
        "not_found",
        `not joined to ${
          p.spec.source ? `(${p.spec.source}, ${p.spec.group})` : p.spec.group
        } on ${p.spec.iif}`,
        "list memberships with: mpp mroute show groups",
      );
    }
    const fs = this.#family(p.family);
    const info = fs.vifs.check(p.spec.iif);
    if (info && !m.pending) {
      try {
        fs.kernel.membership(false, info.ifindex, p.grp.addr, p.src?.addr);
      } catch (e) {
        this.log.warn("leave failed", { ...p.spec, error: e });
      }
    }
    this.joins.delete(p.key);
    this.log.info("left group", { ...p.spec });
    return m;
  }

  /** Removes learned routes (default) or every route and membership of an origin. */
  flush(all: boolean): { routes: number; learned: number; joins: number } {
    const n = { routes: 0, learned: this.learned.size, joins: 0 };
    for (const l of [...this.learned.values()]) this.learning.drop(l);
    if (all) {
      for (const r of [...this.rules.values()]) {
        if (r.origin !== "runtime") continue;
        this.delRoute({ iif: r.spec.iif, source: r.spec.source, group: r.spec.group }, "runtime");
        n.routes++;
      }
      for (const j of [...this.joins.values()]) {
        if (j.origin !== "runtime") continue;
        this.leave(j.spec);
        n.joins++;
      }
    }
    this.events.publish("routes", { action: "flush", ...n });
    return n;
  }

  onUpcall(family: Family, u: KernelUpcall): void {
    this.learning.onUpcall(family, u);
  }

  expireLearned(): number {
    return this.learning.expire();
  }

  // ---- interfaces that come and go ----

  /** Installs rules and joins whose interfaces appeared; re-pends those whose interfaces vanished. */
  checkInterfaces(): void {
    // Wildcard rules follow the set of interfaces: re-expand them when it changes.
    const names = listInterfaceNames().join(",");
    const namesChanged = names !== this.#lastNames;
    this.#lastNames = names;
    for (const [f, fs] of this.fam) {
      const gone = new Set(fs.vifs.sweep());
      for (const r of this.rules.values()) {
        if (r.family !== f) continue;
        const wild = namesChanged && (isWildcard(r.spec.iif) || r.spec.oifs.some(isWildcard));
        const touched = wild || r.pending.length > 0 || [...r.ins, ...r.outs].some((n) => gone.has(n));
        if (!touched) continue;
        const before = r.pending.join(",");
        try {
          this.#install(r, fs);
        } catch (e) {
          this.log.warn("could not install route", { ...r.spec, error: e });
          continue;
        }
        if (r.pending.join(",") !== before) {
          this.log.info(r.pending.length ? "route waits for interfaces" : "pending route activated", {
            ...r.spec,
            pending: r.pending,
          });
          this.events.publish("routes", { action: "pending", route: r.spec, pending: r.pending });
        }
      }
      for (const j of this.joins.values()) {
        if (j.family !== f || !j.pending) continue;
        try {
          const info = fs.vifs.check(j.spec.iif);
          if (!info) continue;
          fs.kernel.membership(true, info.ifindex, j.grp.addr, j.src?.addr);
          j.pending = false;
          this.log.info("pending membership activated", { ...j.spec });
        } catch (e) {
          this.log.warn("could not join", { ...j.spec, error: e });
        }
      }
    }
  }

  hasPending(): boolean {
    for (const r of this.rules.values()) if (r.pending.length) return true;
    for (const j of this.joins.values()) if (j.pending) return true;
    return false;
  }

  // Releasing scans every rule, so it runs once after a burst of changes (a batch of 500 deletes)
  // instead of once per change.
  #releaseQueued = new Set<FamilyState>();

  #releaseLater(fs: FamilyState): void {
    if (this.#releaseQueued.size === 0) {
      queueMicrotask(() => {
        for (const f of this.#releaseQueued) {
          try {
            this.#releaseVifs(f);
          } catch (e) {
            this.log.warn("could not release VIFs", { error: e });
          }
        }
        this.#releaseQueued.clear();
      });
    }
    this.#releaseQueued.add(fs);
  }

  #releaseVifs(fs: FamilyState): void {
    const used = new Set<string>();
    for (const r of this.rules.values()) {
      if (r.family !== fs.vifs.family) continue;
      for (const n of r.ins) used.add(n);
      for (const n of r.outs) used.add(n);
    }
    fs.vifs.release(used);
  }

  runtimeState(): { routes: RouteSpec[]; joins: JoinSpec[] } {
    return {
      routes: [...this.rules.values()].filter((r) => r.origin === "runtime").map((r) => r.spec),
      joins: [...this.joins.values()].filter((j) => j.origin === "runtime").map((j) => j.spec),
    };
  }

  describeRule(r: Rule): string {
    return `(${r.src ? prefixText(r.src) : "*"}, ${prefixText(r.grp)})`;
  }

  close(): void {
    for (const fs of this.fam.values()) fs.kernel.close();
  }
}
