/**
 * The files of --streams, made with libc open/write/close: one id per direction, descriptors kept
 * open while a connection lives, up to `maxOpen`; past that the longest-open file is closed and
 * reopened in append mode when more of its bytes come (as are files of ended connections that get
 * a late segment). Runs on the file thread (file_writer_worker.ts), or in-thread when that thread's
 * module cannot be loaded (a bundled mpp.js).
 */
import {
  close,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_TRUNC,
  O_WRONLY,
  openPath,
  SyscallError,
  writeAll,
} from "../../ffi/libc.ts";
import { OP_CLOSE, OP_DATA, OP_OPEN } from "./write_ring.ts";

const decoder = new TextDecoder();

export class FileSink {
  /** Per file id: NUL-terminated path, descriptor (-1: closed), whether it exists yet. */
  private readonly paths: Uint8Array[] = [];
  private readonly fds: number[] = [];
  private readonly created: boolean[] = [];
  /** Ids in the order their descriptors were opened (closed ones are skipped lazily). */
  private openOrder: number[] = [];
  private orderHead = 0;
  private open = 0;
  /** The first failure; everything after it is dropped. */
  failure: string | null = null;

  constructor(private readonly maxOpen: number) {}

  /** One ring record (OP_OPEN: payload is the path with its NUL; OP_DATA: bytes; OP_CLOSE). */
  record(op: number, id: number, payload: Uint8Array | null): void {
    if (this.failure !== null) return;
    try {
      if (op === OP_OPEN) {
        this.paths[id] = payload!.slice();
        this.fds[id] = -1;
        this.created[id] = false;
      } else if (op === OP_DATA) writeAll(this.fdOf(id), payload!);
      else if (op === OP_CLOSE) this.closeFd(id);
    } catch (err) {
      // The path is named only here: decoding it for every write cost more than the write.
      this.failure = err instanceof SyscallError
        ? new SyscallError(err.syscall, err.errno, this.name(id)).message
        : (err as Error).message;
    }
  }

  /** Closes every descriptor. */
  closeAll(): void {
    for (let id = 0; id < this.fds.length; id++) this.closeFd(id);
  }

  private name(id: number): string {
    const p = this.paths[id];
    return decoder.decode(p.subarray(0, p.length - 1));
  }

  private closeFd(id: number): void {
    if (this.fds[id] >= 0) {
      close(this.fds[id]);
      this.fds[id] = -1;
      this.open--;
    }
  }

  private fdOf(id: number): number {
    let fd = this.fds[id];
    if (fd >= 0) return fd;
    while (this.open >= this.maxOpen && this.orderHead < this.openOrder.length) {
      this.closeFd(this.openOrder[this.orderHead++]);
    }
    if (this.orderHead > 4096 && this.orderHead * 2 > this.openOrder.length) {
      this.openOrder = this.openOrder.slice(this.orderHead);
      this.orderHead = 0;
    }
    const flags = O_WRONLY | O_CLOEXEC | (this.created[id] ? O_APPEND : O_CREAT | O_TRUNC);
    fd = openPath(this.paths[id], flags, 0o644);
    this.created[id] = true;
    this.fds[id] = fd;
    this.open++;
    this.openOrder.push(id);
    return fd;
  }
}
