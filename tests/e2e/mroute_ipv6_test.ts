/** IPv6 multicast routing with MRT6 (MIFs, mf6cctl) through the real kernel. */
import assert from "node:assert/strict";
import { testIf } from "../_util/corpus.ts";
import { canRunNetns, canRunNetns6, netns6Why, netnsWhy, withLab } from "../mroute/_netns.ts";

testIf(
  canRunNetns6,
  netns6Why,
  "mroute e2e: IPv6 (S,G) forwards with hop limit - 1; (*,G) is learned from MRT6 upcalls",
  async () => {
    await withLab(async (lab) => {
      await lab.startDaemon(["-6"]);
      const add = lab.cli(["add", "in0", "2001:db8:1::1", "ff1e::1234", "o1"]);
      assert.equal(add.code, 0, add.stderr);
      const got = await lab.traffic("ff1e::1234", { n: 4, ttl: 6, tag: "v6" });
      assert.deepEqual(got.r1.map((p) => p.data), ["v6-0", "v6-1", "v6-2", "v6-3"]);
      assert.ok(got.r1.every((p) => p.ttl === 5 && p.src === "2001:db8:1::1"), JSON.stringify(got.r1));
      assert.deepEqual(got.r2, []);
      const r = lab.showRoutes()[0];
      assert.deepEqual([r.source, r.group, r.state, r.packets], [
        "2001:db8:1::1",
        "ff1e::1234",
        "installed",
        4,
      ]);
      const cache = lab.exec(lab.rtr, "cat", ["/proc/net/ip6_mr_cache"]).stdout;
      assert.match(cache, /ff1e:0000:0000:0000:0000:0000:0000:1234 2001:0db8:0001:0000:0000:0000:0000:0001/);
      // (*,G) for IPv6: learned from the MRT6MSG_NOCACHE upcall.
      assert.equal(lab.cli(["add", "in0", "ff1e::5:0/112", "o2"]).code, 0);
      const star = await lab.traffic("ff1e::5:7", { n: 5, gap: 0.1, tag: "s6" });
      assert.ok(star.r2.length >= 4, JSON.stringify(star));
      assert.ok(lab.showRoutes().some((x) => x.origin === "learned" && x.group === "ff1e::5:7"));
      // IPv4 still works on the same daemon.
      assert.equal(lab.cli(["add", "in0", "10.1.0.1", "239.1.1.1", "o2"]).code, 0);
      const v4 = await lab.traffic("239.1.1.1", { n: 2 });
      assert.equal(v4.r2.length, 2);
      assert.equal(lab.cli(["del", "in0", "2001:db8:1::1", "ff1e::1234"]).code, 0);
      const after = await lab.traffic("ff1e::1234", { n: 2, listen: 0.8 });
      assert.deepEqual(after, { r1: [], r2: [] });
    });
  },
);

testIf(
  canRunNetns,
  netnsWhy,
  "mroute e2e: IPv6 route on a daemon without -6 is refused with a hint",
  async () => {
    await withLab(async (lab) => {
      await lab.startDaemon();
      const r = lab.cli(["add", "in0", "2001:db8:1::1", "ff1e::1234", "o1"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /mpp: this daemon does not route IPv6\nhint: start the daemon with -6/);
    });
  },
);
