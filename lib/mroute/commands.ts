/**
 * The mroute daemon's commands, as Registry entries: the IPC server (and later the HTTP API)
 * dispatch these. Argument schemas are the IPC contract for `mroute.*`.
 */
import { z } from "zod";
import { type Command, defineCommand } from "../command/command.ts";
import { errorBody } from "../ipc/server.ts";
import { MppError } from "../errors.ts";
import { batchLine, MAX_SCRIPT_BYTES } from "./batch.ts";
import { JoinSpec, RouteSpec } from "./spec.ts";
import type { MrouteService } from "./service.ts";
import { showGroups, showInterfaces, showPending, showRoutes } from "./views.ts";

export interface DaemonControl {
  service: MrouteService;
  reload(): Promise<unknown>;
  status(): unknown;
  stop(): void;
}

const DelArgs = z.object({
  iif: z.string().min(1).max(15).optional(),
  source: z.string().max(64).optional(),
  group: z.string().min(1).max(64),
  oifs: z.array(z.string().min(1).max(15)).max(64).optional(),
});

const JoinArgs = JoinSpec.extend({ allowPending: z.boolean().optional() });
const AddArgs = RouteSpec.extend({ allowPending: z.boolean().optional() });

export const MAX_BATCH_OPS = 1000;

const BatchOp = z.discriminatedUnion("op", [
  AddArgs.extend({ op: z.literal("add") }),
  DelArgs.extend({ op: z.literal("del") }),
  JoinArgs.extend({ op: z.literal("join") }),
  JoinSpec.extend({ op: z.literal("leave") }),
]);

type ErrorShape = { code: string; message: string; hint: string };

function applyOp(
  s: MrouteService,
  op: z.output<typeof BatchOp>,
): { ok: true } | { ok: false; error: ErrorShape } {
  try {
    if (op.op === "add") {
      s.addRoute(
        { iif: op.iif, source: op.source, group: op.group, oifs: op.oifs },
        "runtime",
        op.allowPending ?? false,
      );
    } else if (op.op === "del") s.delRoute(op, "runtime");
    else if (op.op === "join") {
      s.join({ iif: op.iif, source: op.source, group: op.group }, "runtime", op.allowPending ?? false);
    } else s.leave(op);
    return { ok: true };
  } catch (e) {
    return { ok: false, error: errorBody(e) };
  }
}

// deno-lint-ignore no-explicit-any
export function mrouteCommands(d: DaemonControl): Command<any, any>[] {
  const s = d.service;
  return [
    defineCommand({
      name: "mroute.add",
      summary: "add a multicast route: IIF [SOURCE[/LEN]] GROUP[/LEN] OIF...",
      args: AddArgs,
      run: async (_ctx, a) => {
        const r = s.addRoute(
          { iif: a.iif, source: a.source, group: a.group, oifs: a.oifs },
          "runtime",
          a.allowPending ?? false,
        );
        await s.changed("runtime");
        return {
          route: r.spec,
          state: r.pending.length ? "pending" : r.template ? "template" : "installed",
          pending: r.pending,
        };
      },
    }),
    defineCommand({
      name: "mroute.del",
      summary: "remove a route, or only the named outputs of it",
      args: DelArgs,
      run: async (_ctx, a) => {
        const r = s.delRoute(a, "runtime");
        await s.changed("runtime");
        return { route: r.spec };
      },
    }),
    defineCommand({
      name: "mroute.show",
      summary: "routes, interfaces, groups or pending, with kernel counters",
      args: z.object({ what: z.enum(["routes", "interfaces", "groups", "pending"]).default("routes") }),
      run: (_ctx, a) => {
        switch (a.what) {
          case "routes":
            return { v: 1, routes: showRoutes(s) };
          case "interfaces":
            return { v: 1, interfaces: showInterfaces(s) };
          case "groups":
            return { v: 1, groups: showGroups(s) };
          case "pending":
            return { v: 1, pending: showPending(s) };
        }
      },
    }),
    defineCommand({
      name: "mroute.flush",
      summary: "remove learned (*,G) routes; with all: every route and membership added at run time",
      args: z.object({ all: z.boolean().default(false) }),
      run: async (_ctx, a) => {
        const n = s.flush(a.all);
        await s.changed("runtime");
        return n;
      },
    }),
    defineCommand({
      name: "mroute.join",
      summary: "join a group (SSM with a source) on an interface",
      args: JoinArgs,
      run: async (_ctx, a) => {
        const m = s.join(
          { iif: a.iif, source: a.source, group: a.group },
          "runtime",
          a.allowPending ?? false,
        );
        await s.changed("runtime");
        return { join: m.spec, state: m.pending ? "pending" : "joined" };
      },
    }),
    defineCommand({
      name: "mroute.leave",
      summary: "leave a group joined with join",
      args: JoinSpec,
      run: async (_ctx, a) => {
        const m = s.leave(a);
        await s.changed("runtime");
        return { leave: m.spec };
      },
    }),
    defineCommand({
      name: "mroute.batch",
      summary: "apply many add/del/join/leave operations in order, with one state write",
      args: z.object({ ops: z.array(BatchOp).max(MAX_BATCH_OPS) }),
      run: async (_ctx, a) => {
        const results = a.ops.map((op) => applyOp(s, op));
        if (results.some((r) => r.ok)) await s.changed("runtime");
        return { results };
      },
    }),
    defineCommand({
      name: "mroute.script",
      summary: "run a batch file's text (one command per line) in order, with one state write",
      args: z.object({ text: z.string().max(MAX_SCRIPT_BYTES) }),
      run: async (_ctx, a) => {
        const errors: Array<{ line: number; code: string; message: string; hint: string }> = [];
        let commands = 0, changed = false;
        const lines = a.text.split("\n");
        for (let i = 0; i < lines.length; i++) {
          const words = lines[i].replace(/#.*$/, "").trim().split(/\s+/).filter(Boolean);
          if (words.length === 0) continue;
          commands++;
          try {
            const item = batchLine(words);
            if ("op" in item) {
              // Validated exactly as an mroute.batch operation arriving over IPC would be.
              const op = BatchOp.safeParse(item);
              if (!op.success) throw new MppError("bad_input", op.error.issues[0]?.message ?? "invalid", "");
              const r = applyOp(s, op.data);
              if (!r.ok) {
                errors.push({ line: i + 1, ...r.error });
                continue;
              }
              changed = true;
            } else if (item.cmd === "mroute.flush") {
              s.flush((item.args as { all: boolean }).all);
              changed = true;
            } else {
              await d.reload();
            }
          } catch (e) {
            errors.push({ line: i + 1, ...errorBody(e) });
          }
        }
        if (changed) await s.changed("runtime");
        return { commands, errors };
      },
    }),
    defineCommand({
      name: "mroute.reload",
      summary: "re-read the configuration and apply differences",
      args: z.object({}),
      run: () => d.reload(),
    }),
    defineCommand({
      name: "mroute.status",
      summary: "daemon status",
      args: z.object({}),
      run: () => d.status(),
    }),
    defineCommand({
      name: "mroute.stop",
      summary: "stop the daemon (its routes are removed by the kernel)",
      args: z.object({}),
      run: () => {
        setTimeout(() => d.stop(), 10);
        return { stopping: true };
      },
    }),
  ];
}
