/**
 * One `mpp capture` run: live capture → output file(s) and/or one line per packet, autostop
 * conditions, live drop reports, clean stop on SIGINT/SIGTERM and the closing statistics. Kept out
 * of cli/ so tests and `serve` can run a capture without commander.
 */
import { MppError } from "../errors.ts";
import { CaptureRecord } from "./record.ts";
import { LiveCapture, type LiveOptions, type LiveStats } from "./live.ts";
import { CaptureOutput, type RingSpec } from "./rotation.ts";

export interface AutostopSpec {
  durationS?: number;
  filesizeKB?: number;
  files?: number;
  packets?: number;
}

export interface SessionOptions extends LiveOptions {
  write?: { path: string; format: "pcap" | "pcapng"; ring?: RingSpec };
  count?: number;
  autostop?: AutostopSpec;
  /** Print one line per packet to `lines`: its time, then what `describe` says about the frame. */
  printPackets: boolean;
  /** The text after the time stamp (addresses, protocols); default: length and link type. */
  describe?: (rec: CaptureRecord) => string;
  /** Where packet lines go (default stdout); reports go to `report` (default stderr). */
  lines?: (s: string) => void;
  report?: (s: string) => void;
  /** Print "listening on ..." to `report` once capturing (default true). */
  announce?: boolean;
  /** Handle SIGINT/SIGTERM (default true). */
  signals?: boolean;
  /** Also hand every record to this sink (e.g. lib/flow's Analyzer for --flows); `rec` is reused. */
  records?: (rec: CaptureRecord) => void;
  /** Called about once a second (e.g. to redraw the flow table). */
  everySecond?: () => void;
  /** Called once the interfaces are open (tests use it to start traffic). */
  onReady?: (cap: LiveCapture) => void;
}

export interface SessionResult {
  packets: number;
  bytes: number;
  files: string[];
  bytesWritten: number;
  stats: LiveStats[];
  /** Why it stopped: "signal", "count", "duration", "filesize", "files", "error". */
  reason: string;
  error?: MppError;
}

const enc = new TextEncoder();
const defaultLines = (s: string) => Deno.stdout.writeSync(enc.encode(s));
const defaultReport = (s: string) => Deno.stderr.writeSync(enc.encode(s));

function clock(sec: number, usec6: string, tzOffsetSec: number): string {
  const t = ((sec + tzOffsetSec) % 86400 + 86400) % 86400;
  const h = Math.floor(t / 3600), m = Math.floor(t / 60) % 60, s = t % 60;
  return `${h < 10 ? "0" : ""}${h}:${m < 10 ? "0" : ""}${m}:${s < 10 ? "0" : ""}${s}.${usec6}`;
}

export async function runCaptureSession(opts: SessionOptions): Promise<SessionResult> {
  const lines = opts.lines ?? defaultLines;
  const report = opts.report ?? defaultReport;
  const cap = await LiveCapture.open(opts);
  for (const f of cap.interfaces) if (f.warning) report(`mpp: warning: ${f.name}: ${f.warning}\n`);
  if (opts.announce ?? true) {
    // Like tcpdump's "listening on" line: also tells scripts and tests that capture has started.
    for (const f of cap.interfaces) {
      report(`listening on ${f.name}, link-type ${f.linkType}, snapshot length ${f.snaplen} bytes\n`);
    }
  }
  let out: CaptureOutput | undefined;
  try {
    out = opts.write
      ? new CaptureOutput({ ...opts.write, interfaces: cap.interfaces, ring: opts.write.ring })
      : undefined;
  } catch (e) {
    cap.stop();
    await cap.run(() => {});
    throw e;
  }
  let reason = "signal";
  const stopFor = (why: string) => {
    if (!cap.stopping) {
      reason = why;
      cap.stop();
    }
  };
  // First signal: stop cleanly (drain, flush, close). A second one: stop without draining.
  const onSignal = () => {
    if (cap.stopping) cap.abort();
    else stopFor("signal");
  };
  const signals = opts.signals ?? true;
  if (signals) {
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
  }
  const auto = opts.autostop ?? {};
  const started = performance.now();
  const tz = -new Date().getTimezoneOffset() * 60;
  const describe = opts.describe ?? ((r: CaptureRecord) => `length ${r.origLen}, link type ${r.linkType}`);
  const rec = new CaptureRecord();
  const names = cap.interfaces.map((f) => f.name);
  const multi = names.length > 1;
  let packets = 0, bytes = 0;
  let error: MppError | undefined;
  const lastDrops = cap.interfaces.map(() => 0);

  const sink = (
    ifIndex: number,
    buf: Uint8Array,
    off: number,
    caplen: number,
    origLen: number,
    s: number,
    f: number,
  ) => {
    packets++;
    bytes += origLen;
    if (out && !error) {
      try {
        out.write(ifIndex, buf, off, caplen, origLen, s, f);
      } catch (e) {
        error = e instanceof MppError ? e : new MppError("io", String(e), "");
        stopFor("error");
      }
      if (auto.filesizeKB && out.currentFileBytes >= auto.filesizeKB * 1000 && !out.rotating) {
        stopFor("filesize");
      }
      if (auto.files && out.fileCount > auto.files) stopFor("files");
    }
    if (opts.printPackets || opts.records) {
      const nanos = cap.interfaces[ifIndex].nanos;
      rec.data = buf.subarray(off, off + caplen);
      rec.origLen = origLen;
      rec.tsSec = s;
      rec.tsNsec = nanos ? f : f * 1000;
      rec.linkType = cap.interfaces[ifIndex].linkType;
      rec.interfaceId = ifIndex;
      rec.index = packets - 1;
      opts.records?.(rec);
    }
    if (opts.printPackets) {
      const nanos = cap.interfaces[ifIndex].nanos;
      const frac = nanos ? String(f).padStart(9, "0") : String(f).padStart(6, "0");
      lines(`${clock(s, frac, tz)} ${multi ? names[ifIndex] + " " : ""}${describe(rec)}\n`);
    }
  };
  let lastSecond = performance.now();
  const tick = () => {
    if (opts.everySecond && performance.now() - lastSecond >= 1000) {
      lastSecond = performance.now();
      opts.everySecond();
    }
    if (auto.durationS && performance.now() - started >= auto.durationS * 1000) stopFor("duration");
    if (out && !error) {
      try {
        out.tick();
      } catch (e) {
        error = e as MppError;
        stopFor("error");
      }
      if (auto.files && out.fileCount > auto.files) stopFor("files");
    }
    // Drops are reported as soon as the worker's pcap_stats shows them.
    cap.stats().forEach((st, i) => {
      if (st.dropped > lastDrops[i]) {
        report(
          `mpp: ${st.name}: ${st.dropped} packets dropped by the kernel so far (+${
            st.dropped - lastDrops[i]
          })\n`,
        );
        lastDrops[i] = st.dropped;
      }
    });
  };
  const limit = Math.min(opts.count ?? Infinity, auto.packets ?? Infinity);
  try {
    opts.onReady?.(cap);
    const n = await cap.run(sink, { limit, onTick: tick, tickMs: 200 });
    if (n >= limit) reason = opts.count !== undefined && n >= opts.count ? "count" : "packets";
  } catch (e) {
    error ??= e instanceof MppError ? e : new MppError("internal", String(e), "");
  } finally {
    if (signals) {
      Deno.removeSignalListener("SIGINT", onSignal);
      Deno.removeSignalListener("SIGTERM", onSignal);
    }
    if (out && !error) {
      try {
        out.close();
      } catch (e) {
        error = e as MppError;
      }
    }
  }
  if (error) reason = "error";
  return {
    packets,
    bytes,
    files: out?.files ?? [],
    bytesWritten: out?.bytesWritten ?? 0,
    stats: cap.stats(),
    reason,
    error,
  };
}

/** The closing lines, in the spirit of tcpdump's and dumpcap's. */
export function formatSummary(r: SessionResult): string {
  const lines: string[] = [];
  const written = r.files.length
    ? `, ${r.bytesWritten} bytes written to ${r.files.length === 1 ? r.files[0] : `${r.files.length} files`}`
    : "";
  lines.push(`${r.packets} packets captured (${r.bytes} bytes on the wire)${written}`);
  for (const s of r.stats) {
    lines.push(
      `${s.name}: ${s.received} packets received by filter, ${s.dropped} dropped by kernel, ` +
        `${s.ifDropped} dropped by interface`,
    );
  }
  return lines.join("\n") + "\n";
}
