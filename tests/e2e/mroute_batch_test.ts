/** Batch mode (`mpp mroute -b FILE|-`): many commands on one connection, errors per line. */
import assert from "node:assert/strict";
import { testIf } from "../_util/corpus.ts";
import { canRunNetns, netnsWhy, withLab } from "../mroute/_netns.ts";

testIf(
  canRunNetns,
  netnsWhy,
  "mroute e2e: batch from stdin and from a file, in order, with per-line errors",
  async () => {
    await withLab(async (lab) => {
      await lab.startDaemon();
      const lines = ["# 600 routes, a join, one bad line and a del"];
      for (let i = 0; i < 600; i++) {
        lines.push(`add in0 10.1.${i >> 8}.${i & 255} 239.10.${i >> 8}.${i & 255} o1 o2`);
      }
      lines.push(
        "join in0 239.7.7.7",
        "add in0 10.1.0.1 10.0.0.1 o1",
        "frobnicate",
        "del in0 10.1.0.5 239.10.0.5 o2",
        "",
      );
      const r = await lab.cliAsync(["-b", "-", "--json"], lines.join("\n"));
      assert.equal(r.code, 1);
      assert.deepEqual(JSON.parse(r.stdout), { commands: 604, failed: 2 });
      assert.match(r.stderr, /^mpp: stdin:603: group 10\.0\.0\.1 is not a multicast address$/m);
      assert.match(r.stderr, /^mpp: stdin:604: unknown command 'frobnicate'$/m);
      const routes = lab.showRoutes();
      assert.equal(routes.length, 600);
      assert.deepEqual(routes.find((x) => x.group === "239.10.0.5")!.oifs, ["o1"]);
      const cache = lab.exec(lab.rtr, "cat", ["/proc/net/ip_mr_cache"]).stdout.trim().split("\n");
      assert.equal(cache.length - 1, 600);
      assert.equal(JSON.parse(Deno.readTextFileSync(lab.state)).routes.length, 600);
      // Remove them all from a file.
      const file = `${lab.dir}/del.txt`;
      Deno.writeTextFileSync(
        file,
        Array.from({ length: 600 }, (_, i) => `del in0 10.1.${i >> 8}.${i & 255} 239.10.${i >> 8}.${i & 255}`)
          .join("\n"),
      );
      const d = lab.cli(["-b", file]);
      assert.equal(d.code, 0, d.stderr);
      assert.deepEqual(lab.showRoutes(), []);
      assert.equal(lab.exec(lab.rtr, "cat", ["/proc/net/ip_mr_cache"]).stdout.trim().split("\n").length, 1);
      const missing = lab.cli(["-b", `${lab.dir}/nope.txt`]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /cannot read batch file .*nope\.txt/);
    });
  },
);
