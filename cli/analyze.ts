import type { Program } from "./main.ts";

// Placeholder until lib/flow lands: registered so the program builds.
export function register(program: Program): void {
  program.command("analyze").description("offline analysis of capture files (in progress)").argument(
    "<files...>",
  );
}
