import assert from "node:assert/strict";
import { Deadlines } from "../../lib/ipc/deadlines.ts";

Deno.test("deadlines: fire once after their time, not when deleted; the interval stops when idle", async () => {
  const d = new Deadlines<number>();
  const fired: number[] = [];
  d.add(1, 20, () => fired.push(1));
  d.add(2, 20, () => fired.push(2));
  d.add(3, 400, () => fired.push(3));
  d.delete(2);
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(fired, [1]);
  assert.equal(d.size, 1);
  d.add(4, 5, () => fired.push(4)); // a shorter deadline re-arms with a finer tick
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(fired, [1, 4]);
  d.clear();
  assert.equal(d.size, 0);
});
