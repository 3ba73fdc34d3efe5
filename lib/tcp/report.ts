/** The reassembly's part of the analyze report: totals, limits, and counters per flow. */
import { addCounters, emptyCounters, type TcpCounters, type TcpReassembly } from "./reassembly.ts";

export interface TcpSection {
  counters: TcpCounters;
  limits: {
    perDirection: number;
    globalLimit: number;
    gapWindow: number;
    gapTimeout: number;
    idleTimeout: number;
  };
  peakBuffered: number;
}

export function tcpSection(r: TcpReassembly): TcpSection {
  return {
    counters: r.totals(),
    limits: {
      perDirection: r.limits.perDirection,
      globalLimit: r.budget.limit,
      gapWindow: r.limits.gapWindow,
      gapTimeout: r.limits.gapTimeout,
      idleTimeout: r.idleTimeout,
    },
    peakBuffered: r.budget.peak,
  };
}

/** Counters per flow object (summed over the flow's connections). */
export function countersByFlow(r: TcpReassembly): Map<unknown, TcpCounters> {
  const m = new Map<unknown, TcpCounters>(), ss = r.streams;
  for (const [flow, c] of r.folded) m.set(flow, { ...c });
  for (let i = 0; i < ss.length; i++) {
    const s = ss[i];
    let c = m.get(s.flow);
    if (c === undefined) m.set(s.flow, c = emptyCounters());
    addCounters(c, s);
  }
  return m;
}

/** Stream indices per flow object, in connection order. */
export function streamsByFlow(r: TcpReassembly): Map<unknown, number[]> {
  const m = new Map<unknown, number[]>(), ss = r.streams;
  for (let i = 0; i < ss.length; i++) {
    const s = ss[i];
    const l = m.get(s.flow);
    if (l === undefined) m.set(s.flow, [s.index]);
    else l.push(s.index);
  }
  return m;
}
