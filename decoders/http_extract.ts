/**
 * `--extract-http DIR`: saves every HTTP message body (de-chunked) to DIR while the capture is
 * read, then decodes gzip/deflate bodies through the built-in DecompressionStream. DIR/bodies.json
 * lists each file with its transaction.
 */
import { join } from "node:path";
import { MppError } from "../lib/errors.ts";
import type { HttpBodySink, HttpState, HttpTransaction } from "./http.ts";

export interface ExtractedBody {
  file: string;
  response: boolean;
  method: string | null;
  host: string;
  uri: string;
  status: number | null;
  /** Bytes as carried (after de-chunking). */
  bytes: number;
  contentEncoding: string;
  /** gzip/deflate bodies: whether decoding worked (the file then holds the decoded bytes). */
  decoded: boolean | null;
  complete: boolean;
}

interface Open {
  body: ExtractedBody;
  path: string;
  file: Deno.FsFile | null;
}

export class HttpExtractor implements HttpBodySink {
  readonly bodies: ExtractedBody[] = [];
  private n = 0;

  private constructor(readonly dir: string) {}

  static create(dir: string): HttpExtractor {
    try {
      Deno.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new MppError(
        "io",
        `cannot create ${dir}: ${(e as Error).message}`,
        "give --extract-http a directory you can write to",
      );
    }
    return new HttpExtractor(dir);
  }

  begin(_s: HttpState, tx: HttpTransaction, response: boolean): Open {
    const enc = response ? tx.contentEncoding : "";
    const file = `${String(this.n++).padStart(5, "0")}-${response ? "response" : "request"}${
      extOf(tx, response)
    }`;
    return {
      body: {
        file,
        response,
        method: tx.method,
        host: tx.host,
        uri: tx.uri,
        status: response ? tx.status : null,
        bytes: 0,
        contentEncoding: enc,
        decoded: null,
        complete: false,
      },
      path: join(this.dir, file + (isCompressed(enc) ? ".encoded" : "")),
      file: null,
    };
  }

  data(handle: unknown, b: Uint8Array, off: number, len: number): void {
    const o = handle as Open;
    if (len === 0) return;
    try {
      // Opened on the first byte: bodyless messages leave no empty files.
      o.file ??= Deno.openSync(o.path, { write: true, create: true, truncate: true });
      const v = b.subarray(off, off + len);
      let w = 0;
      while (w < v.length) w += o.file.writeSync(v.subarray(w));
    } catch (e) {
      throw new MppError(
        "io",
        `cannot write ${o.path}: ${(e as Error).message}`,
        "check free space and permissions",
      );
    }
    o.body.bytes += len;
  }

  end(handle: unknown, complete: boolean): void {
    const o = handle as Open;
    if (o.file !== null) {
      o.file.close();
      o.file = null;
      o.body.complete = complete;
      this.bodies.push(o.body);
    }
  }

  /** Decodes compressed bodies and writes DIR/bodies.json; returns one warning per body that failed. */
  async finish(): Promise<string[]> {
    const warnings: string[] = [];
    for (const b of this.bodies) {
      if (!isCompressed(b.contentEncoding)) continue;
      const src = join(this.dir, b.file + ".encoded"), dst = join(this.dir, b.file);
      try {
        const fmt = b.contentEncoding.includes("gzip") ? "gzip" : "deflate";
        const input = await Deno.open(src, { read: true });
        const out = await Deno.open(dst, { write: true, create: true, truncate: true });
        await input.readable.pipeThrough(new DecompressionStream(fmt)).pipeTo(out.writable);
        await Deno.remove(src);
        b.decoded = true;
      } catch (e) {
        b.decoded = false;
        warnings.push(
          `${b.file}: could not decode ${b.contentEncoding} (${
            (e as Error).message
          }); kept as ${b.file}.encoded`,
        );
        await Deno.remove(dst).catch(() => {});
      }
    }
    await Deno.writeTextFile(
      join(this.dir, "bodies.json"),
      JSON.stringify({ bodies: this.bodies }, null, 1) + "\n",
    );
    return warnings;
  }
}

function isCompressed(enc: string): boolean {
  return enc.includes("gzip") || enc.includes("deflate");
}

function extOf(tx: HttpTransaction, response: boolean): string {
  const ct = response ? tx.contentType.toLowerCase() : "";
  if (ct.includes("html")) return ".html";
  if (ct.includes("json")) return ".json";
  if (ct.includes("javascript")) return ".js";
  if (ct.includes("css")) return ".css";
  if (ct.includes("png")) return ".png";
  if (ct.includes("jpeg")) return ".jpg";
  if (ct.includes("gif")) return ".gif";
  if (ct.startsWith("text/")) return ".txt";
  return ".bin";
}
