/**
 * Kernel drops are reported while the capture runs, not only at the end: a session whose consumer
 * is deliberately slow (tiny kernel buffer, tiny ring) under a flood must print the drop line
 * before it is stopped, and the closing pcap_stats must agree.
 */
import assert from "node:assert/strict";
import { testIf } from "../_util/corpus.ts";
import { dec, makeNet, ready, why } from "./capture_helpers_test.ts";

const SESSION = new URL("../../lib/capture/live_session.ts", import.meta.url).href;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

testIf(ready, why, "drops appear live when the consumer falls behind", async () => {
  await using net = makeNet();
  const script = `${net.dir}/slow.ts`;
  Deno.writeTextFileSync(
    script,
    `import { runCaptureSession } from "${SESSION}";
const t0 = performance.now();
const log = (s) => console.log(\`\${Math.round(performance.now() - t0)} \${s.trim()}\`);
const r = await runCaptureSession({
  interfaces: ["${net.ifA}"], filter: "udp", snaplen: 2048, bufferBytes: 256 * 1024, ringBytes: 1 << 20,
  printPackets: false, report: log, lines: () => {}, autostop: { durationS: 3 },
  // A consumer far slower than the flood: about 20 µs per packet.
  records: () => { const end = performance.now() + 0.02; while (performance.now() < end); },
});
log("END " + JSON.stringify({ packets: r.packets, stats: r.stats, reason: r.reason }));
`,
  );
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", net.a, Deno.execPath(), "run", "-A", "--config", CONFIG, script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const flood = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      net.b,
      "python3",
      "-c",
      `import socket,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); t=time.time()
time.sleep(0.8)
while time.time()-t < 2.6: s.sendto(b"q"*1200,("${net.addrA}",9000))`,
    ],
  }).spawn();
  const out = await child.output();
  await flood.status;
  const text = dec.decode(out.stdout);
  assert.equal(out.code, 0, text + dec.decode(out.stderr));
  const live = [...text.matchAll(/^(\d+) mpp: \S+: (\d+) packets dropped by the kernel so far/gm)];
  const end = /^(\d+) END (.*)$/m.exec(text);
  assert.ok(end, text);
  const result = JSON.parse(end[2]);
  assert.equal(result.reason, "duration");
  assert.ok(result.stats[0].dropped > 0, `no drops: ${text}`);
  assert.ok(live.length > 0, `drops were not reported live:\n${text}`);
  // Reported before the end of the run, and never more than the final count.
  assert.ok(Number(live[0][1]) < Number(end[1]) - 200, text);
  for (const m of live) assert.ok(Number(m[2]) <= result.stats[0].dropped);
  assert.ok(result.packets > 0);
});
