/// <reference lib="deno.worker" />
/**
 * The --streams writer's file thread: reads the record ring (write_ring.ts) into a FileSink. The
 * first failure is flagged in the ring's control words and everything after it is dropped; the
 * analysis thread reports it.
 */
import { C_FAILED, OP_FINISH, readRing, type RingBuffers } from "./write_ring.ts";
import { FileSink } from "./file_sink.ts";

self.onmessage = (e: MessageEvent<{ buffers: RingBuffers; maxOpen: number }>) => {
  const { buffers, maxOpen } = e.data;
  const ctl = new Int32Array(buffers.control);
  const sink = new FileSink(maxOpen);
  readRing(buffers, (op, id, payload) => {
    if (op === OP_FINISH) return false;
    sink.record(op, id, payload);
    if (sink.failure !== null) Atomics.store(ctl, C_FAILED, 1);
    return true;
  });
  sink.closeAll();
  self.postMessage({ failure: sink.failure });
};
