/**
 * The capture Worker: owns the libpcap handles, waits in poll(2) (so the main thread's event loop
 * never blocks on libpcap, and a quiet interface still notices the stop flag), and lets libpcap copy
 * batches of records into the shared ring with one pcap_dispatch call per batch.
 *
 * On stop it keeps reading until the kernel has nothing left: with TPACKET_V3 a block reaches user
 * space only when full or when its timeout retires it, so it polls for longer than that timeout
 * after the stop request (tcpdump loses this tail when it exits at once).
 */
/// <reference lib="deno.worker" />
import { MemoryDumper, PcapHandle, Poller } from "../../ffi/libpcap.ts";
import { findAllDevs } from "../../ffi/libpcap.ts";
import { isMppError } from "../errors.ts";
import { Ctrl, RingWriter, WorkerState } from "./live_ring.ts";
import { describeIssues, type LiveConfig, StartMessage } from "./live_config.ts";

export type { LiveConfig } from "./live_config.ts";

export interface OpenedInterface {
  name: string;
  linkType: number;
  snaplen: number;
  nanos: boolean;
  warning?: string;
}

export type WorkerReply =
  | { type: "ready"; interfaces: OpenedInterface[] }
  | { type: "error"; code: string; message: string; hint: string }
  | { type: "done" };

const post = (m: WorkerReply) => self.postMessage(m);

interface Source {
  handle: PcapHandle;
  dumper: MemoryDumper;
  index: number;
}

function open(config: LiveConfig, ring: RingWriter): { sources: Source[]; opened: OpenedInterface[] } {
  const sources: Source[] = [];
  const opened: OpenedInterface[] = [];
  const names = () => findAllDevs().map((d) => d.name);
  try {
    config.interfaces.forEach((name, index) => {
      const h = PcapHandle.create(name);
      sources.push({ handle: h, dumper: undefined as unknown as MemoryDumper, index });
      h.setSnaplen(config.snaplen);
      h.setPromisc(config.promisc);
      h.setTimeout(config.timeoutMs);
      h.setImmediate(config.immediate);
      if (config.bufferBytes) h.setBufferSize(config.bufferBytes);
      h.setNanoPrecision(config.nanos);
      const warning = h.activate(names);
      if (config.filter !== undefined && config.filter !== "") {
        using code = h.compile(config.filter);
        h.setFilter(code);
      }
      h.setNonblock(true);
      sources[sources.length - 1].dumper = new MemoryDumper(h, ring.data);
      opened.push({ name, linkType: h.datalink(), snaplen: h.snapshot(), nanos: config.nanos, warning });
    });
  } catch (e) {
    for (const s of sources) {
      s.dumper?.[Symbol.dispose]();
      s.handle.close();
    }
    throw e;
  }
  return { sources, opened };
}

/** Reads everything libpcap has for one source into the ring; returns the packet count. */
function drainSource(s: Source, ring: RingWriter, snaplen: number, end: { end: number }): number {
  let total = 0;
  for (;;) {
    if (Atomics.load(ring.ctrl, Ctrl.STOP) === 2) return total; // abort: the reader is gone
    // Ask for room for up to 64 full-size records, but never more than a quarter of the ring.
    const at = ring.reserve(
      Math.max(32 + snaplen, Math.min(16 + 64 * (16 + snaplen), ring.data.length >> 2)),
    );
    if (at < 0) {
      ring.waitForRoom(50);
      continue;
    }
    const max = RingWriter.fitCount(ring.room(at), snaplen);
    if (max <= 0) {
      ring.waitForRoom(50);
      continue;
    }
    const n = s.dumper.dispatch(at + 16, max, end);
    if (n < 0) throw new Error(`${s.handle.source}: ${s.handle.lastError()}`);
    if (n === 0) return total;
    ring.commit(at, end.end, s.index, n);
    total += n;
  }
}

const statsBuf = new Uint32Array(3);
function publishStats(sources: Source[], ctrl: Int32Array): void {
  for (const s of sources) {
    if (s.handle.stats(statsBuf)) {
      const base = Ctrl.STATS + 4 * s.index;
      Atomics.store(ctrl, base, statsBuf[0] | 0);
      Atomics.store(ctrl, base + 1, statsBuf[1] | 0);
      Atomics.store(ctrl, base + 2, statsBuf[2] | 0);
    }
  }
}

function run(config: LiveConfig, ctrlSab: SharedArrayBuffer, dataSab: SharedArrayBuffer): void {
  const ring = new RingWriter(ctrlSab, dataSab);
  const ctrl = ring.ctrl;
  let sources: Source[];
  try {
    const o = open(config, ring);
    sources = o.sources;
    post({ type: "ready", interfaces: o.opened });
  } catch (e) {
    Atomics.store(ctrl, Ctrl.STATE, WorkerState.FAILED);
    if (isMppError(e)) post({ type: "error", code: e.code, message: e.message, hint: e.hint });
    else post({ type: "error", code: "internal", message: (e as Error).message, hint: "" });
    return;
  }
  Atomics.store(ctrl, Ctrl.STATE, WorkerState.RUNNING);
  const poller = new Poller(sources.map((s) => s.handle.selectableFd()));
  const end = { end: 0 };
  let lastStats = 0;
  try {
    while (Atomics.load(ctrl, Ctrl.STOP) === 0) {
      poller.wait(100);
      for (const s of sources) drainSource(s, ring, config.snaplen, end);
      const now = performance.now();
      if (now - lastStats >= 200) {
        publishStats(sources, ctrl);
        lastStats = now;
      }
    }
    // Drain the kernel: keep reading until a quiet period longer than the block timeout.
    Atomics.store(ctrl, Ctrl.STATE, WorkerState.DRAINING);
    const quiet = config.immediate ? 30 : config.timeoutMs + 50;
    const hardStop = performance.now() + Math.max(2000, 4 * quiet);
    let lastPacket = performance.now();
    while (Atomics.load(ctrl, Ctrl.STOP) === 1 && performance.now() < hardStop) {
      poller.wait(Math.min(20, quiet));
      let got = 0;
      for (const s of sources) got += drainSource(s, ring, config.snaplen, end);
      const now = performance.now();
      if (got > 0) lastPacket = now;
      else if (now - lastPacket > quiet) break;
    }
    publishStats(sources, ctrl);
  } catch (e) {
    post({ type: "error", code: "bad_capture", message: (e as Error).message, hint: "" });
  } finally {
    for (const s of sources) {
      s.dumper[Symbol.dispose]();
      s.handle.close();
    }
    Atomics.store(ctrl, Ctrl.STATE, WorkerState.DONE);
    Atomics.add(ctrl, Ctrl.SEQ, 1);
    Atomics.notify(ctrl, Ctrl.SEQ);
    post({ type: "done" });
  }
}

self.onmessage = (ev: MessageEvent) => {
  const m = StartMessage.safeParse(ev.data);
  if (!m.success) {
    post({
      type: "error",
      code: "internal",
      message: `bad start message: ${describeIssues(m.error)}`,
      hint: "",
    });
    return;
  }
  run(m.data.config, m.data.ctrl, m.data.data);
};
