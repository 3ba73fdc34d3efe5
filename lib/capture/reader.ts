/**
 * Reading a capture from a file or stdin into a CaptureParser: large reads straight into the
 * parser's buffer for plain files, the built-in DecompressionStream for gzip (detected by its magic
 * bytes), Deno.stdin.readable for "-". Memory stays constant whatever the input size.
 */
import { MppError } from "../errors.ts";
import type { CaptureFileInfo, CaptureIssue, RecordSink } from "./record.ts";
import { CaptureParser } from "./parser.ts";

export interface ReadOptions {
  maxCaplen?: number;
  /** Called after every chunk with the source bytes read so far and the source size when known. */
  onProgress?: (bytesRead: number, totalBytes: number | undefined) => void;
  /** Bytes per read; default 4 MiB. */
  chunkSize?: number;
}

export interface ReadResult {
  info: CaptureFileInfo;
  issues: CaptureIssue[];
  records: number;
  /** Bytes read from the source (compressed bytes for gzip input). */
  bytesRead: number;
  compressed: boolean;
}

/** Reads a pcap or pcapng file (or "-" for stdin), optionally gzip-compressed, into `sink`. */
export async function readCapture(
  path: string,
  sink: RecordSink,
  opts: ReadOptions = {},
): Promise<ReadResult> {
  const parser = new CaptureParser(sink, { maxCaplen: opts.maxCaplen, chunkSize: opts.chunkSize });
  const progress = opts.onProgress;
  let bytesRead = 0;
  let compressed = false;
  if (path === "-") {
    const r = await readStdin(parser, progress);
    bytesRead = r.bytesRead;
    compressed = r.compressed;
  } else {
    const file = await openCapture(path);
    try {
      const st = await file.stat();
      // Pipes and character devices have no meaningful size.
      const total = st.isFile ? st.size : undefined;
      const first = parser.writable();
      const n0 = await readSome(file, first, path, st.isFile);
      if (n0 > 0 && first[0] === 0x1f && (n0 < 2 || first[1] === 0x8b)) {
        // gzip: hand the bytes already read and the rest of the file to the decompressor.
        const head = first.slice(0, n0);
        const rest = file.readable;
        const r = await readStream(prepend(head, rest), parser, progress, total);
        bytesRead = r.bytesRead;
        compressed = true;
      } else {
        bytesRead = n0;
        parser.commit(n0);
        progress?.(bytesRead, total);
        while (n0 > 0 && !parser.stopped) {
          const region = parser.writable();
          const n = await readSome(file, region, path, st.isFile);
          if (n === 0) break;
          bytesRead += n;
          parser.commit(n);
          progress?.(bytesRead, total);
        }
      }
    } finally {
      try {
        file.close();
      } catch { /* already closed by file.readable */ }
    }
  }
  parser.end();
  const info = parser.info;
  if (info === undefined) {
    // end() throws when nothing could be read; an info-less parser here is a bug.
    throw new MppError("internal", `no capture header read from ${path}`, "");
  }
  return { info, issues: parser.issues, records: parser.records, bytesRead, compressed };
}

async function openCapture(path: string): Promise<Deno.FsFile> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch (e) {
    throw fsError(e, path);
  }
  if (stat.isDirectory) {
    throw new MppError(
      "bad_input",
      `${path} is a directory, not a capture file`,
      "give the path of a .pcap or .pcapng file",
    );
  }
  try {
    return await Deno.open(path, { read: true });
  } catch (e) {
    throw fsError(e, path);
  }
}

function fsError(e: unknown, path: string): MppError {
  if (e instanceof Deno.errors.NotFound) {
    return new MppError("not_found", `${path}: no such file`, "check the path; use - to read from stdin", {
      cause: e,
    });
  }
  if (e instanceof Deno.errors.NotCapable) {
    return new MppError("permission", `${path}: permission denied`, "run with --allow-read (or -A)", {
      cause: e,
    });
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return new MppError("permission", `${path}: permission denied`, "make the file readable for this user", {
      cause: e,
    });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new MppError("io", `${path}: cannot read: ${msg}`, "check that the file is readable", { cause: e });
}

/**
 * One read into `into`. Regular files are read synchronously: an async read of a 4 MiB chunk from
 * the page cache left the thread idle for the round trip through the runtime's thread pool, 0.3 s
 * per GB-sized capture with nothing to overlap it. Pipes and devices stay async.
 */
async function readSome(file: Deno.FsFile, into: Uint8Array, path: string, sync = false): Promise<number> {
  try {
    return (sync ? file.readSync(into) : await file.read(into)) ?? 0;
  } catch (e) {
    throw fsError(e, path);
  }
}

/**
 * Standard input read synchronously into the parser's own buffer, as regular files are: through
 * `Deno.stdin.readable` a capture piped in (`tcpdump -w - | mpp analyze -`) took 0.8 s longer per
 * 655 MB, the thread idle between async reads and a new chunk allocated for each. Gzip input goes
 * to the decompressing stream as before.
 */
async function readStdin(
  parser: CaptureParser,
  progress: ReadOptions["onProgress"],
): Promise<{ bytesRead: number; compressed: boolean }> {
  const read = (into: Uint8Array): number => {
    try {
      return Deno.stdin.readSync(into) ?? 0;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new MppError("io", `standard input: read failed: ${msg}`, "check the command feeding mpp", {
        cause: e,
      });
    }
  };
  const first = parser.writable();
  const n0 = read(first);
  if (n0 > 0 && first[0] === 0x1f && (n0 < 2 || first[1] === 0x8b)) {
    return await readStream(prepend(first.slice(0, n0), Deno.stdin.readable), parser, progress, undefined);
  }
  let bytesRead = n0;
  parser.commit(n0);
  progress?.(bytesRead, undefined);
  while (n0 > 0 && !parser.stopped) {
    const n = read(parser.writable());
    if (n === 0) break;
    bytesRead += n;
    parser.commit(n);
    progress?.(bytesRead, undefined);
  }
  return { bytesRead, compressed: false };
}

function prepend(head: Uint8Array, rest: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = rest.getReader();
  let sentHead = false;
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      if (!sentHead) {
        sentHead = true;
        ctl.enqueue(head);
        return;
      }
      const { value, done } = await reader.read();
      if (done) ctl.close();
      else ctl.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** Reads a byte stream into the parser, decompressing it when it starts with the gzip magic. */
async function readStream(
  stream: ReadableStream<Uint8Array>,
  parser: CaptureParser,
  progress: ReadOptions["onProgress"],
  total: number | undefined,
): Promise<{ bytesRead: number; compressed: boolean }> {
  let bytesRead = 0;
  const counted = stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        bytesRead += chunk.length;
        ctl.enqueue(chunk);
      },
    }),
  );
  const reader = counted.getReader();
  const first = await reader.read();
  if (first.done) return { bytesRead: 0, compressed: false };
  const head = first.value;
  const compressed = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  let source: ReadableStreamDefaultReader<Uint8Array> = reader;
  if (compressed) {
    reader.releaseLock();
    source = prepend(head, counted).pipeThrough(gunzip()).getReader();
  } else {
    parser.push(head);
    progress?.(bytesRead, total);
  }
  try {
    while (!parser.stopped) {
      let chunk: Uint8Array;
      try {
        const r = await source.read();
        if (r.done) break;
        chunk = r.value;
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (!compressed) throw new MppError("io", `read failed: ${msg}`, "check the input", { cause: e });
        // A damaged or cut gzip stream: keep what was decoded, say where it broke.
        parser.fail(
          parser.bytesConsumed,
          `gzip stream damaged or cut short after ${parser.bytesConsumed} decompressed bytes (${msg})`,
        );
        break;
      }
      // Outside the read's try: an error thrown by the record sink is the caller's, passed on as is.
      parser.push(chunk);
      progress?.(bytesRead, total);
    }
  } finally {
    await source.cancel().catch(() => {});
  }
  return { bytesRead, compressed };
}

function gunzip(): TransformStream<Uint8Array, Uint8Array> {
  // DecompressionStream's declared input type is BufferSource, a superset of what is piped in.
  return new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>;
}
