/**
 * The Command pattern every mpp door dispatches through: the CLI, the UNIX-socket server and the
 * HTTP API all call `Registry.dispatch`, so a command is written once and validated once (by its
 * zod schema) whichever way it arrives.
 */
import type { z } from "zod";
import type { Logger } from "../log/logger.ts";
import type { EventBus } from "./events.ts";

/** What a command sees of the caller and the service it runs in. */
export interface CommandContext {
  log: Logger;
  events: EventBus;
  /** Aborted when the caller goes away or the request times out. */
  signal?: AbortSignal;
  /** Which door the call came through ("cli", "ipc", "http"), for logs and permissions. */
  via: string;
}

export interface Command<S extends z.ZodType = z.ZodType, R = unknown> {
  name: string;
  summary: string;
  args: S;
  run(ctx: CommandContext, args: z.output<S>): R | Promise<R>;
}

/** Helper that keeps the schema's type attached to run()'s args without a cast at the call site. */
export function defineCommand<S extends z.ZodType, R>(c: Command<S, R>): Command<S, R> {
  return c;
}

export interface CommandInfo {
  name: string;
  summary: string;
}
