/**
 * (*,G) templates learned from kernel NOCACHE upcalls, their expiry, and IGMP joins (ASM and SSM),
 * through the real kernel in network namespaces.
 */
import assert from "node:assert/strict";
import { testIf } from "../_util/corpus.ts";
import { canRunNetns, netnsWhy, withLab } from "../mroute/_netns.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

testIf(
  canRunNetns,
  netnsWhy,
  "mroute e2e: (*,G) learns a new source from the kernel upcall, forwards, then expires",
  async () => {
    await withLab(async (lab) => {
      await lab.startDaemon(["--cache-timeout", "1"]);
      const add = lab.cli(["add", "in0", "239.5.5.0/24", "o2"]);
      assert.equal(add.code, 0, add.stderr);
      assert.deepEqual(lab.showRoutes().map((r) => [r.source, r.group, r.state]), [[
        "*",
        "239.5.5.0/24",
        "template",
      ]]);
      const got = await lab.traffic("239.5.5.7", { n: 6, ttl: 4, tag: "s", gap: 0.1 });
      assert.deepEqual(got.r1, []);
      // The first frame may be lost while the route is being learned (the kernel queues a few).
      assert.ok(got.r2.length >= 5, JSON.stringify(got.r2));
      assert.deepEqual(got.r2.slice(-5).map((p) => p.data), ["s-1", "s-2", "s-3", "s-4", "s-5"]);
      assert.ok(got.r2.every((p) => p.ttl === 3));
      const learned = lab.showRoutes().filter((r) => r.origin === "learned");
      assert.equal(learned.length, 1);
      assert.deepEqual([learned[0].iif, learned[0].source, learned[0].group, learned[0].oifs], [
        "in0",
        "10.1.0.1",
        "239.5.5.7",
        ["o2"],
      ]);
      assert.ok((learned[0].packets as number) >= 5);
      assert.match(lab.daemonLog, /"msg":"learned route"/);
      // A group outside the template's prefix is not learned.
      const other = await lab.traffic("239.6.0.1", { n: 2, listen: 0.8 });
      assert.deepEqual(other, { r1: [], r2: [] });
      // Idle for longer than --cache-timeout 1: the learned route is removed, the template stays.
      let left = learned.length;
      for (let i = 0; i < 40 && left > 0; i++) {
        await sleep(200);
        left = lab.showRoutes().filter((r) => r.origin === "learned").length;
      }
      assert.equal(left, 0, "learned route expired");
      assert.equal(lab.showRoutes().length, 1);
      assert.match(lab.daemonLog, /"msg":"learned route expired"/);
      // And traffic is learned again afterwards.
      const again = await lab.traffic("239.5.5.7", { n: 4, tag: "t", gap: 0.1 });
      assert.ok(again.r2.length >= 3);
    });
  },
);

testIf(
  canRunNetns,
  netnsWhy,
  "mroute e2e: (S/LEN,G) template only learns matching sources; flush drops learned routes",
  async () => {
    await withLab(async (lab) => {
      await lab.startDaemon(["--cache-timeout", "30"]);
      assert.equal(lab.cli(["add", "in0", "10.9.0.0/16", "239.5.5.5", "o1"]).code, 0);
      const none = await lab.traffic("239.5.5.5", { n: 3, listen: 0.8 });
      assert.deepEqual(none, { r1: [], r2: [] }, "source 10.1.0.1 is outside 10.9.0.0/16");
      assert.equal(lab.cli(["add", "in0", "10.1.0.0/24", "239.5.5.5", "o1"]).code, 0);
      const ok = await lab.traffic("239.5.5.5", { n: 4, gap: 0.1 });
      assert.ok(ok.r1.length >= 3);
      assert.equal(lab.showRoutes().filter((r) => r.origin === "learned").length, 1);
      const fl = lab.cli(["flush", "--json"]);
      assert.equal(fl.code, 0, fl.stderr);
      assert.equal(JSON.parse(fl.stdout).learned, 1);
      assert.equal(lab.showRoutes().filter((r) => r.origin === "learned").length, 0);
      const mr = lab.exec(lab.rtr, "cat", ["/proc/net/ip_mr_cache"]).stdout;
      assert.ok(!mr.includes("0505EFEF"), mr);
    });
  },
);

testIf(
  canRunNetns,
  netnsWhy,
  "mroute e2e: join/leave (ASM and SSM) show up in the kernel's membership tables",
  async () => {
    await withLab(async (lab) => {
      await lab.startDaemon();
      const j1 = lab.cli(["join", "in0", "239.7.7.7"]);
      assert.equal(j1.code, 0, j1.stderr);
      const j2 = lab.cli(["join", "in0", "10.1.0.1", "232.1.1.1"]);
      assert.equal(j2.code, 0, j2.stderr);
      const maddr = lab.exec(lab.rtr, "ip", ["maddr", "show", "dev", "in0"]).stdout;
      assert.match(maddr, /inet\s+239\.7\.7\.7/);
      assert.match(maddr, /inet\s+232\.1\.1\.1/);
      // SSM: the source filter is in /proc/net/mcfilter (group 232.1.1.1 = 0xE8010101, source 10.1.0.1 = 0x0A000101... as hex).
      const mcf = lab.exec(lab.rtr, "cat", ["/proc/net/mcfilter"]).stdout;
      assert.match(mcf, /in0\s+0xe8010101\s+0x0a010001/i);
      const groups = JSON.parse(lab.cli(["show", "groups", "--json"]).stdout).groups;
      assert.deepEqual(
        groups.map((g: Record<string, string>) => `${g.iif} ${g.source} ${g.group} ${g.state}`).sort(),
        [
          "in0 * 239.7.7.7 joined",
          "in0 10.1.0.1 232.1.1.1 joined",
        ],
      );
      assert.equal(lab.cli(["leave", "in0", "239.7.7.7"]).code, 0);
      assert.equal(lab.cli(["leave", "in0", "10.1.0.1", "232.1.1.1"]).code, 0);
      const after = lab.exec(lab.rtr, "ip", ["maddr", "show", "dev", "in0"]).stdout;
      assert.doesNotMatch(after, /239\.7\.7\.7|232\.1\.1\.1/);
      const again = lab.cli(["leave", "in0", "239.7.7.7"]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /not joined to 239\.7\.7\.7 on in0/);
    });
  },
);

testIf(
  canRunNetns,
  netnsWhy,
  "mroute e2e: WRONGVIF moves a learned source to its new inbound interface (MRT_PIM)",
  async () => {
    await withLab(async (lab) => {
      await lab.startDaemon(["--cache-timeout", "30"]);
      assert.equal(lab.cli(["add", "in0", "239.5.5.0/24", "o2"]).code, 0);
      assert.equal(lab.cli(["add", "o1", "239.5.5.0/24", "o2"]).code, 0);
      const first = await lab.traffic("239.5.5.9", { n: 4, gap: 0.1, tag: "in0" });
      assert.ok(first.r2.length >= 3);
      let learned = lab.showRoutes().filter((r) => r.origin === "learned");
      assert.equal(learned[0].iif, "in0");
      // The same source now arrives through o1 (r1 sends with 10.1.0.1 as its address).
      lab.exec(lab.r1, "ip", ["addr", "add", "10.1.0.1/32", "dev", "e0"]);
      const moved = await lab.traffic("239.5.5.9", {
        n: 8,
        gap: 0.1,
        tag: "o1",
        from: [lab.r1, "e0", "10.1.0.1"],
      });
      learned = lab.showRoutes().filter((r) => r.origin === "learned");
      assert.equal(learned.length, 1);
      assert.equal(learned[0].iif, "o1", lab.daemonLog);
      assert.ok(moved.r2.some((p) => p.data.startsWith("o1-")), JSON.stringify(moved.r2));
      assert.match(lab.daemonLog, /learned route moved to a new inbound interface/);
    });
  },
);

testIf(
  canRunNetns,
  netnsWhy,
  "mroute e2e: interface wildcards (smcroute's eth+) for outputs and for a (*,G) input",
  async () => {
    await withLab(async (lab) => {
      await lab.startDaemon(["--cache-timeout", "30"]);
      const add = lab.cli(["add", "in0", "239.6.6.0/24", "o+"]);
      assert.equal(add.code, 0, add.stderr);
      const both = await lab.traffic("239.6.6.1", { n: 5, gap: 0.1, tag: "w" });
      assert.ok(both.r1.length >= 4 && both.r2.length >= 4, JSON.stringify(both));
      const learned = lab.showRoutes().filter((r) => r.origin === "learned");
      assert.deepEqual(learned.map((r) => [r.iif, r.oifs]), [["in0", ["o1", "o2"]]]);
      // A wildcard input: traffic entering on any o* interface goes out of o2, never back where it came from.
      assert.equal(lab.cli(["add", "o+", "239.7.7.0/24", "o2"]).code, 0);
      const fromR1 = await lab.traffic("239.7.7.7", { n: 5, gap: 0.1, tag: "r1", from: [lab.r1, "e0", ""] });
      assert.ok(fromR1.r2.length >= 4, JSON.stringify(fromR1));
      assert.ok(fromR1.r2.every((p) => p.src === "10.2.0.2" && p.ttl === 7));
      const l2 = lab.showRoutes().find((r) => r.origin === "learned" && r.group === "239.7.7.7")!;
      assert.deepEqual([l2.iif, l2.oifs], ["o1", ["o2"]]);
      // An (S,G) route cannot have a wildcard input.
      const bad = lab.cli(["add", "o+", "10.1.0.1", "239.8.8.8", "in0"]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /an \(S,G\) route has one inbound interface, not the wildcard o\+/);
    });
  },
);
