/**
 * Every bad input gets a clear error and leaves the routing state (daemon view and the kernel's
 * /proc tables) exactly as it was; a second daemon on the same socket or table is refused.
 */
import assert from "node:assert/strict";
import { haveTool, isRoot, testIf } from "../_util/corpus.ts";
import { canRunNetns, CLI, kernelMroute4, netnsWhy, sh, withLab } from "../mroute/_netns.ts";

testIf(
  canRunNetns,
  netnsWhy,
  "mroute e2e: bad inputs are refused with their error and change nothing",
  async () => {
    await withLab(async (lab) => {
      await lab.startDaemon();
      assert.equal(lab.cli(["add", "in0", "10.1.0.1", "239.1.1.1", "o1"]).code, 0);
      assert.equal(lab.cli(["add", "in0", "239.2.0.0/16", "o2"]).code, 0);
      const snapshot = () => ({
        routes: lab.cli(["show", "--json"]).stdout,
        groups: lab.cli(["show", "groups", "--json"]).stdout,
        cache: lab.exec(lab.rtr, "cat", ["/proc/net/ip_mr_cache"]).stdout,
        vifs: lab.exec(lab.rtr, "cat", ["/proc/net/ip_mr_vif"]).stdout.replace(
          /\s+\d+\s+\d+\s+\d+\s+\d+(?=\s+0000)/g,
          "",
        ),
        state: Deno.readTextFileSync(lab.state),
      });
      const before = snapshot();
      const cases: Array<[string[], number, RegExp]> = [
        [
          ["add", "in0", "10.1.0.1", "10.2.3.4", "o1"],
          1,
          /mpp: group 10\.2\.3\.4 is not a multicast address\nhint: IPv4 groups are in 224\.0\.0\.0\/4/,
        ],
        [
          ["add", "in0", "239.1.1.1", "239.2.2.2", "o1"],
          1,
          /mpp: source 239\.1\.1\.1 is a multicast address/,
        ],
        [
          ["add", "in0", "10.1.0.1", "239.1.1.1", "nosuch0"],
          1,
          /mpp: unknown interface 'nosuch0'\nhint: interfaces here: in0, lo, o1, o2/,
        ],
        [
          ["add", "in0", "10.1.0.1", "239.1.1.1", "o1", "in0"],
          1,
          /inbound interface in0 is also listed as an outbound interface/,
        ],
        [["add", "in0", "10.1.0.1", "239.1.1.1"], 2, /no outbound interface given/],
        [
          ["add", "10.1.0.1", "239.1.1.1", "o1"],
          2,
          /'10\.1\.0\.1' is an address, but the first argument must be the inbound interface/,
        ],
        [
          ["add", "in0", "10.1.0.1", "239.1.1.1/40", "o1"],
          1,
          /group '239\.1\.1\.1\/40' has a bad prefix length/,
        ],
        [["add", "in0", "10.1.0.1", "ff1e::1", "o1"], 1, /different address families/],
        [["add", "in0", "2001:db8::1", "ff1e::1", "o1"], 1, /this daemon does not route IPv6/],
        [
          ["del", "in0", "10.1.0.9", "239.1.1.1"],
          1,
          /mpp: no route \(10\.1\.0\.9, 239\.1\.1\.1\)\nhint: list the routes with: mpp mroute show routes/,
        ],
        [
          ["del", "o1", "10.1.0.1", "239.1.1.1"],
          1,
          /route \(10\.1\.0\.1, 239\.1\.1\.1\) comes in on in0, not o1/,
        ],
        [["del", "in0", "10.1.0.1", "239.1.1.1", "o2"], 1, /does not send to o2/],
        [["join", "nosuch0", "239.1.1.1"], 1, /unknown interface 'nosuch0'/],
        [
          ["join", "in0", "10.0.0.1"],
          1,
          /'10\.0\.0\.1' is not a group address|group 10\.0\.0\.1 is not a multicast address/,
        ],
        [["leave", "in0", "239.9.9.9"], 1, /not joined to 239\.9\.9\.9 on in0/],
        [["show", "nonsense"], 2, /cannot show 'nonsense'/],
        [["add", "--table", "x", "in0", "239.1.1.1", "o1"], 2, /table 'x' is not a number/],
      ];
      for (const [args, code, re] of cases) {
        const r = lab.cli(args);
        assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, re, args.join(" "));
        assert.doesNotMatch(r.stderr, / {4}at /, "no stack trace");
      }
      // A link without the MULTICAST flag.
      lab.exec(lab.rtr, "ip", ["link", "set", "o2", "multicast", "off"]);
      await new Promise((r) => setTimeout(r, 1100)); // interface facts are cached for 1 s
      const nm = lab.cli(["add", "in0", "10.1.0.1", "239.3.3.3", "o2"]);
      assert.equal(nm.code, 1);
      assert.match(
        nm.stderr,
        /interface o2 does not have the MULTICAST flag\nhint: run: ip link set dev o2 multicast on/,
      );
      lab.exec(lab.rtr, "ip", ["link", "set", "o2", "multicast", "on"]);
      assert.deepEqual(snapshot(), before);

      // Daemon not running.
      const nr = sh(Deno.execPath(), ["run", "-A", CLI, "show", "--socket", `${lab.dir}/none.sock`], false);
      assert.equal(nr.code, 1);
      assert.match(
        nr.stderr,
        /mpp: mroute daemon is not running \(no listener on .*none\.sock\)\nhint: start it with: mpp mroute daemon/,
      );

      // Permission denied: a socket owned by someone else, for a client without CAP_DAC_OVERRIDE.
      Deno.chownSync(lab.socket, 65534, 65534);
      Deno.chmodSync(lab.socket, 0o600);
      const pd = sh("setpriv", [
        "--inh-caps=-all",
        "--bounding-set=-dac_override,-dac_read_search",
        Deno.execPath(),
        "run",
        "-A",
        CLI,
        "status",
        "--socket",
        lab.socket,
      ], false);
      assert.equal(pd.code, 1, pd.stderr);
      assert.match(
        pd.stderr,
        /mpp: permission denied on .*mroute\.sock\nhint: run as root, or ask for membership of the socket's group/,
      );
    });
  },
);

testIf(
  canRunNetns,
  netnsWhy,
  "mroute e2e: a second daemon on the same socket or the same table refuses to start",
  async () => {
    await withLab(async (lab) => {
      await lab.startDaemon();
      const run = (sock: string, extra: string[] = []) =>
        lab.exec(lab.rtr, Deno.execPath(), [
          "run",
          "-A",
          CLI,
          "daemon",
          "--socket",
          sock,
          "--no-persist",
          ...extra,
        ], false);
      const same = run(lab.socket);
      assert.equal(same.code, 1);
      assert.match(same.stderr, /mpp: another mroute daemon is already running on .*mroute\.sock/);
      const table = run(`${lab.dir}/second.sock`);
      assert.equal(table.code, 1);
      assert.match(
        table.stderr,
        /another multicast routing daemon already owns table 0 in this network namespace \(EADDRINUSE\)\nhint: stop the other daemon/,
      );
      // The first daemon is unaffected, and the failed one cleaned up its socket.
      assert.equal(lab.cli(["status"]).code, 0);
      assert.throws(() => Deno.statSync(`${lab.dir}/second.sock`));
      // Another table in the same namespace works (MRT_TABLE before MRT_INIT).
      const p = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          lab.rtr,
          Deno.execPath(),
          "run",
          "-A",
          CLI,
          "daemon",
          "--socket",
          `${lab.dir}/t7.sock`,
          "--table",
          "7",
          "--no-persist",
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        let st = { code: 1, stdout: "", stderr: "" };
        for (let i = 0; i < 100 && st.code !== 0; i++) {
          await new Promise((r) => setTimeout(r, 50));
          st = sh(
            Deno.execPath(),
            ["run", "-A", CLI, "status", "--json", "--socket", `${lab.dir}/t7.sock`],
            false,
          );
        }
        assert.equal(st.code, 0, st.stderr);
        assert.equal(JSON.parse(st.stdout).table, 7);
      } finally {
        p.kill("SIGTERM");
        await p.status;
      }
    });
  },
);

testIf(
  isRoot && !kernelMroute4 && haveTool("unshare"),
  kernelMroute4
    ? "this kernel has multicast routing (the e2e tests above cover it)"
    : "needs root and unshare",
  "mroute e2e: on a kernel without multicast routing the daemon stops with one line and a hint",
  () => {
    const dir = Deno.makeTempDirSync({ prefix: "mpp-nomr-" });
    try {
      const sock = `${dir}/mroute.sock`;
      const o = new Deno.Command("unshare", {
        args: ["-n", Deno.execPath(), "run", "-A", CLI, "daemon", "--socket", sock, "--no-persist"],
        stdout: "piped",
        stderr: "piped",
        env: { DENO_NO_UPDATE_CHECK: "1", RUST_BACKTRACE: "0" },
      }).outputSync();
      const err = new TextDecoder().decode(o.stderr);
      assert.equal(o.code, 1, err);
      assert.match(
        err,
        /mpp: IPv4 multicast routing socket: setsockopt MRT_INIT: Protocol not available \(ENOPROTOOPT\)\nhint: the kernel lacks multicast routing/,
      );
      assert.doesNotMatch(err, /\n\s+at /, "no stack trace");
      // The daemon did not leave its socket behind.
      assert.throws(() => Deno.statSync(sock));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
