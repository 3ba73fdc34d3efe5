/**
 * Access to the shared public capture corpus (../shared/testdata/pcaps) for tests. The corpus is
 * read in place, never copied into the repo. When it is absent, `corpusTest` registers the test as
 * ignored and says why, so a missing corpus shows up as skips, never as silent passes.
 */
import { z } from "zod";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const CORPUS_DIR = Deno.env.get("MPP_CORPUS") ??
  join(fileURLToPath(new URL("../../", import.meta.url)), "..", "shared", "testdata", "pcaps");

const ExpectedFile = z.object({
  size: z.number(),
  sha256: z.string(),
  format: z.string().optional(),
  linktype_values_in_file: z.array(z.number()).optional(),
  packets: z.number(),
  capinfos_packets: z.number().optional(),
  first_ts: z.string().nullish(),
  last_ts: z.string().nullish(),
  min_ts: z.string().nullish(),
  max_ts: z.string().nullish(),
  frames_without_timestamp: z.number().optional(),
  interfaces_used: z.array(z.number()).optional(),
  protocols: z.record(z.string(), z.number()).optional(),
  phs: z.record(z.string(), z.number()).optional(),
  tshark_exit_code: z.number().optional(),
  tshark_error: z.string().optional(),
}).loose();
export type ExpectedFile = z.infer<typeof ExpectedFile>;

const Expected = z.object({ files: z.record(z.string(), ExpectedFile) }).loose();

export const corpusAvailable: boolean = existsSync(join(CORPUS_DIR, "expected.json"));

let cached: Record<string, ExpectedFile> | undefined;
/** expected.json parsed and validated; empty when the corpus is absent. */
export function expected(): Record<string, ExpectedFile> {
  if (!corpusAvailable) return {};
  cached ??= Expected.parse(JSON.parse(readFileSync(join(CORPUS_DIR, "expected.json"), "utf8"))).files;
  return cached;
}

export function corpusPath(name: string): string {
  return join(CORPUS_DIR, name);
}

const reason = `corpus not found at ${CORPUS_DIR} (set MPP_CORPUS or check out ../shared/testdata/pcaps)`;
let warned = false;

/** Deno.test that is ignored, with a visible reason, when the shared corpus is absent. */
export function corpusTest(name: string, fn: () => void | Promise<void>): void {
  if (!corpusAvailable && !warned) {
    warned = true;
    console.warn(`SKIP corpus tests: ${reason}`);
  }
  Deno.test({ name: corpusAvailable ? name : `${name} (SKIPPED: ${reason})`, ignore: !corpusAvailable, fn });
}

/**
 * Registers one test per corpus file through `register` (which calls corpusTest). Without the
 * corpus the list is empty, so one test named `what` is registered instead, ignored with the
 * reason: a per-file suite never disappears without a word.
 */
export function eachCorpusFile(what: string, files: string[], register: (file: string) => void): void {
  if (!corpusAvailable) {
    corpusTest(`${what} (one test per corpus file)`, () => {});
    return;
  }
  for (const f of files) register(f);
}

/** The names of all corpus files (pcap and pcapng), sorted. */
export function corpusFiles(): string[] {
  return Object.keys(expected()).sort();
}

/** True when an external tool (tshark, tcpdump, ...) is on PATH. */
export function haveTool(name: string): boolean {
  try {
    const r = new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null", stderr: "null" })
      .outputSync();
    return r.success;
  } catch {
    return false;
  }
}

/** Deno.test ignored with a visible reason when a condition fails (not root, tool missing...). */
export function testIf(cond: boolean, why: string, name: string, fn: () => void | Promise<void>): void {
  if (!cond) console.warn(`SKIP ${name}: ${why}`);
  Deno.test({ name: cond ? name : `${name} (SKIPPED: ${why})`, ignore: !cond, fn });
}

export const isRoot: boolean = Deno.uid() === 0;
