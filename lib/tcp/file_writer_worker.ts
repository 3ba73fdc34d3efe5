/**
 * The --streams writer's file I/O on a second thread: creating tens of thousands of small files
 * costs tens of microseconds each in the runtime, so the analysis thread hands finished buffers
 * here (transferred, not copied) and goes on. `pending` (shared) counts queued bytes for
 * back-pressure; every write subtracts its size and wakes a waiting sender.
 */
interface WriteJob {
  path: string;
  /** The bytes are data[0, size). */
  data: Uint8Array;
  size: number;
  append: boolean;
}

let pending: Int32Array | null = null;
let failure: string | null = null;

self.onmessage = (e: MessageEvent) => {
  const m = e.data as { init?: SharedArrayBuffer; job?: WriteJob; drain?: boolean };
  if (m.init !== undefined) {
    pending = new Int32Array(m.init);
    return;
  }
  if (m.drain) {
    self.postMessage({ drained: true, failure });
    return;
  }
  const j = m.job!;
  if (failure === null) {
    let f: Deno.FsFile | undefined;
    try {
      f = j.append
        ? Deno.openSync(j.path, { write: true, append: true })
        : Deno.openSync(j.path, { write: true, create: true, truncate: true });
      let w = 0;
      while (w < j.size) w += f.writeSync(j.data.subarray(w, j.size));
    } catch (err) {
      failure = `cannot write ${j.path}: ${(err as Error).message}`;
    } finally {
      f?.close();
    }
  }
  if (pending !== null) {
    Atomics.sub(pending, 0, j.size);
    Atomics.notify(pending, 0);
  }
};
