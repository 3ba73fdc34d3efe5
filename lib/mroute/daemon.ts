/**
 * `mpp mroute daemon`: owns the kernel's multicast routing socket(s), applies the config file and
 * the persisted run-time state, serves the IPC socket, reads kernel upcalls and runs the timers for
 * pending interfaces and learned-route expiry. Stopping closes the routing sockets, which makes the
 * kernel drop every route (that is how Linux multicast routing works).
 */
import { EventBus } from "../command/events.ts";
import { loadPlugins } from "../command/plugins.ts";
import { Registry } from "../command/registry.ts";
import { MppError } from "../errors.ts";
import { IpcServer } from "../ipc/server.ts";
import { claimSocketPath, ioError, resolveGroup } from "../ipc/socket_path.ts";
import { dropPrivileges } from "../../ffi/libc.ts";
import { dirname } from "node:path";
import type { Logger } from "../log/logger.ts";
import { VERSION } from "../version.ts";
import type { Family } from "./addr.ts";
import { mrouteCommands } from "./commands.ts";
import { type Config, loadConfig } from "./config.ts";
import { MrouteKernel } from "./kernel.ts";
import { MrouteService, type Origin } from "./service.ts";
import { loadState, StateWriter } from "./state.ts";
import { parseJoin, parseRoute } from "./spec.ts";

export interface DaemonOptions {
  socket: string;
  config?: string;
  stateFile: string;
  persist: boolean;
  table: number;
  ipv6: boolean;
  cacheTimeoutSec: number;
  socketGroup?: string;
  pluginsDir?: string;
  /** USER[:GROUP] to switch to once the routing socket is open (like smcrouted -p). */
  user?: string;
  /** Written with the daemon's pid at start and removed at stop (like smcrouted -P). */
  pidFile?: string;
  log: Logger;
  /** Interval of the pending-interface check; default 1000 ms. */
  ifaceCheckMs?: number;
}

export interface ApplyReport {
  added: number;
  removed: number;
  unchanged: number;
  errors: string[];
}

/** USER[:GROUP] → ids, from /etc/passwd (and /etc/group for an explicit group). */
export function resolveUser(spec: string): { uid: number; gid: number } {
  const [user, group] = spec.split(":");
  let uid: number | undefined, gid: number | undefined;
  if (/^\d+$/.test(user)) uid = Number(user);
  let passwd = "";
  try {
    passwd = Deno.readTextFileSync("/etc/passwd");
  } catch {
    // numeric ids still work
  }
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    if (f[0] === user || (uid !== undefined && Number(f[2]) === uid)) {
      uid = Number(f[2]);
      gid = Number(f[3]);
      break;
    }
  }
  if (uid === undefined) {
    throw new MppError("bad_input", `unknown user '${user}'`, "give an existing user name or a numeric uid");
  }
  if (group) gid = resolveGroup(group);
  if (gid === undefined) {
    throw new MppError("bad_input", `no group for user '${user}'`, "give it as USER:GROUP");
  }
  return { uid, gid };
}

export class MrouteDaemon {
  readonly service: MrouteService;
  readonly registry: Registry;
  readonly events: EventBus;
  #o: DaemonOptions;
  #server?: IpcServer;
  #writer?: StateWriter;
  #timers: ReturnType<typeof setInterval>[] = [];
  #stopped = false;
  #loops: Promise<void>[] = [];
  #started = Date.now();
  #resolveDone!: () => void;
  readonly done: Promise<void> = new Promise((r) => this.#resolveDone = r);
  #signals: Array<[Deno.Signal, () => void]> = [];

  private constructor(o: DaemonOptions, service: MrouteService, registry: Registry, events: EventBus) {
    this.#o = o;
    this.service = service;
    this.registry = registry;
    this.events = events;
  }

  static async start(o: DaemonOptions): Promise<MrouteDaemon> {
    const log = o.log;
    // Config errors are found before anything is touched.
    const config = o.config ? loadConfig(o.config) : undefined;
    const kernels: MrouteKernel[] = [];
    const events = new EventBus();
    let server: IpcServer | undefined;
    try {
      // Check the IPC socket first so a second daemon on the same socket gets the clearer message,
      // but listen only once every command is registered: an early client must not see a
      // half-started daemon.
      await claimSocketPath(o.socket, "mroute daemon");
      const registry = new Registry();
      kernels.push(new MrouteKernel(4, o.table));
      if (o.ipv6) kernels.push(new MrouteKernel(6, o.table));
      for (const k of kernels) {
        if (!k.pim) log.warn("MRT_PIM not available: WRONGVIF upcalls are off", { family: k.family });
      }
      const service = new MrouteService({ kernels, log, events, cacheTimeoutMs: o.cacheTimeoutSec * 1000 });
      const d = new MrouteDaemon(o, service, registry, events);
      if (config) d.#applyConfig(config);
      if (o.persist) {
        const st = loadState(o.stateFile);
        if (st) {
          const rep = d.#apply(st.routes, st.joins, "runtime");
          log.info("restored run-time state", {
            file: o.stateFile,
            routes: st.routes.length,
            joins: st.joins.length,
            errors: rep.errors.length,
          });
          for (const e of rep.errors) log.warn("state entry not restored", { error: e });
        }
        d.#writer = new StateWriter(o.stateFile, () => service.runtimeState());
        const writer = d.#writer;
        service.setOnChange(() => writer.save());
      }
      for (
        const c of mrouteCommands({
          service,
          reload: () => d.reload(),
          status: () => d.status(),
          stop: () => d.stop(),
        })
      ) registry.register(c);
      if (o.pluginsDir) {
        for (const r of await loadPlugins(o.pluginsDir, registry)) {
          if (r.ok) log.info("plugin loaded", { file: r.file, commands: r.commands });
          else log.warn("plugin failed to load", { file: r.file, error: r.error });
        }
      }
      if (o.pidFile) {
        try {
          Deno.writeTextFileSync(o.pidFile, `${Deno.pid}\n`, { mode: 0o644 });
        } catch (e) {
          throw new MppError(
            "io",
            `cannot write pid file ${o.pidFile}: ${(e as Error).message.split("\n")[0]}`,
            "check the directory, or leave out --pid-file",
          );
        }
      }
      server = await IpcServer.listen({
        path: o.socket,
        registry,
        events,
        log,
        group: o.socketGroup,
        service: "mroute daemon",
      });
      d.#server = server;
      if (o.user) {
        const { uid, gid } = resolveUser(o.user);
        // What the unprivileged daemon still has to write: its state file and its socket.
        const own = [o.socket, ...(o.persist ? [dirname(o.stateFile), o.stateFile] : [])];
        for (const f of own) {
          try {
            Deno.chownSync(f, uid, o.socketGroup !== undefined && f === o.socket ? null : gid);
          } catch (e) {
            if (!(e instanceof Deno.errors.NotFound)) throw ioError(e, f);
          }
        }
        try {
          dropPrivileges(uid, gid);
        } catch (e) {
          throw new MppError(
            "permission",
            `cannot switch to user ${o.user}: ${(e as Error).message}`,
            "start the daemon as root to use --user",
          );
        }
        log.info("running as unprivileged user", { user: o.user, uid, gid });
      }
      d.#run();
      log.info("mroute daemon started", {
        socket: o.socket,
        table: o.table,
        ipv6: o.ipv6,
        pid: Deno.pid,
        state: o.persist ? o.stateFile : "off",
      });
      return d;
    } catch (e) {
      for (const k of kernels) k.close();
      await server?.close();
      if (o.pidFile) {
        try {
          Deno.removeSync(o.pidFile);
        } catch {
          // not written
        }
      }
      throw e;
    }
  }

  #run(): void {
    for (const [f, fs] of this.service.fam) {
      this.#loops.push(
        fs.kernel.readUpcalls((u) => this.service.onUpcall(f as Family, u), () => this.#stopped),
      );
    }
    this.#timers.push(setInterval(() => {
      try {
        this.service.checkInterfaces();
      } catch (e) {
        this.#o.log.warn("interface check failed", { error: e });
      }
    }, this.#o.ifaceCheckMs ?? 1000));
    const expireEvery = Math.max(250, Math.min(this.#o.cacheTimeoutSec * 500, 10_000));
    this.#timers.push(setInterval(() => this.service.expireLearned(), expireEvery));
    const onStop = () => this.stop();
    const onHup = () => {
      this.reload().catch((e) => this.#o.log.error("reload failed", { error: e }));
    };
    for (
      const [sig, fn] of [["SIGTERM", onStop], ["SIGINT", onStop], ["SIGHUP", onHup]] as Array<
        [Deno.Signal, () => void]
      >
    ) {
      try {
        Deno.addSignalListener(sig, fn);
        this.#signals.push([sig, fn]);
      } catch {
        // not available on this platform
      }
    }
  }

  #apply(
    routes: Parameters<MrouteService["addRoute"]>[0][],
    joins: Parameters<MrouteService["join"]>[0][],
    origin: Origin,
  ): ApplyReport {
    const rep: ApplyReport = { added: 0, removed: 0, unchanged: 0, errors: [] };
    for (const r of routes) {
      try {
        this.service.addRoute(r, origin, true);
        rep.added++;
      } catch (e) {
        rep.errors.push(`route ${r.iif} ${r.source ?? "*"} ${r.group}: ${(e as Error).message}`);
      }
    }
    for (const j of joins) {
      try {
        this.service.join(j, origin, true);
        rep.added++;
      } catch (e) {
        rep.errors.push(`join ${j.iif} ${j.source ?? "*"} ${j.group}: ${(e as Error).message}`);
      }
    }
    return rep;
  }

  /** Applies a config: removes config entries that are gone, adds new ones, leaves equal ones alone. */
  #applyConfig(cfg: Config): ApplyReport {
    const s = this.service;
    for (const fs of s.fam.values()) {
      fs.vifs.phyints.clear();
      for (const p of cfg.phyints) {
        fs.vifs.phyints.set(p.name, { enabled: p.enable, threshold: p.ttlThreshold });
      }
    }
    const rep: ApplyReport = { added: 0, removed: 0, unchanged: 0, errors: [] };
    const wantRoutes = new Map<string, string>();
    const toAdd: typeof cfg.mroutes = [];
    for (const r of cfg.mroutes) {
      try {
        const p = parseRoute(r, true);
        wantRoutes.set(p.key, JSON.stringify(p.spec));
        const have = s.rules.get(p.key);
        if (have && have.origin === "config" && JSON.stringify(have.spec) === JSON.stringify(p.spec)) {
          rep.unchanged++;
        } else toAdd.push(r);
      } catch (e) {
        rep.errors.push(`route ${r.iif} ${r.source ?? "*"} ${r.group}: ${(e as Error).message}`);
      }
    }
    for (const r of [...s.rules.values()]) {
      if (r.origin !== "config" || wantRoutes.get(r.key) === JSON.stringify(r.spec)) continue;
      try {
        s.delRoute({ iif: r.spec.iif, source: r.spec.source, group: r.spec.group }, "config");
        rep.removed++;
      } catch (e) {
        rep.errors.push(`removing ${r.key}: ${(e as Error).message}`);
      }
    }
    const wantJoins = new Set<string>();
    const joinsToAdd: typeof cfg.mgroups = [];
    for (const j of cfg.mgroups) {
      try {
        const p = parseJoin(j);
        wantJoins.add(p.key);
        if (s.joins.get(p.key)?.origin === "config") rep.unchanged++;
        else joinsToAdd.push(j);
      } catch (e) {
        rep.errors.push(`join ${j.iif} ${j.group}: ${(e as Error).message}`);
      }
    }
    for (const j of [...s.joins.values()]) {
      if (j.origin !== "config" || wantJoins.has(j.key)) continue;
      s.leave(j.spec);
      rep.removed++;
    }
    const added = this.#apply(toAdd, joinsToAdd, "config");
    rep.added = added.added;
    rep.errors.push(...added.errors);
    for (const e of rep.errors) this.#o.log.warn("config entry not applied", { error: e });
    return rep;
  }

  reload(): Promise<ApplyReport> {
    if (!this.#o.config) {
      return Promise.reject(
        new MppError(
          "bad_input",
          "the daemon was started without --config, there is nothing to reload",
          "restart it with --config FILE",
        ),
      );
    }
    const cfg = loadConfig(this.#o.config);
    const rep = this.#applyConfig(cfg);
    this.#o.log.info("configuration reloaded", {
      file: this.#o.config,
      added: rep.added,
      removed: rep.removed,
      unchanged: rep.unchanged,
      errors: rep.errors.length,
    });
    return Promise.resolve(rep);
  }

  status(): unknown {
    const s = this.service;
    let routes = 0, templates = 0, pending = 0;
    for (const r of s.rules.values()) {
      if (!r.installed) pending++;
      else if (r.template) templates++;
      else routes++;
    }
    return {
      v: 1,
      version: VERSION,
      pid: Deno.pid,
      uptimeSec: Math.round((Date.now() - this.#started) / 1000),
      socket: this.#o.socket,
      table: this.#o.table,
      families: [...s.fam.keys()].map((f) => `ipv${f}`),
      pim: [...s.fam.values()].every((f) => f.kernel.pim),
      routes,
      templates,
      learned: s.learned.size,
      pending,
      joins: s.joins.size,
      vifs: [...s.fam.values()].reduce((n, f) => n + f.vifs.list().length, 0),
      config: this.#o.config ?? null,
      stateFile: this.#o.persist ? this.#o.stateFile : null,
      cacheTimeoutSec: this.#o.cacheTimeoutSec,
      clients: this.#server?.clientCount ?? 0,
    };
  }

  async stop(): Promise<void> {
    if (this.#stopped) return this.done;
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    for (const [sig, fn] of this.#signals) Deno.removeSignalListener(sig, fn);
    await this.#server?.close();
    await Promise.all(this.#loops);
    this.service.close();
    this.#o.log.info("mroute daemon stopped");
    if (this.#o.pidFile) {
      try {
        Deno.removeSync(this.#o.pidFile);
      } catch {
        // already gone
      }
    }
    this.#resolveDone();
  }
}
