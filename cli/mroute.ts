/**
 * `mpp mroute`: the multicast routing daemon and its iproute2-style client. The client path loads
 * only the IPC client, zod and the route-word parser (lazily); the daemon code is imported only by
 * `mpp mroute daemon`, so a one-shot `mpp mroute add` starts fast.
 */
import type { Program } from "./main.ts";
import { MppError } from "../lib/errors.ts";

const SERVICE = "mroute daemon";
const ROUTE_USAGE = "IIF [SOURCE[/LEN]] GROUP[/LEN] OIF [OIF ...]";
const JOIN_USAGE = "IIF [SOURCE] GROUP";

interface ClientOpts {
  socket?: string;
  table?: string;
  json?: boolean;
}

function tableId(v: string | undefined): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new MppError(
      "bad_usage",
      `table '${v}' is not a number`,
      "give a routing table id such as 0 or 100",
    );
  }
  return n;
}

async function socketPath(o: ClientOpts): Promise<string> {
  const table = tableId(o.table);
  if (o.socket) return o.socket;
  const { defaultSocket } = await import("../lib/mroute/paths.ts");
  return defaultSocket(table);
}

async function call(o: ClientOpts, cmd: string, args: unknown): Promise<unknown> {
  const [{ IpcClient }, { START_HINT }] = await Promise.all([
    import("../lib/ipc/client.ts"),
    import("../lib/mroute/paths.ts"),
  ]);
  const c = await IpcClient.connect(await socketPath(o), { service: SERVICE, startHint: START_HINT });
  try {
    return await c.request(cmd, args);
  } finally {
    await c.close();
  }
}

function print(o: ClientOpts, v: unknown, text?: () => string): void {
  if (o.json || !text) console.log(JSON.stringify(v, null, o.json ? 2 : undefined));
  else {
    const t = text();
    if (t) console.log(t);
  }
}

interface RouteArgOpts extends ClientOpts {
  iif?: string;
  source?: string;
  group?: string;
  oif?: string[];
  allowPending?: boolean;
}

/** Positional words and long options combined into one route description. */
async function routeArgs(words: string[], o: RouteArgOpts, needOifs: boolean) {
  if (o.iif || o.group) {
    if (!o.iif || !o.group) {
      throw new MppError(
        "bad_usage",
        "--iif and --group go together",
        `usage: --iif IIF [--source S] --group G --oif O...`,
      );
    }
    return { iif: o.iif, source: o.source, group: o.group, oifs: [...(o.oif ?? []), ...words] };
  }
  const { parseRouteWords } = await import("../lib/mroute/route_words.ts");
  const r = parseRouteWords(words, needOifs ? ROUTE_USAGE : JOIN_USAGE);
  if (o.oif) r.oifs.push(...o.oif);
  return r;
}

async function routeCommand(verb: string, words: string[], o: RouteArgOpts): Promise<unknown> {
  switch (verb) {
    case "add": {
      const r = await routeArgs(words, o, true);
      if (r.oifs.length === 0) {
        throw new MppError(
          "bad_usage",
          "no outbound interface given",
          `usage: mpp mroute add ${ROUTE_USAGE}`,
        );
      }
      return await call(o, "mroute.add", { ...r, allowPending: o.allowPending });
    }
    case "del": {
      const r = await routeArgs(words, o, false);
      return await call(o, "mroute.del", { ...r, oifs: r.oifs.length ? r.oifs : undefined });
    }
    case "join":
    case "leave": {
      const r = await routeArgs(words, o, false);
      if (r.oifs.length) {
        throw new MppError(
          "bad_usage",
          `unexpected '${r.oifs.join(" ")}'`,
          `usage: mpp mroute ${verb} ${JOIN_USAGE}`,
        );
      }
      return await call(o, `mroute.${verb}`, {
        iif: r.iif,
        source: r.source,
        group: r.group,
        allowPending: verb === "join" ? o.allowPending : undefined,
      });
    }
  }
  throw new MppError("bad_usage", `unknown command '${verb}'`, "use add, del, join, leave, flush or reload");
}

const VERBS: Record<string, string> = {
  add: "add",
  del: "del",
  rem: "del",
  remove: "del",
  join: "join",
  leave: "leave",
};

/** Batch mode: see lib/mroute/batch.ts. */
async function runBatch(file: string, o: ClientOpts): Promise<void> {
  const text = file === "-"
    ? await new Response(Deno.stdin.readable).text()
    : await Deno.readTextFile(file).catch((e) => {
      throw new MppError(
        "io",
        `cannot read batch file ${file}: ${(e as Error).message.split("\n")[0]}`,
        "give a readable file, or - for stdin",
      );
    });
  const [{ IpcClient }, { START_HINT }, { runBatchText, runScript, MAX_SCRIPT_BYTES }] = await Promise.all([
    import("../lib/ipc/client.ts"),
    import("../lib/mroute/paths.ts"),
    import("../lib/mroute/batch.ts"),
  ]);
  const path = await socketPath(o);
  const connect = () =>
    IpcClient.connect(path, { service: SERVICE, startHint: START_HINT, timeoutMs: 120_000 });
  // The daemon parses the text itself (its code is warm, a fresh client's is not); texts too
  // large for one message go as pipelined mroute.batch chunks instead.
  const r = new TextEncoder().encode(JSON.stringify(text)).length <= MAX_SCRIPT_BYTES
    ? await runScript(text, connect)
    : await runBatchText(text, connect);
  const name = file === "-" ? "stdin" : file;
  for (const [ln, e] of r.errors) {
    console.error(`mpp: ${name}:${ln}: ${e instanceof Error ? e.message : String(e)}`);
    if (e instanceof MppError && e.hint) console.error(`hint: ${e.hint}`);
  }
  if (o.json) console.log(JSON.stringify({ commands: r.commands, failed: r.errors.length }));
  if (r.errors.length) Deno.exitCode = 1;
}

function positiveSeconds(v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) {
    throw new MppError("bad_usage", `'${v}' is not a positive number of seconds`, "e.g. --cache-timeout 60");
  }
  return x;
}

export function register(program: Program): void {
  const mroute = program.command("mroute")
    .description("multicast routing daemon and client (like smcroute, with state that survives restarts)")
    .option(
      "-b, --batch <file>",
      "run commands from FILE (one per line: add/del/join/leave/flush/reload), - for stdin",
    )
    .option("--socket <path>", "daemon socket (default /run/mpp/mroute.sock, env MPP_MROUTE_SOCKET)")
    .option("--table <id>", "routing table; selects the default socket /run/mpp/mroute-ID.sock")
    .option("--json", "JSON output")
    .action(async (o) => {
      if (!o.batch) {
        mroute.help();
        return;
      }
      await runBatch(o.batch, o);
    });

  const clientOpts = <T extends { option: (...a: string[]) => T }>(c: T): T =>
    c.option("--socket <path>", "daemon socket (default /run/mpp/mroute.sock, env MPP_MROUTE_SOCKET)")
      .option("--table <id>", "routing table; selects the default socket /run/mpp/mroute-ID.sock")
      .option("--json", "JSON output");
  const merged = (c: { opts(): object }): RouteArgOpts => ({ ...mroute.opts(), ...c.opts() } as RouteArgOpts);

  mroute.command("daemon")
    .description("run the routing daemon (root or CAP_NET_ADMIN)")
    .option(
      "--socket <path>",
      "IPC socket (default /run/mpp/mroute.sock, or /run/mpp/mroute-ID.sock with --table)",
    )
    .option("--config <file>", "configuration file (smcroute-like syntax or JSON)")
    .option("--state <file>", "state file for run-time routes (default /var/lib/mpp/mroute-state.json)")
    .option("--no-persist", "do not save or restore run-time routes")
    .option("--table <id>", "kernel multicast routing table (MRT_TABLE)")
    .option("-6, --ipv6", "also route IPv6 (MRT6 on an ICMPv6 socket)")
    .option("--cache-timeout <sec>", "remove learned (*,G) routes idle this long", positiveSeconds, 60)
    .option("--socket-group <group>", "group that may use the socket (mode 0660)")
    .option("--plugins <dir>", "load command plugins from DIR")
    .option("--pid-file <file>", "write the daemon's pid to FILE")
    .option("--user <user[:group]>", "switch to this user once the routing socket is open")
    .option("--log-level <level>", "debug, info, warn or error", "info")
    .option("--log-file <file>", "also append JSON log lines to FILE")
    .action(async (own) => {
      // Options given before or after "daemon" land on the parent command; merge both.
      const o = { ...mroute.opts(), ...own };
      const [{ MrouteDaemon }, { Logger, parseLogLevel }, paths] = await Promise.all([
        import("../lib/mroute/daemon.ts"),
        import("../lib/log/logger.ts"),
        import("../lib/mroute/paths.ts"),
      ]);
      const table = tableId(o.table);
      const log = new Logger({
        level: parseLogLevel(o.logLevel),
        file: o.logFile,
        fields: { svc: "mroute" },
      });
      const d = await MrouteDaemon.start({
        socket: o.socket ?? paths.defaultSocket(table),
        config: o.config,
        stateFile: o.state ?? paths.defaultStateFile(table),
        persist: o.persist,
        table,
        ipv6: o.ipv6 ?? false,
        cacheTimeoutSec: o.cacheTimeout,
        socketGroup: o.socketGroup,
        pidFile: o.pidFile,
        user: o.user,
        pluginsDir: o.plugins,
        log,
      });
      await d.done;
      log.close();
    });

  mroute.command("check-config")
    .description("check a configuration file (syntax and addresses) without a daemon, like smcrouted -F")
    .argument("<file>", "configuration file")
    .option("--json", "JSON output")
    .action(async (file, own) => {
      const [{ loadConfig }, { parseJoin, parseRoute }] = await Promise.all([
        import("../lib/mroute/config.ts"),
        import("../lib/mroute/spec.ts"),
      ]);
      const cfg = loadConfig(file);
      const errors: string[] = [];
      for (const r of cfg.mroutes) {
        try {
          parseRoute(r, true);
        } catch (e) {
          errors.push(`mroute from ${r.iif} ${r.source ?? "*"} ${r.group}: ${(e as Error).message}`);
        }
      }
      for (const j of cfg.mgroups) {
        try {
          parseJoin(j);
        } catch (e) {
          errors.push(`mgroup from ${j.iif} ${j.group}: ${(e as Error).message}`);
        }
      }
      const summary = {
        files: cfg.files,
        phyints: cfg.phyints.length,
        mgroups: cfg.mgroups.length,
        mroutes: cfg.mroutes.length,
        errors,
      };
      if (own.json || mroute.opts().json) console.log(JSON.stringify(summary, null, 2));
      else {
        console.log(
          `${cfg.files.length} file(s): ${summary.phyints} phyint, ${summary.mgroups} mgroup, ${summary.mroutes} mroute`,
        );
        for (const e of errors) console.error(`mpp: ${e}`);
      }
      if (errors.length) Deno.exitCode = 1;
    });

  clientOpts(
    mroute.command("add")
      .description(`add a route: ${ROUTE_USAGE}`)
      .argument("[words...]", ROUTE_USAGE)
      .option("--iif <name>", "inbound interface")
      .option("--source <addr>", "source address or prefix (omit for (*,G))")
      .option("--group <addr>", "group address or prefix")
      .option("--oif <names...>", "outbound interfaces")
      .option("--allow-pending", "accept interfaces that do not exist yet"),
  ).action(async function (words) {
    const o = merged(this);
    const r = await routeCommand("add", words, o) as { state: string; pending: string[] };
    print(o, r, () => (r.state === "pending" ? `pending: waiting for ${r.pending.join(", ")}` : ""));
  });

  for (const name of ["del", "remove"]) {
    clientOpts(
      mroute.command(name)
        .description(`remove a route, or only the named outputs: IIF [SOURCE] GROUP [OIF ...]`)
        .argument("[words...]", "IIF [SOURCE] GROUP [OIF ...]")
        .option("--iif <name>", "inbound interface")
        .option("--source <addr>", "source address or prefix")
        .option("--group <addr>", "group address or prefix")
        .option("--oif <names...>", "remove only these outbound interfaces"),
    ).action(async function (words) {
      const o = merged(this);
      print(o, await routeCommand("del", words, o), () => "");
    });
  }

  for (const verb of ["join", "leave"] as const) {
    clientOpts(
      mroute.command(verb)
        .description(`${verb} a group (IGMP/MLD; SSM when a source is given): ${JOIN_USAGE}`)
        .argument("[words...]", JOIN_USAGE)
        .option("--iif <name>", "interface")
        .option("--source <addr>", "source (SSM)")
        .option("--group <addr>", "group")
        .option("--allow-pending", "accept an interface that does not exist yet"),
    ).action(async function (words) {
      const o = merged(this);
      print(o, await routeCommand(verb, words, o), () => "");
    });
  }

  clientOpts(
    mroute.command("show")
      .description("show routes (default), interfaces, groups or pending, with kernel counters")
      .argument("[what]", "routes | interfaces | groups | pending", "routes"),
  ).action(async function (what) {
    const o = merged(this);
    const full = ["routes", "interfaces", "groups", "pending"].find((w) => w.startsWith(what));
    if (!full) {
      throw new MppError("bad_usage", `cannot show '${what}'`, "use routes, interfaces, groups or pending");
    }
    const v = await call(o, "mroute.show", { what: full }) as Record<string, unknown>;
    const { showText } = await import("../lib/mroute/show_text.ts");
    print(o, v, () => showText(full, v));
  });

  clientOpts(
    mroute.command("flush").description(
      "remove learned (*,G) routes; --all: every route and join added at run time",
    )
      .option("--all", "also remove routes and memberships added at run time"),
  )
    .action(async function () {
      const o = merged(this) as RouteArgOpts & { all?: boolean };
      const r = await call(o, "mroute.flush", { all: o.all ?? false }) as Record<string, number>;
      print(o, r, () => `flushed ${r.learned} learned, ${r.routes} routes, ${r.joins} joins`);
    });

  clientOpts(mroute.command("reload").description("re-read the configuration file; unchanged routes stay"))
    .action(async function () {
      const o = merged(this);
      const r = await call(o, "mroute.reload", {}) as {
        added: number;
        removed: number;
        unchanged: number;
        errors: string[];
      };
      print(
        o,
        r,
        () =>
          [
            `added ${r.added}, removed ${r.removed}, unchanged ${r.unchanged}`,
            ...r.errors.map((e) => `error: ${e}`),
          ].join("\n"),
      );
      if (r.errors.length) Deno.exitCode = 1;
    });

  clientOpts(mroute.command("status").description("daemon status"))
    .action(async function () {
      const o = merged(this);
      const r = await call(o, "mroute.status", {}) as Record<string, unknown>;
      print(
        o,
        r,
        () =>
          Object.entries(r).filter(([k]) => k !== "v").map(([k, v]) =>
            `${k}: ${Array.isArray(v) ? v.join(",") : v}`
          ).join("\n"),
      );
    });

  clientOpts(
    mroute.command("stop").alias("kill").description("stop the daemon (the kernel then drops its routes)"),
  )
    .action(async function () {
      const o = merged(this);
      print(o, await call(o, "mroute.stop", {}), () => "");
    });
}

/**
 * Direct entry, `deno run -A cli/mroute.ts add ...`: the same commands without loading the other
 * subcommands, for scripts where start-up time matters (and for the e2e tests).
 */
/**
 * The common client calls parsed without commander (loading it costs about 30 ms, a third of a
 * one-shot call). Anything unusual (help, long route options, typos) returns null and goes
 * through commander, which owns usage and error messages.
 */
function fastPath(args: string[]): (() => Promise<void>) | null {
  const o: RouteArgOpts & { all?: boolean; batch?: string } = {};
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--socket" || a === "--table" || a === "-b" || a === "--batch") {
      const v = args[++i];
      if (v === undefined) return null;
      if (a === "--socket") o.socket = v;
      else if (a === "--table") o.table = v;
      else o.batch = v;
    } else if (a === "--json") o.json = true;
    else if (a === "--allow-pending") o.allowPending = true;
    else if (a === "--all") o.all = true;
    else if (a.startsWith("-") && a !== "-") return null;
    else words.push(a);
  }
  if (o.batch !== undefined) return words.length === 0 ? () => runBatch(o.batch!, o) : null;
  const verb = words.shift();
  if (verb === undefined) return null;
  if (verb in VERBS && (VERBS[verb] === "add" || !o.all)) {
    const v = VERBS[verb];
    return async () => {
      const r = await routeCommand(v, words, o) as { state?: string; pending?: string[] };
      print(o, r, () => (r.state === "pending" ? `pending: waiting for ${r.pending!.join(", ")}` : ""));
    };
  }
  if (verb === "status" && words.length === 0) {
    return async () => {
      const r = await call(o, "mroute.status", {}) as Record<string, unknown>;
      const { statusText } = await import("../lib/mroute/show_text.ts");
      print(o, r, () => statusText(r));
    };
  }
  if (verb === "show" && words.length <= 1) {
    const full = ["routes", "interfaces", "groups", "pending"].find((w) =>
      w.startsWith(words[0] ?? "routes")
    );
    if (!full) return null;
    return async () => {
      const v = await call(o, "mroute.show", { what: full }) as Record<string, unknown>;
      const { showText } = await import("../lib/mroute/show_text.ts");
      print(o, v, () => showText(full, v));
    };
  }
  return null;
}

/**
 * For an entry point that has not loaded commander yet: runs `mpp mroute ARGS` when it is one of
 * the common client calls and resolves with the exit status, or returns null (then use commander).
 */
export function runFast(args: string[]): Promise<number> | null {
  const fast = fastPath(args);
  if (!fast) return null;
  return fast().then(() => (typeof Deno.exitCode === "number" ? Deno.exitCode : 0), reportError);
}

async function standalone(args: string[]): Promise<number> {
  const fast = fastPath(args);
  if (fast) {
    try {
      await fast();
      return typeof Deno.exitCode === "number" ? Deno.exitCode : 0;
    } catch (e) {
      return reportError(e);
    }
  }
  const { Command, CommanderError } = await import("@commander-js/extra-typings");
  const program = new Command().name("mpp").exitOverride() as unknown as Program;
  register(program);
  try {
    await program.parseAsync(["mroute", ...args], { from: "user" });
    return typeof Deno.exitCode === "number" ? Deno.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === "commander.helpDisplayed" || e.code === "commander.help" ? 0 : 2;
    }
    return reportError(e);
  }
}

function reportError(e: unknown): number {
  if (e instanceof MppError) {
    console.error(`mpp: ${e.message}`);
    if (e.hint) console.error(`hint: ${e.hint}`);
    return e.exitCode;
  }
  console.error(`mpp: internal error: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  return 1;
}

if (import.meta.main) Deno.exit(await standalone(Deno.args));
