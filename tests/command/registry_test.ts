import assert from "node:assert/strict";
import { z } from "zod";
import { defineCommand } from "../../lib/command/command.ts";
import { EventBus } from "../../lib/command/events.ts";
import { loadPlugins } from "../../lib/command/plugins.ts";
import { Registry } from "../../lib/command/registry.ts";
import { MppError } from "../../lib/errors.ts";
import { silentLogger } from "../../lib/log/logger.ts";

const ctx = { log: silentLogger, events: new EventBus(), via: "test" };

const add = defineCommand({
  name: "math.add",
  summary: "adds",
  args: z.object({ a: z.number(), b: z.number() }),
  run: (_ctx, { a, b }) => a + b,
});

Deno.test("registry: dispatch validates args and runs asynchronously", async () => {
  const r = new Registry();
  r.register(add);
  assert.equal(await r.dispatch("math.add", { a: 2, b: 3 }, ctx), 5);
  await assert.rejects(r.dispatch("math.add", { a: "x", b: 3 }, ctx), (e: unknown) => {
    assert.ok(e instanceof MppError);
    assert.equal(e.code, "bad_input");
    assert.match(e.message, /bad arguments for 'math.add' at 'a'/);
    return true;
  });
});

Deno.test("registry: unknown command lists the known ones; duplicates and bad names refused", async () => {
  const r = new Registry();
  r.register(add);
  await assert.rejects(r.dispatch("nope", {}, ctx), (e: unknown) => {
    assert.ok(e instanceof MppError);
    assert.equal(e.code, "not_found");
    assert.match(e.hint, /math.add/);
    return true;
  });
  assert.throws(() => r.register(add), /already registered/);
  assert.throws(() => r.register({ ...add, name: "Bad Name" }), /invalid command name/);
  assert.equal(r.unregister("math.add"), true);
  assert.equal(r.unregister("math.add"), false);
  assert.deepEqual(r.list(), []);
});

Deno.test("events: subscribers get their topic and '*'; unsubscribe and a throwing handler", () => {
  const bus = new EventBus();
  const got: string[] = [];
  const un = bus.subscribe("a", (t, d) => got.push(`a:${t}:${d}`));
  bus.subscribe("*", (t, d) => got.push(`*:${t}:${d}`));
  bus.subscribe("a", () => {
    throw new Error("broken");
  });
  bus.publish("a", 1);
  bus.publish("b", 2);
  un();
  bus.publish("a", 3);
  assert.deepEqual(got, ["a:a:1", "*:a:1", "*:b:2", "*:a:3"]);
  assert.equal(bus.subscriberCount("a"), 1);
});

Deno.test("plugins: modules in a directory register commands; a broken one is reported, not fatal", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const cmdUrl = new URL("../../lib/command/command.ts", import.meta.url).href;
    Deno.writeTextFileSync(
      `${dir}/a_hello.ts`,
      `import { defineCommand } from "${cmdUrl}";
export const commands = [defineCommand({ name: "hello", summary: "greets", args: { safeParse: (v) => ({ success: true, data: v }) }, run: (_c, a) => "hi " + a.who })];`,
    );
    Deno.writeTextFileSync(
      `${dir}/b_reg.js`,
      `export function register(r) { r.register({ name: "bye", summary: "s", args: { safeParse: (v) => ({ success: true, data: v }) }, run: () => "bye" }); }`,
    );
    Deno.writeTextFileSync(`${dir}/c_broken.js`, `throw new Error("plugin exploded");`);
    Deno.writeTextFileSync(`${dir}/notes.txt`, "ignored");
    const r = new Registry();
    const res = await loadPlugins(dir, r);
    assert.deepEqual(res.map((x) => [x.file.split("/").pop(), x.ok, x.commands]), [
      ["a_hello.ts", true, ["hello"]],
      ["b_reg.js", true, ["bye"]],
      ["c_broken.js", false, []],
    ]);
    assert.match(res[2].error ?? "", /plugin exploded/);
    assert.equal(await r.dispatch("hello", { who: "x" }, ctx), "hi x");
    assert.deepEqual(await loadPlugins(`${dir}/missing`, r), []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
