/**
 * Routes learned from (*,G) and prefix templates: the kernel reports each new (source, group) on a
 * VIF with a NOCACHE upcall and the matching template's (S,G) is installed; WRONGVIF moves a
 * source to a new inbound interface; idle learned routes expire. Bounded in number.
 */
import type { Addr, Family } from "./addr.ts";
import { prefixContains } from "./addr.ts";
import type { KernelUpcall } from "./kernel.ts";
import type { FamilyState, MrouteService, Rule } from "./service.ts";
import { isWildcard, matchesName } from "./vifs.ts";

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

/** Learned routes are bounded: spoofed sources must not grow the daemon (or the kernel MFC) without end. */
export const MAX_LEARNED = 8192;

function specificity(r: Rule): number {
  return r.grp.len * 1024 + (r.src?.len ?? 0) * 2 + (isWildcard(r.spec.iif) ? 0 : 1);
}

export class LearnedRoutes {
  readonly map = new Map<string, Learned>();
  #s: MrouteService;
  #lastFullWarning = 0;
  // Upcalls no rule matched, kept as long as the kernel keeps its unresolved entry (about 10 s):
  // the kernel sends no second upcall for them, so a template added meanwhile must look here.
  #unresolved = new Map<string, { family: Family; iif: string; src: Addr; grp: Addr; at: number }>();

  constructor(service: MrouteService) {
    this.#s = service;
  }

  onUpcall(family: Family, u: KernelUpcall): void {
    const fs = this.#s.fam.get(family);
    if (!fs) return;
    const vif = fs.vifs.byIndex(u.vif);
    if (!vif) return;
    const key = `${u.src.text}|${u.group.text}`;
    if (u.type === "nocache") {
      if (this.#s.rules.has(`X|${key}`) || this.map.has(key)) return;
      const rule = this.#match(family, vif.name, u.src, u.group);
      if (!rule) {
        this.#s.log.debug("no rule for new source", {
          iif: vif.name,
          source: u.src.text,
          group: u.group.text,
        });
        if (this.#unresolved.size >= 1024) this.#pruneUnresolved(0);
        this.#unresolved.set(key, { family, iif: vif.name, src: u.src, grp: u.group, at: Date.now() });
        return;
      }
      this.#learn(rule, fs, vif.name, u.src, u.group);
    } else if (u.type === "wrongvif") {
      const l = this.map.get(key);
      if (!l) {
        this.#s.log.debug("traffic on wrong interface", {
          iif: vif.name,
          source: u.src.text,
          group: u.group.text,
        });
        return;
      }
      const rule = this.#match(family, vif.name, u.src, u.group);
      if (!rule || l.iif === vif.name) return;
      // The source moved: re-learn it from the template that matches its new inbound interface.
      this.drop(l);
      this.#learn(rule, fs, vif.name, u.src, u.group);
      this.#s.log.info("learned route moved to a new inbound interface", {
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
  resolveWaiting(rule: Rule, fs: FamilyState): void {
    this.#pruneUnresolved(10_000);
    for (const [k, u] of this.#unresolved) {
      if (u.family !== rule.family || !matchesName(rule.spec.iif, u.iif) || this.map.has(k)) continue;
      if (!prefixContains(rule.grp, u.grp) || (rule.src && !prefixContains(rule.src, u.src))) continue;
      this.#unresolved.delete(k);
      this.#learn(rule, fs, u.iif, u.src, u.grp);
    }
  }

  #match(family: Family, iif: string, src: Addr, grp: Addr): Rule | undefined {
    let best: Rule | undefined;
    for (const r of this.#s.rules.values()) {
      if (!r.template || !r.installed || r.family !== family || !matchesName(r.spec.iif, iif)) continue;
      if (!prefixContains(r.grp, grp) || (r.src && !prefixContains(r.src, src))) continue;
      // The most specific rule wins: longest group prefix, then longest source prefix, then a
      // named inbound interface over a wildcard.
      if (!best || specificity(r) > specificity(best)) best = r;
    }
    return best;
  }

  /** Output VIFs of a rule for traffic that came in on `iif` (never back out of it). */
  #oifs(rule: Rule, fs: FamilyState, iif: string): number[] {
    const oifs: number[] = [];
    for (const n of rule.outs) {
      if (n === iif) continue;
      const v = fs.vifs.get(n);
      if (v) oifs.push(v.vif);
    }
    return oifs;
  }

  #learn(rule: Rule, fs: FamilyState, iif: string, src: Addr, grp: Addr): void {
    const parent = fs.vifs.get(iif)?.vif;
    if (parent === undefined) return;
    if (this.map.size >= MAX_LEARNED) {
      const now = Date.now();
      if (now - this.#lastFullWarning > 10_000) {
        this.#lastFullWarning = now;
        this.#s.log.warn("too many learned routes, new sources are not routed", {
          limit: MAX_LEARNED,
          source: src.text,
          group: grp.text,
        });
      }
      return;
    }
    const oifs = this.#oifs(rule, fs, iif);
    try {
      fs.kernel.addMfc(src, grp, parent, oifs);
    } catch (e) {
      this.#s.log.warn("could not install learned route", { source: src.text, group: grp.text, error: e });
      return;
    }
    const key = `${src.text}|${grp.text}`;
    this.map.set(key, {
      key,
      rule: rule.key,
      family: rule.family,
      src,
      grp,
      iif,
      parent,
      oifs,
      lastPackets: 0,
      since: Date.now(),
    });
    const outs = rule.outs.filter((n) => n !== iif);
    this.#s.events.publish("routes", { action: "learn", source: src.text, group: grp.text, iif, oifs: outs });
    this.#s.log.info("learned route", { iif, source: src.text, group: grp.text, oifs: outs });
  }

  /** Re-installs the routes learned from a rule after its interfaces changed. */
  refreshOf(rule: Rule, fs: FamilyState): void {
    for (const l of [...this.map.values()]) {
      if (l.rule !== rule.key) continue;
      const parent = fs.vifs.get(l.iif)?.vif;
      if (parent === undefined || !rule.ins.includes(l.iif)) {
        this.drop(l);
        continue;
      }
      l.parent = parent;
      l.oifs = this.#oifs(rule, fs, l.iif);
      fs.kernel.addMfc(l.src, l.grp, parent, l.oifs);
    }
  }

  drop(l: Learned): void {
    const fs = this.#s.fam.get(l.family);
    this.map.delete(l.key);
    try {
      fs?.kernel.delMfc(l.src, l.grp, l.parent);
    } catch (e) {
      this.#s.log.warn("could not remove learned route", { source: l.src.text, group: l.grp.text, error: e });
    }
  }

  dropOf(ruleKey: string): void {
    for (const l of [...this.map.values()]) if (l.rule === ruleKey) this.drop(l);
  }

  /** Removes learned routes that forwarded nothing since the last check. */
  expire(): number {
    let n = 0;
    const now = Date.now();
    for (const l of [...this.map.values()]) {
      const c = this.#s.fam.get(l.family)?.kernel.sgCounters(l.src, l.grp);
      const packets = c?.packets ?? 0;
      if (packets !== l.lastPackets) {
        l.lastPackets = packets;
        l.since = now;
        continue;
      }
      if (now - l.since < this.#s.cacheTimeoutMs) continue;
      this.drop(l);
      this.#s.events.publish("routes", { action: "expire", source: l.src.text, group: l.grp.text });
      this.#s.log.info("learned route expired", {
        source: l.src.text,
        group: l.grp.text,
        idleMs: now - l.since,
      });
      n++;
    }
    return n;
  }
}
