/** mpp's bare record walk (read + hand out every record, no decoding): the floor for analyze. */
import { readCapture } from "../../lib/capture/mod.ts";

let n = 0, bytes = 0;
const r = await readCapture(Deno.args[0], (rec) => {
  n++;
  bytes += rec.data.length;
});
if (n !== r.records) throw new Error("record count mismatch");
console.log(`${n} records, ${bytes} bytes`);
