import assert from "node:assert/strict";
import { formatText, Logger, parseLogLevel } from "../../lib/log/logger.ts";

const fixed = () => new Date("2026-01-02T03:04:05.000Z");

Deno.test("logger: JSON lines carry level, message and fields; below-level records are dropped", () => {
  const lines: string[] = [];
  const log = new Logger({
    level: "info",
    format: "json",
    sink: (l) => lines.push(l),
    now: fixed,
    fields: { svc: "t" },
  });
  log.debug("hidden");
  log.info("route added", { group: "239.1.1.1", oifs: ["a", "b"] });
  log.error("boom", { error: new Error("bad thing") });
  assert.equal(lines.length, 2);
  assert.deepEqual(JSON.parse(lines[0]), {
    ts: "2026-01-02T03:04:05.000Z",
    level: "info",
    msg: "route added",
    svc: "t",
    group: "239.1.1.1",
    oifs: ["a", "b"],
  });
  assert.equal(JSON.parse(lines[1]).error, "bad thing");
});

Deno.test("logger: text format quotes values with spaces; child adds fields", () => {
  const lines: string[] = [];
  const log = new Logger({ level: "debug", format: "text", sink: (l) => lines.push(l), now: fixed });
  log.child({ table: 5 }).warn("slow", { what: "two words" });
  assert.equal(lines[0], '2026-01-02T03:04:05.000Z WARN  slow table=5 what="two words"');
  assert.equal(formatText({ ts: "t", level: "info", msg: "m", n: 1 }), "t INFO  m n=1");
});

Deno.test("logger: file sink receives JSON even when the console is text", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = `${dir}/log.jsonl`;
    const log = new Logger({ level: "info", format: "text", sink: () => {}, file, now: fixed });
    log.info("one");
    log.child({ c: 1 }).info("two");
    log.close();
    const recs = Deno.readTextFileSync(file).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(recs.map((r) => r.msg), ["one", "two"]);
    assert.equal(recs[1].c, 1);
    assert.equal(Deno.statSync(file).mode! & 0o777, 0o640);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("logger: parseLogLevel rejects unknown levels", () => {
  assert.equal(parseLogLevel("debug"), "debug");
  assert.equal(parseLogLevel("loud"), "info");
  assert.equal(parseLogLevel(undefined, "warn"), "warn");
});
