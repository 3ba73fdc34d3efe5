/**
 * Writes a generated capture: `deno run -A bench/gen/write.ts OUT.pcap|OUT.pcapng PACKETS [SEED]`.
 * Used by the benchmarks and to (re)make samples/demo.pcapng.
 */
import { PcapngWriter, PcapWriter } from "../../lib/capture/mod.ts";
import { generate, type GenOptions } from "./traffic.ts";

export async function writeGenerated(path: string, packets: number, seed = 1, small = false): Promise<void> {
  await writeCapture(
    path,
    small
      ? {
        packets,
        seed,
        tcpSlots: 6,
        rtpStreams: 3,
        rtpShare: 0.45,
        dnsShare: 0.04,
        ptpShare: 0.06,
        meanGapNs: 3_000_000,
      }
      : { packets, seed },
  );
}

/**
 * Writes the generator's traffic for `opts` to `path` (pcapng when it ends so, else pcap with ns
 * timestamps); `shiftNs` moves every timestamp (a capture that starts part-way into a second).
 */
export async function writeCapture(path: string, opts: GenOptions, shiftNs = 0): Promise<void> {
  const w = path.endsWith(".pcapng")
    ? await PcapngWriter.create(path, {
      interfaces: [{ linkType: 1, snaplen: 262144, name: "gen0", precision: "ns" }],
    })
    : await PcapWriter.create(path, { linkType: 1, precision: "ns" });
  generate(opts, (fr, s, ns) => {
    const t = ns + shiftNs;
    w.write(fr, fr.length, s + Math.floor(t / 1e9), t % 1e9, 0);
  });
  await w.close();
}

if (import.meta.main) {
  const [out, n, seed] = Deno.args;
  if (!out || !n) {
    console.error("usage: deno run -A bench/gen/write.ts OUT.pcap|OUT.pcapng PACKETS [SEED] [--small]");
    Deno.exit(2);
  }
  await writeGenerated(out, Number(n), seed ? Number(seed) : 1, Deno.args.includes("--small"));
}
