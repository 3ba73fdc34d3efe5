/**
 * Writes a generated capture: `deno run -A bench/gen/write.ts OUT.pcap|OUT.pcapng PACKETS [SEED]`.
 * Used by the benchmarks and to (re)make samples/demo.pcapng.
 */
import { PcapngWriter, PcapWriter } from "../../lib/capture/mod.ts";
import { generate } from "./traffic.ts";

export async function writeGenerated(path: string, packets: number, seed = 1, small = false): Promise<void> {
  const ng = path.endsWith(".pcapng");
  const w = ng
    ? await PcapngWriter.create(path, {
      interfaces: [{ linkType: 1, snaplen: 262144, name: "gen0", precision: "ns" }],
    })
    : await PcapWriter.create(path, { linkType: 1, precision: "ns" });
  generate(
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
    (fr, s, ns) => w.write(fr, fr.length, s, ns, 0),
  );
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
