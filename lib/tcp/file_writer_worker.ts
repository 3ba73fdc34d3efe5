/// <reference lib="deno.worker" />
/**
 * The --streams writer's file thread: reads the record ring (write_ring.ts) and makes the files
 * with open/write/close through libc. Descriptors stay open while a connection lives (like
 * tcpflow), up to `maxOpen`; past that the longest-open file is closed and reopened in append mode
 * when more of its bytes come. The first failure is kept, flagged in the ring's control words, and
 * everything after it is dropped; the analysis thread reports it.
 */
import { C_FAILED, OP_CLOSE, OP_DATA, OP_FINISH, OP_OPEN, readRing, type RingBuffers } from "./write_ring.ts";
import {
  close,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_TRUNC,
  O_WRONLY,
  openPath,
  writeAll,
} from "../../ffi/libc.ts";

interface Init {
  buffers: RingBuffers;
  maxOpen: number;
}

const decoder = new TextDecoder();

self.onmessage = (e: MessageEvent<Init>) => {
  const { buffers, maxOpen } = e.data;
  const ctl = new Int32Array(buffers.control);
  /** Per file id: NUL-terminated path, descriptor (-1: closed), whether it exists yet. */
  const paths: (Uint8Array | undefined)[] = [];
  const fds: number[] = [];
  const created: boolean[] = [];
  /** Ids in the order their descriptors were opened (closed ones are skipped lazily). */
  const openOrder: number[] = [];
  let orderHead = 0;
  let open = 0;
  let failure: string | null = null;

  const closeFd = (id: number) => {
    if (fds[id] >= 0) {
      close(fds[id]);
      fds[id] = -1;
      open--;
    }
  };

  const fdOf = (id: number): number => {
    let fd = fds[id];
    if (fd >= 0) return fd;
    while (open >= maxOpen && orderHead < openOrder.length) closeFd(openOrder[orderHead++]);
    if (orderHead > 4096 && orderHead * 2 > openOrder.length) {
      openOrder.splice(0, orderHead);
      orderHead = 0;
    }
    const flags = O_WRONLY | O_CLOEXEC | (created[id] ? O_APPEND : O_CREAT | O_TRUNC);
    const p = paths[id]!;
    fd = openPath(p, flags, 0o644, decoder.decode(p.subarray(0, p.length - 1)));
    created[id] = true;
    fds[id] = fd;
    open++;
    openOrder.push(id);
    return fd;
  };

  readRing(buffers, (op, id, payload) => {
    if (op === OP_FINISH) return false;
    if (failure !== null) return true;
    try {
      if (op === OP_OPEN) {
        paths[id] = payload.slice();
        fds[id] = -1;
        created[id] = false;
      } else if (op === OP_DATA) {
        const p = paths[id]!;
        writeAll(fdOf(id), payload, decoder.decode(p.subarray(0, p.length - 1)));
      } else if (op === OP_CLOSE) {
        // The path stays: a late segment of an ended connection reopens the file to append.
        closeFd(id);
      }
    } catch (err) {
      failure = (err as Error).message;
      Atomics.store(ctl, C_FAILED, 1);
    }
    return true;
  });
  for (let id = 0; id < fds.length; id++) if (fds[id] >= 0) close(fds[id]);
  self.postMessage({ failure });
};
