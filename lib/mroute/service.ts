/**
 * The multicast routing service: rules ((S,G) routes and (*,G)/prefix templates), routes learned
 * from kernel upcalls, memberships, and the pending list for interfaces that do not exist yet.
 * Every change is validated completely before the kernel is touched, so a bad request leaves the
 * routing state as it was.
 */
import { MppError } from "../errors.ts";
import type { EventBus } from "../command/events.ts";
import type { Logger } from "../log/logger.ts";
import { type Addr, type Family, prefixContains, prefixText } from "./addr.ts";
import type { KernelUpcall, MrouteKernel } from "./kernel.ts";
import {
  type JoinSpec,
  type ParsedJoin,
  type ParsedRoute,
  parseJoin,
  parseRoute,
  type RouteSpec,
} from "./spec.ts";
import { unknownInterface, VifTable } from "./vifs.ts";

export type Origin = "config" | "runtime";

export interface Rule extends ParsedRoute {
  origin: Origin;
  /** Interfaces the rule names that do not exist yet. */
  pending: string[];
  installed: boolean;
}

export interface Learned {
  key: string;
  rule: string;
  family: Family;
  src: Addr;
  grp: Addr;
  iif: string;
  parent: number;
  oifs: number[];
  lastPackets: number;
  since: number;
}

export interface Membership extends ParsedJoin {
  origin: Origin;
  pending: boolean;
}

interface FamilyState {
  kernel: MrouteKernel;
  vifs: VifTable;
}

/** Learned routes are bounded: spoofed sources must not grow the daemon (or the kernel MFC) without end. */
export const MAX_LEARNED = 8192;

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
  readonly learned = new Map<string, Learned>();
  readonly joins = new Map<string, Membership>();
  // Upcalls no rule matched, kept as long as the kernel keeps its unresolved entry (about 10 s):
  // the kernel sends no second upcall for them, so a template added meanwhile must look here.
  #lastFullWarning = 0;
  #unresolved = new Map<string, { family: Family; iif: string; src: Addr; grp: Addr; at: number }>();
  readonly log: Logger;
  readonly events: EventBus;
  cacheTimeoutMs: number;
  #onChange: () => Promise<void>;

  constructor(o: ServiceOptions) {
    for (const k of o.kernels) this.fam.set(k.family, { kernel: k, vifs: new VifTable(k) });
    this.log = o.log;
    this.events = o.events;
    this.cacheTimeoutMs = o.cacheTimeoutMs;
    this.#onChange = o.onChange ?? (() => Promise.resolve());
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
      if (!fs.vifs.check(n) && !allowPending) throw unknownInterface(n);
    }
    const rule: Rule = {
      ...p,
      origin: old?.origin === "config" && origin === "runtime" ? "runtime" : origin,
      pending: [],
      installed: false,
    };
    try {
      this.#install(rule, fs);
    } catch (e) {
      this.#releaseVifs(fs);
      throw e;
    }
    if (old && old.spec.iif !== rule.spec.iif && old.template) this.#dropLearnedOf(old.key);
    this.rules.set(rule.key, rule);
    if (rule.template && rule.installed) this.#resolveWaiting(rule, fs);
    this.events.publish("routes", { action: "add", route: rule.spec, origin: rule.origin });
    this.log.info("route added", {
      ...rule.spec,
      origin: rule.origin,
      pending: rule.pending.length ? rule.pending : undefined,
    });
    return rule;
  }

  #install(rule: Rule, fs: FamilyState): void {
    const iif = fs.vifs.check(rule.spec.iif);
    rule.pending = [];
    if (!iif) rule.pending.push(rule.spec.iif);
    const present = [];
    for (const n of rule.spec.oifs) {
      const info = fs.vifs.check(n);
      if (info) present.push(info);
      else rule.pending.push(n);
    }
    if (!iif) {
      if (rule.installed && !rule.template) fs.kernel.delMfc(rule.src!.addr, rule.grp.addr, 0);
      rule.installed = false;
      return;
    }
    const parent = fs.vifs.acquire(iif).vif;
    const oifs = present.map((i) => fs.vifs.acquire(i).vif);
    if (!rule.template) fs.kernel.addMfc(rule.src!.addr, rule.grp.addr, parent, oifs);
    else this.#refreshLearnedOf(rule, fs, parent, oifs);
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
        installed: false,
      };
      this.#install(next, fs);
      this.rules.set(next.key, next);
      this.#releaseVifs(fs);
      this.events.publish("routes", { action: "update", route: next.spec });
      this.log.info("route outputs removed", { ...next.spec, removed: remove });
      return next;
    }
    if (rule.template) this.#dropLearnedOf(rule.key);
    else if (rule.installed) fs.kernel.delMfc(rule.src!.addr, rule.grp.addr, 0);
    this.rules.delete(rule.key);
    this.#releaseVifs(fs);
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
    for (const l of [...this.learned.values()]) this.#dropLearned(l);
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

  // ---- upcalls and learned routes ----

  onUpcall(family: Family, u: KernelUpcall): void {
    const fs = this.fam.get(family);
    if (!fs) return;
    const vif = fs.vifs.byIndex(u.vif);
    if (!vif) return;
    const key = `${u.src.text}|${u.group.text}`;
    if (u.type === "nocache") {
      if (this.rules.has(`X|${key}`) || this.learned.has(key)) return;
      const rule = this.#matchTemplate(family, vif.name, u.src, u.group);
      if (!rule) {
        this.log.debug("no rule for new source", { iif: vif.name, source: u.src.text, group: u.group.text });
        if (this.#unresolved.size >= 1024) this.#pruneUnresolved(0);
        this.#unresolved.set(key, { family, iif: vif.name, src: u.src, grp: u.group, at: Date.now() });
        return;
      }
      this.#learn(rule, fs, u.src, u.group);
    } else if (u.type === "wrongvif") {
      const l = this.learned.get(key);
      if (!l) {
        this.log.debug("traffic on wrong interface", {
          iif: vif.name,
          source: u.src.text,
          group: u.group.text,
        });
        return;
      }
      const rule = this.#matchTemplate(family, vif.name, u.src, u.group);
      if (!rule || rule.spec.iif === l.iif) return;
      // The source moved: re-learn it from the template that matches its new inbound interface.
      this.#dropLearned(l);
      this.#learn(rule, fs, u.src, u.group);
      this.log.info("learned route moved to a new inbound interface", {
        source: u.src.text,
        group: u.group.text,
        iif: vif.name,
      });
    }
  }

  #pruneUnresolved(maxAgeMs: number): void {
    const now = Date.now();
    for (const [k, u] of this.#unresolved) if (now - u.at >= maxAgeMs) this.#unresolved.delete(k);
  }

  /** Learns sources the kernel is still holding packets for, now that a template matches them. */
  #resolveWaiting(rule: Rule, fs: FamilyState): void {
    this.#pruneUnresolved(10_000);
    for (const [k, u] of this.#unresolved) {
      if (u.family !== rule.family || u.iif !== rule.spec.iif || this.learned.has(k)) continue;
      if (!prefixContains(rule.grp, u.grp) || (rule.src && !prefixContains(rule.src, u.src))) continue;
      this.#unresolved.delete(k);
      this.#learn(rule, fs, u.src, u.grp);
    }
  }

  #matchTemplate(family: Family, iif: string, src: Addr, grp: Addr): Rule | undefined {
    let best: Rule | undefined;
    for (const r of this.rules.values()) {
      if (!r.template || !r.installed || r.family !== family || r.spec.iif !== iif) continue;
      if (!prefixContains(r.grp, grp) || (r.src && !prefixContains(r.src, src))) continue;
      // The most specific rule wins (longest group prefix, then longest source prefix).
      if (
        !best || r.grp.len > best.grp.len ||
        (r.grp.len === best.grp.len && (r.src?.len ?? 0) > (best.src?.len ?? 0))
      ) best = r;
    }
    return best;
  }

  #learn(rule: Rule, fs: FamilyState, src: Addr, grp: Addr): void {
    const parent = fs.vifs.get(rule.spec.iif)?.vif;
    if (parent === undefined) return;
    if (this.learned.size >= MAX_LEARNED) {
      const now = Date.now();
      if (now - this.#lastFullWarning > 10_000) {
        this.#lastFullWarning = now;
        this.log.warn("too many learned routes, new sources are not routed", {
          limit: MAX_LEARNED,
          source: src.text,
          group: grp.text,
        });
      }
      return;
    }
    const oifs: number[] = [];
    for (const n of rule.spec.oifs) {
      const v = fs.vifs.get(n);
      if (v) oifs.push(v.vif);
    }
    try {
      fs.kernel.addMfc(src, grp, parent, oifs);
    } catch (e) {
      this.log.warn("could not install learned route", { source: src.text, group: grp.text, error: e });
      return;
    }
    const key = `${src.text}|${grp.text}`;
    this.learned.set(key, {
      key,
      rule: rule.key,
      family: rule.family,
      src,
      grp,
      iif: rule.spec.iif,
      parent,
      oifs,
      lastPackets: 0,
      since: Date.now(),
    });
    this.events.publish("routes", {
      action: "learn",
      source: src.text,
      group: grp.text,
      iif: rule.spec.iif,
      oifs: rule.spec.oifs,
    });
    this.log.info("learned route", {
      iif: rule.spec.iif,
      source: src.text,
      group: grp.text,
      oifs: rule.spec.oifs,
    });
  }

  #refreshLearnedOf(rule: Rule, fs: FamilyState, parent: number, oifs: number[]): void {
    for (const l of this.learned.values()) {
      if (l.rule !== rule.key) continue;
      l.parent = parent;
      l.oifs = oifs;
      fs.kernel.addMfc(l.src, l.grp, parent, oifs);
    }
  }

  #dropLearned(l: Learned): void {
    const fs = this.fam.get(l.family);
    this.learned.delete(l.key);
    try {
      fs?.kernel.delMfc(l.src, l.grp, l.parent);
    } catch (e) {
      this.log.warn("could not remove learned route", { source: l.src.text, group: l.grp.text, error: e });
    }
  }

  #dropLearnedOf(ruleKey: string): void {
    for (const l of [...this.learned.values()]) if (l.rule === ruleKey) this.#dropLearned(l);
  }

  /** Removes learned routes that forwarded nothing since the last check. */
  expireLearned(): number {
    let n = 0;
    const now = Date.now();
    for (const l of [...this.learned.values()]) {
      const c = this.fam.get(l.family)?.kernel.sgCounters(l.src, l.grp);
      const packets = c?.packets ?? 0;
      if (packets !== l.lastPackets) {
        l.lastPackets = packets;
        l.since = now;
        continue;
      }
      if (now - l.since < this.cacheTimeoutMs) continue;
      this.#dropLearned(l);
      this.events.publish("routes", { action: "expire", source: l.src.text, group: l.grp.text });
      this.log.info("learned route expired", {
        source: l.src.text,
        group: l.grp.text,
        idleMs: now - l.since,
      });
      n++;
    }
    return n;
  }

  // ---- interfaces that come and go ----

  /** Installs rules and joins whose interfaces appeared; re-pends those whose interfaces vanished. */
  checkInterfaces(): void {
    for (const [f, fs] of this.fam) {
      const gone = new Set(fs.vifs.sweep());
      for (const r of this.rules.values()) {
        if (r.family !== f) continue;
        const touched = r.pending.length > 0 || [r.spec.iif, ...r.spec.oifs].some((n) => gone.has(n));
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

  #releaseVifs(fs: FamilyState): void {
    const used = new Set<string>();
    for (const r of this.rules.values()) {
      if (r.family !== fs.vifs.family) continue;
      used.add(r.spec.iif);
      for (const o of r.spec.oifs) used.add(o);
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
