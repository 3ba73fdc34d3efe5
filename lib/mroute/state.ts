/**
 * Persistence of routes and memberships added at run time, so they survive a daemon restart
 * (smcroute loses them). The file is replaced atomically (write to a temporary file, then
 * rename) after every change; writes that pile up while one is in flight are coalesced into the
 * next one, and every caller is answered only once a write that includes its change is done.
 */
import { dirname } from "node:path";
import { z } from "zod";
import { MppError } from "../errors.ts";
import { JoinSpec, RouteSpec } from "./spec.ts";

export const StateFile = z.object({
  v: z.literal(1),
  routes: z.array(RouteSpec),
  joins: z.array(JoinSpec).default([]),
});
export type StateFile = z.infer<typeof StateFile>;

export function loadState(path: string): StateFile | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new MppError(
      "io",
      `cannot read state file ${path}: ${(e as Error).message.split("\n")[0]}`,
      "check its permissions, or start with --no-persist",
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new MppError(
      "bad_input",
      `state file ${path} is not valid JSON`,
      "fix or remove it (it is rewritten after the next change)",
    );
  }
  const r = StateFile.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new MppError(
      "bad_input",
      `state file ${path}: ${i.path.join(".")}: ${i.message}`,
      "fix or remove it (it is rewritten after the next change)",
    );
  }
  return r.data;
}

export class StateWriter {
  readonly path: string;
  #get: () => { routes: RouteSpec[]; joins: JoinSpec[] };
  #current: Promise<void> | null = null;
  #next: Promise<void> | null = null;
  writes = 0;

  constructor(path: string, get: () => { routes: RouteSpec[]; joins: JoinSpec[] }) {
    this.path = path;
    this.#get = get;
    Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  }

  save(): Promise<void> {
    if (this.#next) return this.#next;
    if (!this.#current) return this.#start();
    this.#next = this.#current.catch(() => {}).then(() => {
      this.#next = null;
      return this.#start();
    });
    return this.#next;
  }

  #start(): Promise<void> {
    const p = this.#write().finally(() => {
      if (this.#current === p) this.#current = null;
    });
    this.#current = p;
    return p;
  }

  async #write(): Promise<void> {
    const state: StateFile = { v: 1, ...this.#get() };
    const tmp = `${this.path}.tmp-${Deno.pid}`;
    try {
      await Deno.writeTextFile(tmp, JSON.stringify(state, null, 1) + "\n", { mode: 0o600 });
      await Deno.rename(tmp, this.path);
      this.writes++;
    } catch (e) {
      throw new MppError(
        "io",
        `cannot write state file ${this.path}: ${(e as Error).message.split("\n")[0]}`,
        "the change is active but will not survive a restart; check the directory",
      );
    }
  }
}
