/**
 * Run-time routes survive a SIGKILL and restart (state file, atomic writes); --no-persist turns it
 * off; `reload` applies only the differences of the config file; pending interfaces activate.
 */
import assert from "node:assert/strict";
import { testIf } from "../_util/corpus.ts";
import { canRunNetns, netnsWhy, withLab } from "../mroute/_netns.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

testIf(
  canRunNetns,
  netnsWhy,
  "mroute e2e: SIGKILLed daemon restarts with its run-time routes and joins restored",
  async () => {
    await withLab(async (lab) => {
      await lab.startDaemon();
      assert.equal(lab.cli(["add", "in0", "10.1.0.1", "239.1.1.1", "o1"]).code, 0);
      assert.equal(lab.cli(["add", "in0", "239.4.0.0/16", "o2"]).code, 0);
      assert.equal(lab.cli(["join", "in0", "239.7.7.7"]).code, 0);
      const state = JSON.parse(Deno.readTextFileSync(lab.state));
      assert.equal(state.v, 1);
      assert.equal(state.routes.length, 2);
      assert.deepEqual(state.joins, [{ iif: "in0", group: "239.7.7.7" }]);
      assert.equal(Deno.statSync(lab.state).mode! & 0o777, 0o600);
      await lab.killDaemon("SIGKILL");
      // The kernel dropped everything with the socket; the stale IPC socket file is still there.
      assert.equal(lab.exec(lab.rtr, "cat", ["/proc/net/ip_mr_cache"]).stdout.split("\n").length, 2);
      assert.ok(Deno.lstatSync(lab.socket).isSocket);
      await lab.startDaemon();
      const routes = lab.showRoutes();
      assert.deepEqual(
        routes.map((r) =>
          `${r.iif} ${r.source} ${r.group} ${(r.oifs as string[]).join(",")} ${r.origin} ${r.state}`
        ),
        [
          "in0 10.1.0.1 239.1.1.1 o1 runtime installed",
          "in0 * 239.4.0.0/16 o2 runtime template",
        ],
      );
      const got = await lab.traffic("239.1.1.1", { n: 3 });
      assert.equal(got.r1.length, 3);
      assert.match(lab.exec(lab.rtr, "ip", ["maddr", "show", "dev", "in0"]).stdout, /inet\s+239\.7\.7\.7/);
      // del is persisted too.
      assert.equal(lab.cli(["del", "in0", "239.4.0.0/16"]).code, 0);
      assert.equal(JSON.parse(Deno.readTextFileSync(lab.state)).routes.length, 1);
    });
  },
);

testIf(canRunNetns, netnsWhy, "mroute e2e: --no-persist neither writes nor restores state", async () => {
  await withLab(async (lab) => {
    await lab.startDaemon(["--no-persist"]);
    assert.equal(lab.cli(["add", "in0", "10.1.0.1", "239.1.1.1", "o1"]).code, 0);
    assert.throws(() => Deno.statSync(lab.state));
    await lab.killDaemon("SIGKILL");
    await lab.startDaemon(["--no-persist"]);
    assert.deepEqual(lab.showRoutes(), []);
  });
});

testIf(
  canRunNetns,
  netnsWhy,
  "mroute e2e: reload applies only config differences; run-time routes stay; includes",
  async () => {
    await withLab(async (lab) => {
      const conf = `${lab.dir}/mroute.conf`;
      Deno.mkdirSync(`${lab.dir}/conf.d`);
      Deno.writeTextFileSync(
        `${lab.dir}/conf.d/10-b.conf`,
        "mroute from in0 source 10.1.0.1 group 239.0.0.2 to o2\n",
      );
      Deno.writeTextFileSync(
        conf,
        [
          "# test config",
          "phyint in0 enable",
          "phyint o1 ttl-threshold 1",
          "mgroup from in0 group 239.8.8.8",
          "mroute from in0 source 10.1.0.1 group 239.0.0.1 to o1",
          "include conf.d/*.conf",
          "",
        ].join("\n"),
      );
      await lab.startDaemon(["--config", conf]);
      assert.equal(lab.cli(["add", "in0", "10.1.0.1", "239.0.0.9", "o1"]).code, 0);
      const byGroup = () =>
        Object.fromEntries(
          lab.showRoutes().map((r) => [r.group, `${r.origin}:${(r.oifs as string[]).join(",")}`]),
        );
      assert.deepEqual(byGroup(), {
        "239.0.0.1": "config:o1",
        "239.0.0.2": "config:o2",
        "239.0.0.9": "runtime:o1",
      });
      const before = await lab.traffic("239.0.0.1", { n: 2 });
      assert.equal(before.r1.length, 2);
      // Change: keep .1, drop .2 (its include file is gone), add .3 and a JSON include.
      Deno.removeSync(`${lab.dir}/conf.d/10-b.conf`);
      Deno.writeTextFileSync(
        `${lab.dir}/conf.d/20-c.conf`,
        JSON.stringify({ mroutes: [{ iif: "in0", source: "10.1.0.1", group: "239.0.0.3", oifs: ["o2"] }] }),
      );
      const logBefore = lab.daemonLog.length;
      const r = lab.cli(["reload", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { added: 1, removed: 1, unchanged: 2, errors: [] });
      assert.deepEqual(byGroup(), {
        "239.0.0.1": "config:o1",
        "239.0.0.3": "config:o2",
        "239.0.0.9": "runtime:o1",
      });
      await sleep(200);
      const logAfter = lab.daemonLog.slice(logBefore);
      assert.doesNotMatch(logAfter, /239\.0\.0\.1"/, "the unchanged route was not touched");
      assert.match(logAfter, /"msg":"route removed".*239\.0\.0\.2/);
      // The unchanged route kept its kernel counters (it was never removed).
      const r1 = lab.showRoutes().find((x) => x.group === "239.0.0.1")!;
      assert.equal(r1.packets, 2);
      // A broken config is refused as a whole with file:line, and nothing changes.
      Deno.writeTextFileSync(`${lab.dir}/conf.d/30-bad.conf`, "mroute from in0 group\n");
      const bad = lab.cli(["reload"]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /30-bad\.conf:1: 'group' needs a value/);
      assert.deepEqual(byGroup(), {
        "239.0.0.1": "config:o1",
        "239.0.0.3": "config:o2",
        "239.0.0.9": "runtime:o1",
      });
      // Config routes are not written to the state file (only run-time ones are).
      assert.deepEqual(
        JSON.parse(Deno.readTextFileSync(lab.state)).routes.map((x: { group: string }) => x.group),
        ["239.0.0.9"],
      );
    });
  },
);

testIf(
  canRunNetns,
  netnsWhy,
  "mroute e2e: a route on a missing interface waits and activates when it appears",
  async () => {
    await withLab(async (lab) => {
      await lab.startDaemon();
      const r = lab.cli(["add", "--allow-pending", "in0", "10.1.0.1", "239.1.1.1", "o1", "late0"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^$|pending/);
      let pend = JSON.parse(lab.cli(["show", "pending", "--json"]).stdout).pending;
      assert.deepEqual(pend.map((p: { waitingFor: string[] }) => p.waitingFor), [["late0"]]);
      // It forwards to the outputs that exist already.
      assert.equal((await lab.traffic("239.1.1.1", { n: 2 })).r1.length, 2);
      // No dummy module on every kernel here: a veth pair is an interface that can appear just as well.
      lab.exec(lab.rtr, "ip", ["link", "add", "late0", "type", "veth", "peer", "name", "late1"]);
      lab.exec(lab.rtr, "ip", ["addr", "add", "10.9.0.1/24", "dev", "late0"]);
      lab.exec(lab.rtr, "ip", ["link", "set", "late0", "up", "multicast", "on"]);
      for (let i = 0; i < 40 && pend.length > 0; i++) {
        await sleep(150);
        pend = JSON.parse(lab.cli(["show", "pending", "--json"]).stdout).pending;
      }
      assert.deepEqual(pend, []);
      const vif = lab.exec(lab.rtr, "cat", ["/proc/net/ip_mr_vif"]).stdout;
      assert.match(vif, /late0/);
    });
  },
);

testIf(
  canRunNetns,
  netnsWhy,
  "mroute e2e: --user drops root after opening the routing socket; routes and state still work",
  async () => {
    await withLab(async (lab) => {
      await lab.startDaemon(["--user", "nobody", "--pid-file", `${lab.dir}/d.pid`]);
      // The socket accepts connections a moment before the switch; wait for the daemon to report it.
      for (let i = 0; i < 100 && !lab.daemonLog.includes("running as unprivileged user"); i++) {
        await sleep(20);
      }
      const pid = Number(Deno.readTextFileSync(`${lab.dir}/d.pid`).trim());
      const status = Deno.readTextFileSync(`/proc/${pid}/status`);
      assert.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
      assert.match(status, /^CapEff:\s+0+$/m, "no capabilities left");
      const add = lab.cli(["add", "in0", "10.1.0.1", "239.1.1.1", "o1"]);
      assert.equal(add.code, 0, add.stderr);
      assert.equal((await lab.traffic("239.1.1.1", { n: 3 })).r1.length, 3);
      assert.equal(Deno.statSync(lab.state).uid, 65534);
      assert.equal(JSON.parse(Deno.readTextFileSync(lab.state)).routes.length, 1);
      const bad = lab.cli(["add", "in0", "10.1.0.1", "239.1.1.2", "nosuch0"]);
      assert.equal(bad.code, 1);
      assert.match(lab.daemonLog, /running as unprivileged user/);
    });
  },
);
