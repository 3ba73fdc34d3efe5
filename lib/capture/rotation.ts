/**
 * Where a live capture's records go: one pcap or pcapng file, stdout, or a dumpcap-style ring of
 * files (`-b filesize:KB`, `-b duration:S`, `-b packets:N`, `-b files:N`) named
 * `stem_00001_20240714120117.ext`. Writing goes through lib/capture's PcapWriter/PcapngWriter.
 *
 * Disk full (or any write error) stops the output and truncates the file to the last whole record,
 * so it stays readable: the ends of recent records are kept in a ring of numbers covering more than
 * the writer's buffer, and the file is cut at the last end the kernel accepted.
 */
import { MppError } from "../errors.ts";
import { PcapWriter } from "./pcap_writer.ts";
import { PcapngWriter } from "./pcapng_writer.ts";
import type { OpenedInterface } from "./live_worker.ts";
import { DEFAULT_WRITE_BUFFER } from "./buffered_output.ts";

export interface RingSpec {
  /** Switch files once the current one reaches this many kB (1000 bytes, as dumpcap). */
  filesizeKB?: number;
  /** Switch files after this many seconds. */
  durationS?: number;
  /** Switch files after this many packets. */
  packets?: number;
  /** Keep only the newest N files (a ring buffer). */
  files?: number;
}

export interface OutputOptions {
  /** File name, or "-" for stdout. */
  path: string;
  format: "pcap" | "pcapng";
  interfaces: OpenedInterface[];
  ring?: RingSpec;
  /** Clock for file names and durations (tests). */
  now?: () => number;
}

/** pcap if the name says so, else pcapng (dumpcap's default). */
export function formatForPath(path: string, forced?: string): "pcap" | "pcapng" {
  if (forced === "pcap" || forced === "pcapng") return forced;
  if (forced !== undefined) {
    throw new MppError("bad_usage", `unknown output format "${forced}"`, "use -F pcap or -F pcapng");
  }
  return /\.(pcap|cap|dmp)$/i.test(path) ? "pcap" : "pcapng";
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** dumpcap's ring-buffer file name: stem_NNNNN_YYYYMMDDhhmmss.ext (local time). */
export function ringFileName(path: string, n: number, ms: number): string {
  const m = /^(.*?)(\.[^./]*)?$/.exec(path)!;
  const d = new Date(ms);
  const stamp = `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}${pad(d.getHours())}` +
    `${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  return `${m[1]}_${pad(n, 5)}_${stamp}${m[2] ?? ""}`;
}

type Writer = PcapWriter | PcapngWriter;

// Record ends remembered for truncation: more than a full write buffer of minimum-size records.
const END_RING = 2 * (DEFAULT_WRITE_BUFFER / 16);

export class CaptureOutput {
  readonly #opts: OutputOptions;
  readonly #now: () => number;
  readonly #ring: RingSpec;
  readonly #ns: boolean[];
  #writer: Writer | undefined;
  #file: Deno.FsFile | undefined;
  #path = "";
  #opened = 0;
  #fileRecords = 0;
  #rotatePending = false;
  readonly #ends = new Float64Array(END_RING);
  #endCount = 0;
  /** Every file created, oldest first (deleted ring files are removed from it). */
  readonly files: string[] = [];
  #fileNumber = 0;
  records = 0;
  /** Bytes in files already closed, plus the current file's. */
  #closedBytes = 0;
  failed: MppError | undefined;

  constructor(opts: OutputOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#ring = opts.ring ?? {};
    this.#ns = opts.interfaces.map((i) => i.nanos);
    const rotating = this.rotating;
    if (opts.path === "-" && rotating) {
      throw new MppError(
        "bad_usage",
        "ring buffers (-b) need a file name, not stdout",
        "use -w FILE with -b",
      );
    }
    if (
      this.#ring.files !== undefined && !(this.#ring.filesizeKB || this.#ring.durationS || this.#ring.packets)
    ) {
      throw new MppError(
        "bad_usage",
        "-b files:N needs a condition to switch files",
        "add -b filesize:KB, -b duration:S or -b packets:N",
      );
    }
    if (opts.format === "pcap" && new Set(opts.interfaces.map((i) => i.linkType)).size > 1) {
      throw new MppError(
        "bad_usage",
        "the interfaces have different link types, which a pcap file cannot hold",
        "write pcapng (the default) or capture one interface",
      );
    }
    this.#openNext();
  }

  get rotating(): boolean {
    const r = this.#ring;
    return !!(r.filesizeKB || r.durationS || r.packets);
  }

  /** The file being written now ("-" for stdout). */
  get currentPath(): string {
    return this.#path;
  }

  get bytesWritten(): number {
    return this.#closedBytes + (this.#writer?.bytesWritten ?? 0);
  }

  get currentFileBytes(): number {
    return this.#writer?.bytesWritten ?? 0;
  }

  #openNext(): void {
    const o = this.#opts;
    this.#opened = this.#now();
    this.#fileRecords = 0;
    this.#endCount = 0;
    this.#rotatePending = false;
    let sink: Deno.FsFile | typeof Deno.stdout;
    if (o.path === "-") {
      this.#path = "-";
      sink = Deno.stdout;
    } else {
      this.#fileNumber++;
      this.#path = this.rotating ? ringFileName(o.path, this.#fileNumber, this.#opened) : o.path;
      try {
        // Captured traffic is private: owner-only, like dumpcap without -g.
        this.#file = Deno.openSync(this.#path, { write: true, create: true, truncate: true, mode: 0o600 });
      } catch (e) {
        throw ioError(`cannot create ${this.#path}`, e);
      }
      sink = this.#file;
      this.files.push(this.#path);
      const keep = this.#ring.files;
      while (keep !== undefined && keep > 0 && this.files.length > keep) {
        const old = this.files.shift()!;
        try {
          Deno.removeSync(old);
        } catch { /* already gone: nothing to keep bounded */ }
      }
    }
    const keepOpen = o.path === "-";
    const ifs = o.interfaces;
    this.#writer = o.format === "pcap"
      ? new PcapWriter(sink, {
        linkType: ifs[0].linkType,
        snaplen: ifs[0].snaplen,
        precision: ifs[0].nanos ? "ns" : "us",
        keepOpen,
      })
      : new PcapngWriter(sink, {
        application: "mpp capture",
        os: Deno.build.os,
        keepOpen,
        interfaces: ifs.map((i) => ({
          linkType: i.linkType,
          name: i.name,
          snaplen: i.snaplen,
          precision: i.nanos ? "ns" : "us",
        })),
      });
    this.#ends[0] = this.#writer.bytesWritten;
    this.#endCount = 1;
  }

  #rotate(): void {
    this.#closeCurrent();
    this.#openNext();
  }

  /** Appends one record; `tsFrac` is µs or ns per the interface's precision. */
  write(
    ifIndex: number,
    buf: Uint8Array,
    off: number,
    caplen: number,
    origLen: number,
    tsSec: number,
    tsFrac: number,
  ): void {
    if (this.failed) throw this.failed;
    if (this.#rotatePending) this.#rotate();
    const w = this.#writer!;
    const tsNsec = this.#ns[ifIndex] ? tsFrac : tsFrac * 1000;
    try {
      w.write(buf.subarray(off, off + caplen), origLen, tsSec, tsNsec, ifIndex);
    } catch (e) {
      this.#fail(e);
    }
    this.#ends[this.#endCount++ % END_RING] = w.bytesWritten;
    this.#fileRecords++;
    this.records++;
    const r = this.#ring;
    if (
      (r.filesizeKB && w.bytesWritten >= r.filesizeKB * 1000) ||
      (r.packets && this.#fileRecords >= r.packets)
    ) this.#rotatePending = true;
  }

  /** Time-based rotation; call about once a second even without traffic. */
  tick(): void {
    if (this.failed || !this.#ring.durationS) return;
    if (this.#now() - this.#opened >= this.#ring.durationS * 1000) {
      try {
        this.#rotate();
      } catch (e) {
        this.#fail(e);
      }
    }
  }

  /** Number of files created so far. */
  get fileCount(): number {
    return this.#fileNumber;
  }

  /** Pushes buffered records to the file (the file is valid after each flush). */
  async flush(): Promise<void> {
    if (this.failed || !this.#writer) return;
    try {
      await this.#writer.flush();
    } catch (e) {
      this.#fail(e);
    }
  }

  #closeCurrent(): void {
    const w = this.#writer;
    if (!w) return;
    this.#writer = undefined;
    const bytes = w.bytesWritten;
    try {
      w.closeSync();
    } catch (e) {
      this.#writer = w;
      this.#fail(e);
    }
    this.#closedBytes += bytes;
    this.#file = undefined;
  }

  close(): void {
    if (this.failed) return;
    this.#closeCurrent();
  }

  /** Write failed (ENOSPC, EIO...): cut the file at the last whole record and stop for good. */
  #fail(e: unknown): never {
    const path = this.#path;
    let kept = "";
    if (this.#file) {
      try {
        const size = this.#file.statSync().size;
        let cut = this.#ends[0];
        const n = Math.min(this.#endCount, END_RING);
        for (let i = this.#endCount - 1; i >= this.#endCount - n; i--) {
          const end = this.#ends[i % END_RING];
          if (end <= size) {
            cut = end;
            break;
          }
        }
        if (cut > size) cut = 0; // not even the header made it
        this.#file.truncateSync(cut);
        kept = `; ${path} was cut to ${cut} bytes, its last whole record`;
      } catch { /* nothing more can be done with this file */ }
      try {
        this.#file.close();
      } catch { /* already closed */ }
      this.#file = undefined;
    }
    this.#writer = undefined;
    this.failed = ioError(`writing ${path} failed${kept}`, e);
    throw this.failed;
  }
}

function ioError(what: string, e: unknown): MppError {
  const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
  const full = /No space left|os error 28|ENOSPC|quota/i.test(msg);
  const perm = e instanceof Deno.errors.PermissionDenied;
  return new MppError(
    perm ? "permission" : "io",
    `${what}: ${msg}`,
    full
      ? "the disk is full: free space or write elsewhere (-w), or rotate with -b files:N"
      : perm
      ? "choose a directory you can write to"
      : "check the path and the disk",
  );
}
