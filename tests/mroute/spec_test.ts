import assert from "node:assert/strict";
import { formatV6, isMulticast, parseAddr, parsePrefix, prefixContains } from "../../lib/mroute/addr.ts";
import { parseJoin, parseRoute } from "../../lib/mroute/spec.ts";
import { parseRouteWords } from "../../lib/mroute/route_words.ts";
import { MppError } from "../../lib/errors.ts";

Deno.test("addr: IPv4/IPv6 parsing, canonical text (RFC 5952), multicast and prefixes", () => {
  assert.equal(parseAddr("239.1.2.3")?.text, "239.1.2.3");
  assert.equal(parseAddr("256.1.1.1"), null);
  assert.equal(parseAddr("1.2.3"), null);
  assert.equal(parseAddr("FF1E:0:0:0::1234")?.text, "ff1e::1234");
  assert.equal(parseAddr("2001:db8:0:0:1:0:0:1")?.text, "2001:db8::1:0:0:1");
  assert.equal(parseAddr("::ffff:10.0.0.1")?.text, "::ffff:a00:1");
  assert.equal(parseAddr("1::2::3"), null);
  assert.equal(parseAddr("eth0"), null);
  assert.equal(formatV6(new Uint8Array(16)), "::");
  assert.ok(isMulticast(parseAddr("224.0.0.1")!));
  assert.ok(!isMulticast(parseAddr("240.0.0.1")!));
  assert.ok(isMulticast(parseAddr("ff02::1")!));
  const p = parsePrefix("239.5.5.77/24", "group");
  assert.equal(p.addr.text, "239.5.5.0");
  assert.ok(prefixContains(p, parseAddr("239.5.5.200")!));
  assert.ok(!prefixContains(p, parseAddr("239.5.6.1")!));
  assert.ok(prefixContains(parsePrefix("ff1e::5:0/112", "group"), parseAddr("ff1e::5:7")!));
  assert.throws(() => parsePrefix("239.1.1.1/33", "group"), /bad prefix length/);
  assert.throws(() => parsePrefix("x/8", "group"), /not an IPv4 or IPv6 address/);
});

Deno.test("spec: routes normalise (sorted unique OIFs), (*,G) and prefixes are templates, bad input refused", () => {
  const r = parseRoute({
    iif: "eth0",
    source: "10.0.0.1",
    group: "239.1.1.1",
    oifs: ["eth2", "eth1", "eth2"],
  }, true);
  assert.deepEqual(r.spec, { iif: "eth0", source: "10.0.0.1", group: "239.1.1.1", oifs: ["eth1", "eth2"] });
  assert.equal(r.template, false);
  assert.equal(parseRoute({ iif: "eth0", group: "239.1.1.1", oifs: ["a"] }, true).template, true);
  assert.equal(
    parseRoute({ iif: "eth0", source: "10.0.0.0/8", group: "239.1.1.1", oifs: ["a"] }, true).template,
    true,
  );
  assert.equal(
    parseRoute({ iif: "eth0", source: "0.0.0.0/0", group: "239.1.1.1", oifs: ["a"] }, true).spec.source,
    undefined,
  );
  const bad: Array<[Parameters<typeof parseRoute>[0], RegExp]> = [
    [{ iif: "eth0", group: "10.1.1.1", oifs: ["a"] }, /not a multicast address/],
    [
      { iif: "eth0", source: "239.0.0.1", group: "239.1.1.1", oifs: ["a"] },
      /source 239\.0\.0\.1 is a multicast address/,
    ],
    [{ iif: "eth0", group: "239.1.1.1", oifs: [] }, /no outbound interface/],
    [{ iif: "eth0", group: "239.1.1.1", oifs: ["eth0"] }, /also listed as an outbound/],
  ];
  for (const [spec, re] of bad) {
    assert.throws(() => parseRoute(spec, true), (e: unknown) => e instanceof MppError && re.test(e.message));
  }
  assert.throws(() => parseJoin({ iif: "eth0", group: "239.0.0.0/8" }), /not a prefix/);
  assert.equal(
    parseJoin({ iif: "eth0", source: "10.0.0.1", group: "232.1.1.1" }).key,
    "eth0|10.0.0.1|232.1.1.1",
  );
});

Deno.test("route words: IIF [SOURCE] GROUP OIF... is split by what looks like an address", () => {
  assert.deepEqual(parseRouteWords(["eth0", "10.0.0.1", "239.1.1.1", "eth1"], "u"), {
    iif: "eth0",
    source: "10.0.0.1",
    group: "239.1.1.1",
    oifs: ["eth1"],
  });
  assert.deepEqual(parseRouteWords(["eth0", "239.1.1.1/24", "eth1", "eth2"], "u"), {
    iif: "eth0",
    group: "239.1.1.1/24",
    oifs: ["eth1", "eth2"],
  });
  assert.deepEqual(parseRouteWords(["eth0", "2001:db8::1", "ff1e::1"], "u"), {
    iif: "eth0",
    source: "2001:db8::1",
    group: "ff1e::1",
    oifs: [],
  });
  assert.throws(() => parseRouteWords(["eth0"], "u"), /missing arguments/);
  assert.throws(() => parseRouteWords(["239.1.1.1", "eth0"], "u"), /must be the inbound interface/);
  assert.throws(() => parseRouteWords(["eth0", "eth1", "239.1.1.1"], "u"), /'eth1' is not a group address/);
});
