import assert from "node:assert/strict";
import { loadConfig } from "../../lib/mroute/config.ts";
import { MppError } from "../../lib/errors.ts";

function withDir(fn: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync();
  try {
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("config: smcroute-like syntax with comments, phyint options, includes (sorted glob) and JSON", () => {
  withDir((dir) => {
    Deno.mkdirSync(`${dir}/d`);
    Deno.writeTextFileSync(`${dir}/d/b.conf`, "mroute from eth0 group 239.2.0.0/16 to eth3\n");
    Deno.writeTextFileSync(`${dir}/d/a.conf`, "mgroup from eth0 source 10.0.0.1 group 232.1.1.1\n");
    Deno.writeTextFileSync(`${dir}/d/skip.txt`, "garbage\n");
    Deno.writeTextFileSync(
      `${dir}/d/c.json`,
      JSON.stringify({
        phyints: [{ name: "eth9", enable: false }],
        mroutes: [{ iif: "eth9", group: "ff1e::1", oifs: ["eth8"] }],
      }),
    );
    Deno.writeTextFileSync(
      `${dir}/main.conf`,
      [
        "# comment",
        "phyint eth0 enable mrdisc ttl-threshold 3   # trailing comment",
        "phyint eth5 disable",
        "",
        "mgroup from eth0 group 239.1.1.1",
        "mroute from eth0 source 10.0.0.1 group 239.1.1.1 to eth1 eth2",
        "include d/*.conf",
        "include d/c.json",
      ].join("\n"),
    );
    const c = loadConfig(`${dir}/main.conf`);
    assert.deepEqual(c.phyints, [
      { name: "eth0", enable: true, ttlThreshold: 3 },
      { name: "eth5", enable: false, ttlThreshold: 1 },
      { name: "eth9", enable: false, ttlThreshold: 1 },
    ]);
    assert.deepEqual(c.mgroups, [{ iif: "eth0", group: "239.1.1.1" }, {
      iif: "eth0",
      source: "10.0.0.1",
      group: "232.1.1.1",
    }]);
    assert.deepEqual(c.mroutes, [
      { iif: "eth0", source: "10.0.0.1", group: "239.1.1.1", oifs: ["eth1", "eth2"] },
      { iif: "eth0", group: "239.2.0.0/16", oifs: ["eth3"] },
      { iif: "eth9", group: "ff1e::1", oifs: ["eth8"] },
    ]);
    assert.deepEqual(c.files.map((f) => f.slice(dir.length)), [
      "/main.conf",
      "/d/a.conf",
      "/d/b.conf",
      "/d/c.json",
    ]);
  });
});

Deno.test("config: errors name the file and line; include loops and bad JSON are caught", () => {
  withDir((dir) => {
    const cases: Array<[string, RegExp]> = [
      ["mroute from eth0 group 239.1.1.1\n", /x\.conf:1: mroute needs 'to OIF/],
      ["\n\nmroute group 239.1.1.1 to eth1\n", /x\.conf:3: mroute needs 'from IFNAME'/],
      ["phyint eth0 ttl-threshold 0\n", /x\.conf:1: ttl-threshold needs 1\.\.255, got '0'/],
      ["phyint eth0 bogus\n", /unknown phyint option 'bogus'/],
      ["route add foo\n", /x\.conf:1: unknown keyword 'route'/],
      ["mgroup from eth0 group 239.1.1.1 to eth1\n", /unexpected 'to'/],
      ["include x.conf\n", /include loop/],
      ['{"mroutes": [{"iif": "eth0"}]}', /x\.conf: mroutes\.0\.group/],
      ['{"mroutes": [', /not valid JSON/],
      ['{"routes": []}', /x\.conf: .*routes/],
    ];
    for (const [text, re] of cases) {
      Deno.writeTextFileSync(`${dir}/x.conf`, text);
      assert.throws(() => loadConfig(`${dir}/x.conf`), (e: unknown) => {
        assert.ok(e instanceof MppError, String(e));
        assert.equal(e.code, "bad_input");
        assert.match(e.message, re);
        return true;
      });
    }
    assert.throws(() => loadConfig(`${dir}/missing.conf`), /cannot read config file/);
  });
});

Deno.test("config: 'mpp mroute check-config' reports bad entries with exit status 1, good files with 0", () => {
  withDir((dir) => {
    const cli = new URL("../../cli/mroute.ts", import.meta.url).pathname;
    const run = (file: string) => {
      const o = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", cli, "check-config", file, "--json"],
        env: { DENO_NO_UPDATE_CHECK: "1" },
      })
        .outputSync();
      return { code: o.code, out: new TextDecoder().decode(o.stdout) };
    };
    Deno.writeTextFileSync(
      `${dir}/ok.conf`,
      "mroute from eth0 source 10.0.0.1 group 239.1.1.1 to eth1\nmgroup from eth0 group 239.1.1.1\n",
    );
    const ok = run(`${dir}/ok.conf`);
    assert.equal(ok.code, 0);
    assert.deepEqual(JSON.parse(ok.out).errors, []);
    Deno.writeTextFileSync(`${dir}/bad.conf`, "mroute from eth0 source 239.0.0.1 group 239.1.1.1 to eth1\n");
    const bad = run(`${dir}/bad.conf`);
    assert.equal(bad.code, 1);
    assert.match(JSON.parse(bad.out).errors[0], /source 239\.0\.0\.1 is a multicast address/);
  });
});
