#!/usr/bin/env -S deno run -A
/**
 * mpp entry point: builds the commander program from one module per subcommand and maps every
 * MppError to `mpp: message` + `hint: …` with exit status 1 (bad input) or 2 (bad usage).
 */
import type { Command } from "@commander-js/extra-typings";
import { isMppError } from "../lib/errors.ts";
import { VERSION } from "../lib/version.ts";

export type Program = Command<[], Record<string, never>>;

/**
 * Each subcommand module exports `register(program)`. Only the module of the subcommand being
 * run is loaded (all of them for help), so `mpp mroute add` does not pay for the analysis code.
 */
const modules: Record<string, () => Promise<{ register(program: Program): void }>> = {
  analyze: () => import("./analyze.ts"),
  capture: () => import("./capture.ts"),
  mroute: () => import("./mroute.ts"),
};

function printError(e: unknown, debug: boolean): number {
  if (isMppError(e)) {
    console.error(`mpp: ${e.message}`);
    if (e.hint) console.error(`hint: ${e.hint}`);
    if (debug && e.stack) console.error(e.stack);
    return e.exitCode;
  }
  const msg = e instanceof Error ? e.message : String(e);
  console.error(`mpp: internal error: ${msg.split("\n")[0]}`);
  console.error("hint: run again with --debug for details and report it");
  if (debug && e instanceof Error && e.stack) console.error(e.stack);
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  // One-shot mroute client calls (`mpp mroute add ...`) skip commander entirely: start-up is most
  // of their cost, and scripts call them once per route.
  if (argv[0] === "mroute") {
    const fast = (await import("./mroute.ts")).runFast(argv.slice(1));
    if (fast !== null) return await fast;
  }
  const { Command, CommanderError } = await import("@commander-js/extra-typings");
  const program: Program = new Command()
    .name("mpp")
    .description("Modular Packet Processor: capture, analyze and route multicast, in one tool")
    .version(VERSION, "-V, --version")
    .option("--debug", "print stack traces for errors")
    .showHelpAfterError("(run 'mpp help' or 'mpp <command> --help' for usage)")
    .exitOverride() as unknown as Program;
  const sub = argv.find((a) => !a.startsWith("-"));
  const wanted = sub !== undefined && sub in modules ? [modules[sub]] : Object.values(modules);
  for (const load of wanted) (await load()).register(program);
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof Deno.exitCode === "number" ? Deno.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed its message; help and version are not errors.
      if (
        e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help"
      ) {
        return 0;
      }
      return 2;
    }
    return printError(e, debug);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
