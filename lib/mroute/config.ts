/**
 * The configuration file, in an smcroute-like syntax or the same content as JSON:
 *
 *   # comment
 *   include /etc/mpp/mroute.d/*.conf
 *   phyint eth0 [enable|disable] [ttl-threshold TTL]
 *   mgroup from eth0 [source ADDR] group GROUP
 *   mroute from eth0 [source ADDR[/LEN]] group GROUP[/LEN] to eth1 [eth2 ...]
 *
 *   {"phyints":[{"name":"eth0","enable":true,"ttlThreshold":1}],
 *    "mgroups":[{"iif":"eth0","group":"239.1.1.1"}],
 *    "mroutes":[{"iif":"eth0","source":"10.0.0.1","group":"239.1.1.1","oifs":["eth1"]}]}
 *
 * Errors name the file and line. Only syntax is checked here; addresses are checked when applied.
 */
import { basename, dirname, join, resolve } from "node:path";
import { z } from "zod";
import { MppError } from "../errors.ts";
import { JoinSpec, RouteSpec } from "./spec.ts";

export const Phyint = z.object({
  name: z.string().min(1).max(15),
  enable: z.boolean().default(true),
  ttlThreshold: z.number().int().min(1).max(255).default(1),
});
export type Phyint = z.infer<typeof Phyint>;

export const ConfigJson = z.object({
  phyints: z.array(Phyint).default([]),
  mgroups: z.array(JoinSpec).default([]),
  mroutes: z.array(RouteSpec).default([]),
}).strict();

export interface Config {
  phyints: Phyint[];
  mgroups: JoinSpec[];
  mroutes: RouteSpec[];
  files: string[];
}

const MAX_INCLUDE_DEPTH = 8;

function bad(file: string, line: number, msg: string, hint = "see docs/mroute.md for the syntax"): MppError {
  return new MppError("bad_input", `${file}:${line}: ${msg}`, hint);
}

function expandInclude(pattern: string, from: string): string[] {
  const p = resolve(dirname(from), pattern);
  const base = basename(p);
  if (!base.includes("*") && !base.includes("?")) return [p];
  const re = new RegExp(
    "^" + base.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$",
  );
  const dir = dirname(p);
  const out: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) if (e.isFile && re.test(e.name)) out.push(join(dir, e.name));
  } catch {
    // a missing include directory matches nothing, as with a shell glob
  }
  return out.sort();
}

export function loadConfig(path: string): Config {
  const cfg: Config = { phyints: [], mgroups: [], mroutes: [], files: [] };
  readInto(resolve(path), cfg, 0, []);
  return cfg;
}

function readInto(file: string, cfg: Config, depth: number, stack: string[]): void {
  if (stack.includes(file)) {
    throw new MppError(
      "bad_input",
      `${file}: include loop (${[...stack, file].join(" -> ")})`,
      "remove the circular include",
    );
  }
  if (depth > MAX_INCLUDE_DEPTH) {
    throw new MppError(
      "bad_input",
      `${file}: includes nested deeper than ${MAX_INCLUDE_DEPTH}`,
      "flatten the includes",
    );
  }
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (e) {
    throw new MppError(
      e instanceof Deno.errors.NotFound ? "not_found" : "io",
      `cannot read config file ${file}: ${(e as Error).message.split("\n")[0]}`,
      "check the path given with --config",
    );
  }
  cfg.files.push(file);
  if (file.endsWith(".json") || text.trimStart().startsWith("{")) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new MppError(
        "bad_input",
        `${file}: not valid JSON (${(e as Error).message.split("\n")[0]})`,
        "fix the JSON syntax",
      );
    }
    const r = ConfigJson.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new MppError(
        "bad_input",
        `${file}: ${i.path.join(".")}: ${i.message}`,
        "see docs/mroute.md for the JSON form",
      );
    }
    cfg.phyints.push(...r.data.phyints);
    cfg.mgroups.push(...r.data.mgroups);
    cfg.mroutes.push(...r.data.mroutes);
    return;
  }
  const lines = text.split("\n");
  for (let n = 1; n <= lines.length; n++) {
    const words = lines[n - 1].replace(/#.*$/, "").trim().split(/\s+/).filter((w) => w.length > 0);
    if (words.length === 0) continue;
    const kw = words[0];
    if (kw === "include") {
      if (words.length !== 2) throw bad(file, n, "include takes one path or glob");
      for (const f of expandInclude(words[1], file)) readInto(f, cfg, depth + 1, [...stack, file]);
    } else if (kw === "phyint") {
      if (words.length < 2) throw bad(file, n, "phyint needs an interface name");
      const p: Phyint = { name: words[1], enable: true, ttlThreshold: 1 };
      for (let i = 2; i < words.length; i++) {
        const w = words[i];
        if (w === "enable") p.enable = true;
        else if (w === "disable") p.enable = false;
        else if (w === "mrdisc") continue; // accepted for smcroute compatibility; mpp does not send RFC 4286 adverts
        else if (w === "ttl-threshold") {
          const v = Number(words[++i]);
          if (!Number.isInteger(v) || v < 1 || v > 255) {
            throw bad(file, n, `ttl-threshold needs 1..255, got '${words[i] ?? ""}'`);
          }
          p.ttlThreshold = v;
        } else throw bad(file, n, `unknown phyint option '${w}'`);
      }
      cfg.phyints.push(p);
    } else if (kw === "mgroup" || kw === "mroute") {
      const kv = parseFromGroup(words, file, n, kw === "mroute");
      if (kw === "mgroup") {
        cfg.mgroups.push(
          kv.source ? { iif: kv.iif, source: kv.source, group: kv.group } : { iif: kv.iif, group: kv.group },
        );
      } else {cfg.mroutes.push(
          kv.source
            ? { iif: kv.iif, source: kv.source, group: kv.group, oifs: kv.oifs }
            : { iif: kv.iif, group: kv.group, oifs: kv.oifs },
        );}
    } else {
      throw bad(file, n, `unknown keyword '${kw}'`, "expected include, phyint, mgroup or mroute");
    }
  }
}

function parseFromGroup(words: string[], file: string, n: number, route: boolean) {
  let iif: string | undefined, source: string | undefined, group: string | undefined;
  const oifs: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    const next = () => {
      const v = words[++i];
      if (v === undefined) throw bad(file, n, `'${w}' needs a value`);
      return v;
    };
    if (w === "from") iif = next();
    else if (w === "source") source = next();
    else if (w === "group") group = next();
    else if (w === "to" && route) {
      oifs.push(...words.slice(i + 1));
      break;
    } else throw bad(file, n, `unexpected '${w}'`);
  }
  if (!iif) throw bad(file, n, `${words[0]} needs 'from IFNAME'`);
  if (!group) throw bad(file, n, `${words[0]} needs 'group ADDR'`);
  if (route && oifs.length === 0) throw bad(file, n, "mroute needs 'to OIF [OIF ...]'");
  return { iif, source, group, oifs };
}
