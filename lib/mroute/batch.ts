/**
 * Batch mode for the mroute client (`mpp mroute -b FILE|-`): one command per line. Consecutive
 * add/del/join/leave lines travel as `mroute.batch` requests of up to 500 operations, pipelined on
 * one connection; the daemon applies them in order and writes its state once per request. Errors
 * are collected per line. Light: the one-shot client imports it.
 */
import { MppError } from "../errors.ts";
import type { IpcClient } from "../ipc/client.ts";
import { parseRouteWords, type RouteWords } from "./route_words.ts";

export const ROUTE_USAGE = "IIF [SOURCE[/LEN]] GROUP[/LEN] OIF [OIF ...]";
export const JOIN_USAGE = "IIF [SOURCE] GROUP";
const BATCH_CHUNK = 500;
/** mroute.script text limit: under the IPC message limit with room for JSON escaping. */
export const MAX_SCRIPT_BYTES = 768 * 1024;

/** Sends the whole text as one mroute.script request; the daemon parses and applies it in order. */
export async function runScript(text: string, connect: () => Promise<IpcClient>): Promise<BatchResult> {
  const c = await connect();
  try {
    const r = await c.request("mroute.script", { text }) as {
      commands: number;
      errors: Array<{ line: number; code: string; message: string; hint: string }>;
    };
    return {
      commands: r.commands,
      errors: r.errors.map((
        e,
      ) => [e.line, new MppError(e.code === "bad_usage" ? "bad_usage" : "bad_input", e.message, e.hint)]),
    };
  } finally {
    await c.close();
  }
}

export const VERBS: Record<string, string> = {
  add: "add",
  del: "del",
  rem: "del",
  remove: "del",
  join: "join",
  leave: "leave",
};

type BatchOp = Record<string, unknown> & { op: string };

/** One batch line as a batch op, or a whole request for flush/reload (which cannot be batched). */
export function batchLine(words: string[]): BatchOp | { cmd: string; args: unknown } {
  const parse = parseRouteWords as (w: string[], u: string) => RouteWords;
  const verb = VERBS[words[0]];
  if (verb === "add" || verb === "del") {
    const r = parse(words.slice(1), verb === "add" ? ROUTE_USAGE : "IIF [SOURCE] GROUP [OIF ...]");
    if (verb === "add" && r.oifs.length === 0) {
      throw new MppError("bad_usage", "no outbound interface given", ROUTE_USAGE);
    }
    return verb === "del" && r.oifs.length === 0
      ? { op: "del", iif: r.iif, source: r.source, group: r.group }
      : { op: verb, ...r };
  }
  if (verb === "join" || verb === "leave") {
    const r = parse(words.slice(1), JOIN_USAGE);
    if (r.oifs.length) throw new MppError("bad_usage", `unexpected '${r.oifs.join(" ")}'`, JOIN_USAGE);
    return { op: verb, iif: r.iif, source: r.source, group: r.group };
  }
  if (words[0] === "flush") return { cmd: "mroute.flush", args: { all: words[1] === "all" } };
  if (words[0] === "reload") return { cmd: "mroute.reload", args: {} };
  throw new MppError(
    "bad_usage",
    `unknown command '${words[0]}'`,
    "batch lines start with add, del, join, leave, flush or reload",
  );
}

export interface BatchResult {
  commands: number;
  /** [line number, error], sorted by line. */
  errors: Array<[number, unknown]>;
}

/** Runs the commands of a batch text; `connect` is called only when there is something to send. */
export async function runBatchText(text: string, connect: () => Promise<IpcClient>): Promise<BatchResult> {
  const errors: Array<[number, unknown]> = [];
  // Requests in order; each knows the line numbers of its operations.
  const requests: Array<{ cmd: string; args: unknown; lines: number[] }> = [];
  let chunk: { ops: BatchOp[]; lines: number[] } | null = null;
  const lines = text.split("\n");
  let count = 0;
  for (let i = 0; i < lines.length; i++) {
    const words = lines[i].replace(/#.*$/, "").trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) continue;
    count++;
    let item: BatchOp | { cmd: string; args: unknown };
    try {
      item = batchLine(words);
    } catch (e) {
      errors.push([i + 1, e]);
      continue;
    }
    if ("op" in item) {
      if (!chunk || chunk.ops.length >= BATCH_CHUNK) {
        chunk = { ops: [], lines: [] };
        requests.push({ cmd: "mroute.batch", args: { ops: chunk.ops }, lines: chunk.lines });
      }
      chunk.ops.push(item);
      chunk.lines.push(i + 1);
    } else {
      chunk = null;
      requests.push({ cmd: item.cmd, args: item.args, lines: [i + 1] });
    }
  }
  if (requests.length > 0) {
    const c = await connect();
    try {
      const settled = await Promise.allSettled(requests.map((r) => c.request(r.cmd, r.args)));
      for (let k = 0; k < settled.length; k++) {
        const s = settled[k];
        const req = requests[k];
        if (s.status === "rejected") {
          for (const ln of req.lines) errors.push([ln, s.reason]);
        } else if (req.cmd === "mroute.batch") {
          const res = (s.value as {
            results: Array<{ ok: boolean; error?: { code: string; message: string; hint: string } }>;
          }).results;
          for (let m = 0; m < res.length; m++) {
            const e = res[m].error;
            if (!res[m].ok && e) errors.push([req.lines[m], new MppError("bad_input", e.message, e.hint)]);
          }
        }
      }
    } finally {
      await c.close();
    }
  }
  errors.sort((a, b) => a[0] - b[0]);
  return { commands: count, errors };
}
