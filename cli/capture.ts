/**
 * `mpp capture`: live capture through libpcap with tcpdump's and dumpcap's options. The work is in
 * lib/capture/live_session.ts; this file parses options and prints.
 */
import { Option } from "@commander-js/extra-typings";
import type { Program } from "./main.ts";
import { MppError } from "../lib/errors.ts";
import { findAllDevs } from "../ffi/libpcap.ts";
import { type AutostopSpec, formatSummary, runCaptureSession } from "../lib/capture/live_session.ts";
import { formatForPath, type RingSpec } from "../lib/capture/rotation.ts";
import { Analyzer } from "../lib/flow/analyzer.ts";
import { buildReport } from "../lib/flow/report.ts";
import { renderTree } from "./render/tree.ts";
import type { CaptureRecord } from "../lib/capture/record.ts";
import { Packet } from "../lib/packet/packet.ts";
import { PacketDecoder } from "../lib/packet/decoder.ts";
import { summarize } from "../lib/packet/format.ts";
import { defaultRegistry } from "../decoders/registry.ts";
import type { Carrier } from "../decoders/decoder.ts";

/**
 * The packet line after the time stamp: lib/packet's tcpdump-like summary, plus the application
 * protocol and message type when a decoder recognises this single packet by its structure
 * (port-only guesses are left out: one packet is too little to trust them).
 */
function packetDescriber(): (rec: CaptureRecord) => string {
  const decoder = new PacketDecoder();
  const registry = defaultRegistry();
  const pkt = new Packet();
  return (rec) => {
    decoder.decode(rec, pkt);
    const base = summarize(pkt);
    const carrier: Carrier | null = pkt.ipProto === 17
      ? "udp"
      : pkt.ipProto === 6
      ? "tcp"
      : pkt.ipVersion === 0
      ? "ether"
      : null;
    if (carrier === null || pkt.malformed || (carrier !== "ether" && pkt.payloadLen <= 0)) return base;
    const c = registry.classify(pkt, carrier);
    if (!c || c.evidence === "port" || c.confidence < 0.5) return base;
    const type = c.decoder.decode(pkt, c.decoder.createState());
    return `${base} [${c.decoder.name}${type >= 0 ? " " + c.decoder.packetTypes[type] : ""}]`;
  };
}

function positive(what: string, example: string, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) {
      throw new MppError("bad_usage", `${what} '${v}' is not a positive whole number`, `e.g. ${example}`);
    }
    if (n > max) throw new MppError("bad_usage", `${what} ${n} is larger than ${max}`, `e.g. ${example}`);
    return n;
  };
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Parses `key:value` conditions of -b and -a (dumpcap's syntax). */
export function parseConditions(
  list: string[],
  allowed: readonly string[],
  flag: string,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of list) {
    const m = /^([a-z]+):(\d+(?:\.\d+)?)$/.exec(item);
    if (!m || !allowed.includes(m[1])) {
      throw new MppError(
        "bad_usage",
        `bad ${flag} condition '${item}'`,
        `use ${allowed.map((a) => `${flag} ${a}:N`).join(", ")}`,
      );
    }
    const n = Number(m[2]);
    if (!(n > 0) || (m[1] !== "duration" && !Number.isInteger(n))) {
      throw new MppError("bad_usage", `bad ${flag} condition '${item}': the value must be positive`, "");
    }
    out[m[1]] = n;
  }
  return out;
}

function listInterfaces(): void {
  const devs = findAllDevs();
  devs.forEach((d, i) => {
    const flags = [
      d.up ? "Up" : "Down",
      d.running ? "Running" : "",
      d.loopback ? "Loopback" : "",
      d.wireless ? "Wireless" : "",
    ]
      .filter(Boolean).join(", ");
    const addrs = d.addresses.filter((a) => a.family !== "packet").map((a) => a.addr).join(" ");
    const desc = d.description ? ` (${d.description})` : "";
    console.log(`${i + 1}. ${d.name}${desc} [${flags}]${addrs ? " " + addrs : ""}`);
  });
}

export function register(program: Program): void {
  program
    .command("capture")
    .description(
      "capture live traffic through libpcap (like tcpdump/dumpcap); run as root or with CAP_NET_RAW",
    )
    .option("-i, --interface <name>", "interface to capture on (repeat for several)", collect, [] as string[])
    .option("-D, --list", "list the interfaces and exit")
    .option("-f, --filter <expr>", "capture filter in tcpdump syntax, e.g. 'udp port 53'")
    .option(
      "-s, --snaplen <bytes>",
      "bytes kept of each packet",
      positive("snaplen", "-s 2048", 262144),
      262144,
    )
    .option("--no-promisc", "do not put the interface in promiscuous mode")
    .option("--immediate", "deliver each packet at once instead of in 100 ms blocks (use a small -s with it)")
    .option(
      "-B, --buffer-size <MiB>",
      "kernel capture buffer in MiB (dumpcap's unit; tcpdump's -B is KiB)",
      positive("buffer size", "-B 8", 2047),
    )
    .addOption(
      new Option("--tstamp-precision <p>", "time stamp precision").choices(["micro", "nano"] as const)
        .default("micro" as const),
    )
    .option("-c, --count <n>", "stop after N packets", positive("count", "-c 100"))
    .option(
      "-a, --autostop <cond>",
      "stop on duration:S, filesize:KB, files:N or packets:N (repeatable)",
      collect,
      [] as string[],
    )
    .option(
      "-w, --write <file>",
      "write packets to FILE (pcapng, or pcap for .pcap names or -F pcap); - for stdout",
    )
    .addOption(new Option("-F, --format <fmt>", "output file format").choices(["pcap", "pcapng"] as const))
    .option(
      "-b, --ring-buffer <cond>",
      "switch files on filesize:KB, duration:S or packets:N; keep files:N (repeatable)",
      collect,
      [] as string[],
    )
    .option("-q, --quiet", "print nothing per packet")
    .option("--flows", "show the flow hierarchy table, refreshed every second, instead of packet lines")
    .option("--top <n>", "flows shown by --flows", positive("--top", "--top 20"), 20)
    .action(async (opts) => {
      if (opts.list) {
        listInterfaces();
        return;
      }
      if (opts.interface.length === 0) {
        const names = findAllDevs().map((d) => d.name);
        throw new MppError("bad_usage", "no interface given", `use -i with one of: ${names.join(", ")}`);
      }
      const ring = parseConditions(opts.ringBuffer, ["filesize", "duration", "files", "packets"], "-b") as
        & RingSpec
        & {
          filesize?: number;
          duration?: number;
        };
      const auto = parseConditions(opts.autostop, ["duration", "filesize", "files", "packets"], "-a");
      if (opts.ringBuffer.length && !opts.write) {
        throw new MppError("bad_usage", "-b needs -w FILE", "e.g. -w out.pcapng -b filesize:1000 -b files:5");
      }
      if (opts.format && !opts.write) throw new MppError("bad_usage", "-F needs -w FILE", "add -w FILE");
      const ringSpec: RingSpec | undefined = opts.ringBuffer.length
        ? { filesizeKB: ring.filesize, durationS: ring.duration, packets: ring.packets, files: ring.files }
        : undefined;
      const autostop: AutostopSpec = {
        durationS: auto.duration,
        filesizeKB: auto.filesize,
        files: auto.files,
        packets: auto.packets,
      };
      const toStdout = opts.write === "-";
      if (opts.immediate && opts.snaplen > 2048 && !opts.quiet) {
        // Measured here: immediate mode uses fixed ring frames of the snaplen, so a 64 KiB+ snaplen
        // leaves room for few packets and bursts get dropped (toolchain notes, section 5).
        console.error(
          `mpp: warning: --immediate with a ${opts.snaplen}-byte snaplen drops packets in bursts; add -s 2048`,
        );
      }
      const flows = opts.flows && !toStdout ? new Analyzer() : undefined;
      const printPackets = !flows && !opts.quiet && !toStdout && (!opts.write || Deno.stdout.isTerminal());
      const tty = Deno.stdout.isTerminal();
      const draw = (final: boolean) => {
        if (!flows) return;
        if (final) flows.finish();
        const text = renderTree(buildReport(flows, { top: opts.top, sort: "frames", files: [] }));
        // On a terminal, redraw in place; otherwise print one table per second.
        Deno.stdout.writeSync(
          new TextEncoder().encode((tty ? "\x1b[H\x1b[2J" : "") + text + (tty ? "" : "\n")),
        );
      };
      const result = await runCaptureSession({
        interfaces: opts.interface,
        filter: opts.filter,
        snaplen: opts.snaplen,
        promisc: opts.promisc,
        immediate: opts.immediate ?? false,
        bufferBytes: opts.bufferSize ? opts.bufferSize * 1024 * 1024 : undefined,
        nanos: opts.tstampPrecision === "nano",
        count: opts.count,
        autostop,
        write: opts.write
          ? { path: opts.write, format: formatForPath(opts.write, opts.format), ring: ringSpec }
          : undefined,
        printPackets,
        describe: printPackets ? packetDescriber() : undefined,
        announce: !opts.quiet,
        records: flows ? (rec) => flows.record(rec) : undefined,
        everySecond: flows ? () => draw(false) : undefined,
      });
      if (flows) draw(true);
      if (!opts.quiet || result.error) Deno.stderr.writeSync(new TextEncoder().encode(formatSummary(result)));
      if (result.error) throw result.error;
    });
}
