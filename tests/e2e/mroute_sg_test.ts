/**
 * (S,G) routing through the real kernel: sender → router (mpp mroute daemon) → receivers, each in
 * its own network namespace.
 */
import assert from "node:assert/strict";
import { testIf } from "../_util/corpus.ts";
import { canRunNetns, netnsWhy, withLab } from "../mroute/_netns.ts";

testIf(
  canRunNetns,
  netnsWhy,
  "mroute e2e: add (S,G) forwards to the chosen receiver only, TTL-1, counters match; del stops it",
  async () => {
    await withLab(async (lab) => {
      await lab.startDaemon();
      const add = lab.cli(["add", "in0", "10.1.0.1", "239.1.2.3", "o1"]);
      assert.equal(add.code, 0, add.stderr);
      const got = await lab.traffic("239.1.2.3", { n: 5, ttl: 8, tag: "a" });
      assert.deepEqual(got.r1.map((p) => p.data), ["a-0", "a-1", "a-2", "a-3", "a-4"]);
      assert.ok(got.r1.every((p) => p.ttl === 7 && p.src === "10.1.0.1"), JSON.stringify(got.r1));
      assert.deepEqual(got.r2, []);
      const routes = lab.showRoutes();
      assert.equal(routes.length, 1);
      assert.deepEqual(
        {
          iif: routes[0].iif,
          source: routes[0].source,
          group: routes[0].group,
          oifs: routes[0].oifs,
          state: routes[0].state,
        },
        { iif: "in0", source: "10.1.0.1", group: "239.1.2.3", oifs: ["o1"], state: "installed" },
      );
      assert.equal(routes[0].packets, 5);
      // Kernel's own view: /proc/net/ip_mr_cache in the router namespace.
      const cache = lab.exec(lab.rtr, "cat", ["/proc/net/ip_mr_cache"]).stdout;
      const line = cache.split("\n").find((l) => l.startsWith("030201EF 0100010A"));
      assert.ok(line, cache);
      assert.equal(Number(line.trim().split(/\s+/)[3]), 5, line);
      const ifs = JSON.parse(lab.cli(["show", "interfaces", "--json"]).stdout).interfaces as Array<
        Record<string, number | string>
      >;
      const o1 = ifs.find((i) => i.name === "o1")!;
      assert.equal(o1.outPackets, 5);

      // Adding o2 to the same route merges outputs; then del of o1 only keeps o2.
      assert.equal(lab.cli(["add", "in0", "10.1.0.1", "239.1.2.3", "o2"]).code, 0);
      assert.deepEqual(lab.showRoutes()[0].oifs, ["o1", "o2"]);
      assert.equal(lab.cli(["del", "in0", "10.1.0.1", "239.1.2.3", "o1"]).code, 0);
      const got2 = await lab.traffic("239.1.2.3", { n: 3, tag: "b" });
      assert.deepEqual(got2.r1, []);
      assert.deepEqual(got2.r2.map((p) => p.data), ["b-0", "b-1", "b-2"]);

      const del = lab.cli(["del", "in0", "10.1.0.1", "239.1.2.3"]);
      assert.equal(del.code, 0, del.stderr);
      const got3 = await lab.traffic("239.1.2.3", { n: 3, tag: "c", listen: 1 });
      assert.deepEqual(got3, { r1: [], r2: [] });
      assert.deepEqual(lab.showRoutes(), []);
    });
  },
);

testIf(canRunNetns, netnsWhy, "mroute e2e: long options and the text table; stop; pid file", async () => {
  await withLab(async (lab) => {
    await lab.startDaemon(["--pid-file", `${lab.dir}/mroute.pid`]);
    const pid = Number(Deno.readTextFileSync(`${lab.dir}/mroute.pid`).trim());
    assert.equal(JSON.parse(lab.cli(["status", "--json"]).stdout).pid, pid);
    const add = lab.cli([
      "add",
      "--iif",
      "in0",
      "--source",
      "10.1.0.1",
      "--group",
      "239.9.9.9",
      "--oif",
      "o1",
      "o2",
    ]);
    assert.equal(add.code, 0, add.stderr);
    const show = lab.cli(["show"]);
    assert.equal(show.code, 0);
    assert.match(show.stdout, /^IIF\s+SOURCE\s+GROUP\s+OIFS/m);
    assert.match(show.stdout, /in0\s+10\.1\.0\.1\s+239\.9\.9\.9\s+o1,o2\s+runtime\s+installed\s+0/);
    const st = JSON.parse(lab.cli(["status", "--json"]).stdout);
    assert.equal(st.routes, 1);
    assert.equal(st.vifs, 3);
    // stop: the daemon exits, the kernel drops its routes, the socket file is removed.
    assert.equal(lab.cli(["stop"]).code, 0);
    assert.equal((await lab.daemon!.status).code, 0);
    lab.daemon = undefined;
    assert.equal(lab.exec(lab.rtr, "cat", ["/proc/net/ip_mr_cache"]).stdout.trim().split("\n").length, 1);
    assert.throws(() => Deno.lstatSync(lab.socket));
    assert.throws(() => Deno.statSync(`${lab.dir}/mroute.pid`), "pid file removed");
    const gone = lab.cli(["status"]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /mroute daemon is not running/);
  });
});
