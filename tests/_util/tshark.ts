/**
 * Runs tshark (the oracle) and parses the statistics mpp is compared with. Only used in tests.
 */
export interface TsharkConv {
  a: string;
  b: string;
  aToBFrames: number;
  bToAFrames: number;
  frames: number;
  /** Exact byte total when tshark printed it in bytes (it abbreviates larger values to kB/MB). */
  bytes: number | null;
  /** Seconds from the capture's first frame to the conversation's (9 decimals). */
  relStart: number;
  /** Seconds, as tshark prints them (4 decimals). */
  duration: number;
}

export async function tshark(args: string[]): Promise<string> {
  const out = await new Deno.Command("tshark", {
    args: ["-n", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { HOME: "/tmp/mpp-tshark-home" },
  }).output();
  return new TextDecoder().decode(out.stdout);
}

/** Parses one `-z conv,TYPE` table from tshark's output. */
export function parseConv(text: string, title: string): TsharkConv[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.startsWith(title));
  if (start < 0) return [];
  const rows: TsharkConv[] = [];
  const re =
    /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+([\d,]+ \w+)\s+(\d+)\s+([\d,]+ \w+)\s+(\d+)\s+([\d,]+) (\w+)\s+([\d.]+)\s+([\d.]+)/;
  for (let i = start + 1; i < lines.length && !lines[i].startsWith("===="); i++) {
    const m = re.exec(lines[i]);
    if (!m) continue;
    rows.push({
      a: m[1],
      b: m[2],
      bToAFrames: Number(m[3]),
      aToBFrames: Number(m[5]),
      frames: Number(m[7]),
      bytes: m[9] === "bytes" ? Number(m[8].replaceAll(",", "")) : null,
      relStart: Number(m[10]),
      duration: Number(m[11]),
    });
  }
  return rows;
}

export interface TsharkEndpoint {
  /** `addr` or `addr:port` (TCP/UDP tables print the port in its own column). */
  address: string;
  packets: number;
  bytes: number;
  txPackets: number;
  rxPackets: number;
}

/** Parses one `-z endpoints,TYPE` table; `withPort` for TCP/UDP tables. */
export function parseEndpoints(text: string, title: string, withPort: boolean): TsharkEndpoint[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.startsWith(title));
  if (start < 0) return [];
  const rows: TsharkEndpoint[] = [];
  const re = withPort
    ? /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/
    : /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/;
  for (let i = start + 1; i < lines.length && !lines[i].startsWith("===="); i++) {
    const m = re.exec(lines[i]);
    if (!m) continue;
    const n = m.slice(withPort ? 3 : 2).map(Number);
    rows.push({
      address: withPort ? `${m[1]}:${m[2]}` : m[1],
      packets: n[0],
      bytes: n[1],
      txPackets: n[2],
      rxPackets: n[4],
    });
  }
  return rows;
}

/** Parses `-z io,phs` into `eth:ip:tcp` style paths with their frame counts. */
export function parsePhs(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const stack: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\s*)(\S+)\s+frames:(\d+)\s+bytes:\d+/.exec(line);
    if (!m) continue;
    const depth = m[1].length / 2;
    stack.length = depth;
    stack.push(m[2]);
    const path = stack.join(":");
    out.set(path, (out.get(path) ?? 0) + Number(m[3]));
  }
  return out;
}

/** Parses `-z io,stat,SECS` (one column of frames and bytes): the frames and bytes per interval. */
export function parseIoStat(text: string): { frames: number; bytes: number }[] {
  const rows: { frames: number; bytes: number }[] = [];
  for (const line of text.split("\n")) {
    const m = /^\|\s*[\d.]+\s*<>\s*(?:[\d.]+|Dur)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|/.exec(line);
    if (m) rows.push({ frames: Number(m[1]), bytes: Number(m[2]) });
  }
  return rows;
}
