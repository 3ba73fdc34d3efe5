import { Option } from "@commander-js/extra-typings";
import type { Program } from "./main.ts";
import { MppError } from "../lib/errors.ts";
import { analyzeFiles } from "../lib/flow/analyze_files.ts";
import type { ConvType } from "../lib/flow/report_schema.ts";
import { renderTree } from "./render/tree.ts";
import { renderConversations, renderEndpoints, renderIo, renderPhs } from "./render/stats.ts";
import { renderCsv } from "./render/csv.ts";
import { JsonWriter } from "./render/json_out.ts";
import { ProgressBar } from "./render/progress.ts";
import type { StreamListener } from "../lib/tcp/reassembly.ts";
import { StreamWriter } from "../lib/tcp/stream_writer.ts";
import { Follower, parseFollowTarget } from "../lib/tcp/follow.ts";
import { HttpExtractor } from "../decoders/http_extract.ts";
import { renderHttp } from "../decoders/http_report.ts";

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

function threadCount(v: string): number | "auto" {
  if (v === "auto") return v;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new MppError(
      "bad_usage",
      `'${v}' is not a thread count`,
      "give --threads auto or a number from 1 to 64",
    );
  }
  return n;
}

/** A byte count with an optional k/M/G suffix (powers of 1024). */
function byteSize(v: string): number {
  const m = /^(\d+)([kmg]?)i?b?$/i.exec(v.trim());
  const n = m ? Number(m[1]) * 1024 ** " kmg".indexOf((m[2] || " ").toLowerCase()) : NaN;
  if (!Number.isSafeInteger(n) || n < 4096) {
    throw new MppError("bad_usage", `'${v}' is not a byte size of at least 4k`, "e.g. --tcp-buffer 4M");
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
    .option("--streams <dir>", "write each TCP direction's bytes to DIR (tcpflow names) plus DIR/index.json")
    .option(
      "--follow <stream>",
      "print one TCP conversation like tshark -z follow: a stream number or ip:port,ip:port",
    )
    .addOption(
      new Option("--format <mode>", "--follow output").choices(["raw", "ascii", "hex"] as const).default(
        "ascii" as const,
      ),
    )
    .option("--http", "print the HTTP transactions (method, host, URI, status, sizes, latency)")
    .option("--extract-http <dir>", "save HTTP bodies to DIR (gzip/deflate decoded) with DIR/bodies.json")
    .option("--no-reassembly", "turn TCP stream reassembly (and with it HTTP) off")
    .option("--tcp-buffer <bytes>", "out-of-order bytes one TCP direction may buffer (default 1M)", byteSize)
    .option(
      "--tcp-memory <bytes>",
      "out-of-order bytes all TCP connections may buffer (default 256M)",
      byteSize,
    )
    .option(
      "--threads <n>",
      "split the flows over N threads: auto (default) uses every core on inputs of 64 MiB and more (1 GiB with --no-reassembly)",
      threadCount,
    )
    .option("-q, --quiet", "no warnings on stderr")
    .action(async (files, opts) => {
      const follow = opts.follow !== undefined ? new Follower(parseFollowTarget(opts.follow)) : null;
      if (!opts.reassembly && (follow || opts.streams || opts.http || opts.extractHttp)) {
        throw new MppError(
          "bad_usage",
          "--no-reassembly conflicts with --streams, --follow, --http and --extract-http",
          "drop --no-reassembly",
        );
      }
      const writer = opts.streams !== undefined ? StreamWriter.create(opts.streams) : null;
      const extractor = opts.extractHttp !== undefined ? HttpExtractor.create(opts.extractHttp) : null;
      const listeners: StreamListener[] = [];
      if (writer) listeners.push(writer);
      if (follow) listeners.push(follow);
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
      const { report, warnings, tcp } = await analyzeFiles(files, {
        tcp: opts.reassembly ? { perDirection: opts.tcpBuffer, globalLimit: opts.tcpMemory } : false,
        tcpListeners: listeners,
        httpBodies: extractor ?? undefined,
        httpTransactions: opts.http === true,
        decodeAs: opts.decodeAs,
        filterExpr: opts.filter,
        threads: opts.threads ?? "auto",
        ioInterval: opts.io,
        top,
        sort: opts.sort,
        onProgress: progress ? (name, done, total) => progress.update(name, done, total) : undefined,
      });
      progress?.clear();
      if (writer && tcp) {
        const idx = await writer.finish(tcp.streams, { ...tcp.totals(), peakBuffered: tcp.budget.peak });
        if (!opts.quiet) console.error(`mpp: wrote ${idx.streams.length} TCP streams to ${opts.streams}`);
      }
      if (extractor) warnings.push(...await extractor.finish());
      if (!opts.quiet) { for (const w of warnings) console.error(`mpp: warning: ${w}`); }
      if (opts.json) {
        // Compact by default (a 1M-packet report is 40% smaller and faster to write); --pretty indents.
        if (opts.pretty) await writeOut(JSON.stringify(report, null, 2) + "\n");
        else writeJson(report);
        return;
      }
      if (opts.csv) {
        await writeOut(renderCsv(report));
        return;
      }
      const parts: string[] = [];
      const views = convTypes || epTypes || opts.phs || opts.io !== undefined || opts.http || follow;
      if (opts.flows || !views) parts.push(renderTree(report));
      if (opts.phs) parts.push(renderPhs(report));
      if (convTypes) parts.push(renderConversations(report, convTypes));
      if (epTypes) parts.push(renderEndpoints(report, epTypes));
      if (opts.io !== undefined) parts.push(renderIo(report));
      if (opts.http) parts.push(renderHttp(report.http));
      if (follow) parts.push(follow.render(opts.format));
      await writeOut(parts.join("\n"));
    });
}

/** Compact JSON to stdout in pieces (JsonWriter), never as one string. */
function writeJson(report: unknown): void {
  try {
    new JsonWriter((b) => {
      let off = 0;
      while (off < b.length) off += Deno.stdout.writeSync(b.subarray(off));
    }).write(report);
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe) return;
    throw e;
  }
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
