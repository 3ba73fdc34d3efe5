import assert from "node:assert/strict";
import { Clock, epochString, TIMING_WORDS, timingInit, TimingStats } from "../../lib/flow/timing.ts";

Deno.test("TimingStats counts packets and bytes and keeps first/last", () => {
  const t = new TimingStats();
  t.add(1.0, 100);
  t.add(1.5, 50);
  t.add(3.0, 10);
  assert.equal(t.packets, 3);
  assert.equal(t.bytes, 160);
  assert.equal(t.first, 1.0);
  assert.equal(t.last, 3.0);
  assert.equal(t.duration, 2.0);
});

Deno.test("TimingStats inter-arrival min/mean/max/stddev match a direct computation", () => {
  const times = [0, 0.1, 0.3, 0.35, 0.9, 1.0];
  const t = new TimingStats();
  for (const x of times) t.add(x, 1);
  const iats = times.slice(1).map((x, i) => x - times[i]);
  const mean = iats.reduce((a, b) => a + b, 0) / iats.length;
  const sd = Math.sqrt(iats.reduce((a, b) => a + (b - mean) ** 2, 0) / iats.length);
  assert.ok(Math.abs(t.iatMin - Math.min(...iats)) < 1e-12);
  assert.ok(Math.abs(t.iatMax - Math.max(...iats)) < 1e-12);
  assert.ok(Math.abs(t.iatMean - mean) < 1e-12);
  assert.ok(Math.abs(t.iatStddev - sd) < 1e-12);
});

Deno.test("TimingStats jitter follows J += (|ΔIAT| − J)/16", () => {
  const times = [0, 1, 2.5, 3, 5];
  const t = new TimingStats();
  for (const x of times) t.add(x, 1);
  let j = 0;
  const iats = times.slice(1).map((x, i) => x - times[i]);
  for (let i = 1; i < iats.length; i++) j += (Math.abs(iats[i] - iats[i - 1]) - j) / 16;
  assert.ok(Math.abs(t.jitter - j) < 1e-12);
  // A perfectly periodic stream has zero jitter.
  const p = new TimingStats();
  for (let i = 0; i < 100; i++) p.add(i * 0.125, 1);
  assert.equal(p.jitter, 0);
});

Deno.test("TimingStats tolerates a timestamp going backwards (merged captures)", () => {
  const t = new TimingStats();
  t.add(5, 1);
  t.add(4, 1);
  t.add(6, 1);
  assert.equal(t.iatMin, 0);
  assert.equal(t.last, 6);
  assert.equal(t.first, 5);
});

Deno.test("a TimingStats view over a shared array updates only its own slot", () => {
  const st = new Float64Array(3 * TIMING_WORDS);
  timingInit(st, TIMING_WORDS);
  const v = new TimingStats(st, TIMING_WORDS);
  v.add(1, 10);
  v.add(2, 10);
  assert.equal(v.packets, 2);
  assert.equal(v.iatMin, 1);
  assert.deepEqual([...st.subarray(0, TIMING_WORDS)], new Array(TIMING_WORDS).fill(0));
  assert.deepEqual([...st.subarray(2 * TIMING_WORDS)], new Array(TIMING_WORDS).fill(0));
});

Deno.test("Clock: seconds from the first frame (tshark's time_relative), nanoseconds exact", () => {
  const c = new Clock();
  assert.equal(c.rel(1700000000, 123456789), 0);
  assert.equal(c.rel(1700000000, 923456789), 0.8);
  assert.equal(c.rel(1700000001, 0), 0.876543211);
  assert.ok(Math.abs(c.rel(1700000100, 123456790) - 100.000000001) < 1e-12);
  // A frame earlier than the first (merged captures) is negative.
  assert.equal(c.rel(1699999999, 123456789), -1);
});

Deno.test("epochString pads nanoseconds to 9 digits", () => {
  assert.equal(epochString(1700000000, 5), "1700000000.000000005");
  assert.equal(epochString(0, 0), "0.000000000");
});
