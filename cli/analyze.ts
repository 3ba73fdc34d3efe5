import { Option } from "@commander-js/extra-typings";
import type { Program } from "./main.ts";
import { MppError } from "../lib/errors.ts";
import { analyzeFiles } from "../lib/flow/analyze_files.ts";
import type { ConvType } from "../lib/flow/report_schema.ts";
import { renderTree } from "./render/tree.ts";
import { renderConversations, renderEndpoints, renderIo, renderPhs } from "./render/stats.ts";
import { renderCsv } from "./render/csv.ts";
import { ProgressBar } from "./render/progress.ts";
import { frameFilter } from "../lib/flow/frame_filter.ts";

const CONV_TYPES = ["eth", "ip", "ipv6", "tcp", "udp"] as const;

function parseTypes(v: string): ConvType[] {
  const list = v.split(",").map((s) => s.trim()).filter(Boolean);
  for (const t of list) {
    if (!(CONV_TYPES as readonly string[]).includes(t)) {
      throw new MppError(
        "bad_usage",
        `unknown conversation type '${t}'`,
        `use one or more of ${CONV_TYPES.join(",")}`,
      );
    }
  }
  return list as ConvType[];
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new MppError("bad_usage", `'${v}' is not a whole number`, "give --top a count such as 20");
  }
  return n;
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    throw new MppError("bad_usage", `'${v}' is not a positive number of seconds`, "e.g. --io 1 or --io 0.1");
  }
  return n;
}

export function register(program: Program): void {
  program
    .command("analyze")
    .description("offline analysis: flow hierarchy, conversations, protocol hierarchy, io statistics")
    .argument("<files...>", "pcap or pcapng files (.gz accepted), or - for standard input")
    .addOption(
      new Option("--json", "print the versioned JSON report (schema mpp.analyze/1)").conflicts("csv"),
    )
    .option("--pretty", "indent the JSON report")
    .option("--csv", "print the flow hierarchy as CSV, one row per node")
    .option(
      "--top <n>",
      "show only the N largest flows (default: 30 on a terminal, all in JSON/CSV)",
      positiveInt,
    )
    .addOption(
      new Option("--sort <key>", "order flows by").choices(["frames", "bytes", "duration"] as const).default(
        "frames" as const,
      ),
    )
    .option("--flows", "print the flow hierarchy (the default view)")
    .option("--conv [types]", "print conversation tables like tshark -z conv (eth,ip,ipv6,tcp,udp)")
    .option("--phs", "print protocol hierarchy statistics like tshark -z io,phs")
    .option("--endpoints [types]", "print endpoint tables like tshark -z endpoints (eth,ip,ipv6,tcp,udp)")
    .option("--io <secs>", "print frames and bytes per interval like tshark -z io,stat", seconds)
    .option("--decode-as <rule...>", "force a decoder, e.g. udp.port=5000:rtp (repeatable)")
    .option(
      "-f, --filter <expr>",
      "analyse only frames matching a tcpdump (BPF) filter expression; needs libpcap",
    )
    .option("-q, --quiet", "no warnings on stderr")
    .action(async (files, opts) => {
      const progress = Deno.stderr.isTerminal() && !opts.quiet ? new ProgressBar() : null;
      const convTypes = opts.conv === undefined
        ? null
        : opts.conv === true
        ? [...CONV_TYPES]
        : parseTypes(opts.conv);
      const epTypes = opts.endpoints === undefined
        ? null
        : opts.endpoints === true
        ? [...CONV_TYPES]
        : parseTypes(opts.endpoints);
      const structured = opts.json || opts.csv;
      const top = opts.top ?? (structured ? undefined : 30);
      const { report, warnings } = await analyzeFiles(files, {
        decodeAs: opts.decodeAs,
        filter: opts.filter !== undefined ? frameFilter(opts.filter) : undefined,
        ioInterval: opts.io,
        top,
        sort: opts.sort,
        onProgress: progress ? (name, done, total) => progress.update(name, done, total) : undefined,
      });
      progress?.clear();
      if (!opts.quiet) { for (const w of warnings) console.error(`mpp: warning: ${w}`); }
      if (opts.json) {
        // Compact by default (a 1M-packet report is 40% smaller and faster to write); --pretty indents.
        await writeOut(JSON.stringify(report, null, opts.pretty ? 2 : undefined) + "\n");
        return;
      }
      if (opts.csv) {
        await writeOut(renderCsv(report));
        return;
      }
      const parts: string[] = [];
      const views = convTypes || epTypes || opts.phs || opts.io !== undefined;
      if (opts.flows || !views) parts.push(renderTree(report));
      if (opts.phs) parts.push(renderPhs(report));
      if (convTypes) parts.push(renderConversations(report, convTypes));
      if (epTypes) parts.push(renderEndpoints(report, epTypes));
      if (opts.io !== undefined) parts.push(renderIo(report));
      await writeOut(parts.join("\n"));
    });
}

async function writeOut(s: string): Promise<void> {
  const data = new TextEncoder().encode(s);
  try {
    let off = 0;
    while (off < data.length) off += await Deno.stdout.write(data.subarray(off));
  } catch (e) {
    // A closed pipe (`mpp analyze f | head`) is not an error worth a message.
    if (e instanceof Deno.errors.BrokenPipe) return;
    throw e;
  }
}
