/**
 * The one place commands live at run time. Registering the same name twice is an error (a plugin
 * must not silently replace a built-in); unregister returns whether something was removed.
 */
import type { z } from "zod";
import { MppError } from "../errors.ts";
import type { Command, CommandContext, CommandInfo } from "./command.ts";

function describeZodError(name: string, err: z.ZodError): string {
  const first = err.issues[0];
  const where = first && first.path.length > 0 ? ` at '${first.path.join(".")}'` : "";
  return `bad arguments for '${name}'${where}: ${first?.message ?? "invalid"}`;
}

export class Registry {
  #commands = new Map<string, Command>();

  // deno-lint-ignore no-explicit-any
  register(cmd: Command<any, any>): void {
    if (!/^[a-z][a-z0-9._-]*$/.test(cmd.name)) {
      throw new MppError(
        "bad_input",
        `invalid command name '${cmd.name}'`,
        "use lower-case letters, digits, '.', '_' or '-'",
      );
    }
    if (this.#commands.has(cmd.name)) {
      throw new MppError(
        "busy",
        `command '${cmd.name}' is already registered`,
        "unregister it first or choose another name",
      );
    }
    this.#commands.set(cmd.name, cmd as Command);
  }

  unregister(name: string): boolean {
    return this.#commands.delete(name);
  }

  has(name: string): boolean {
    return this.#commands.has(name);
  }

  get(name: string): Command | undefined {
    return this.#commands.get(name);
  }

  list(): CommandInfo[] {
    return [...this.#commands.values()].map((c) => ({ name: c.name, summary: c.summary }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Validates `rawArgs` against the command's schema, then runs it. Unknown names are MppErrors. */
  async dispatch(name: string, rawArgs: unknown, ctx: CommandContext): Promise<unknown> {
    const cmd = this.#commands.get(name);
    if (!cmd) {
      const known = [...this.#commands.keys()].sort().join(", ");
      throw new MppError("not_found", `unknown command '${name}'`, `known commands: ${known || "(none)"}`);
    }
    const parsed = cmd.args.safeParse(rawArgs ?? {});
    if (!parsed.success) {
      throw new MppError(
        "bad_input",
        describeZodError(name, parsed.error),
        `see 'mpp help' for ${name}'s arguments`,
      );
    }
    return await cmd.run(ctx, parsed.data);
  }
}
