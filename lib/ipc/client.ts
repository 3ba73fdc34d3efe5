/**
 * IPC client: one connection, many concurrent requests matched by id, per-request timeouts, and
 * event subscriptions. Kept free of daemon code so a one-shot CLI call loads only this and zod.
 */
import { MppError, type MppErrorCode } from "../errors.ts";
import { Deadlines } from "./deadlines.ts";
import { LineReader, LineWriter } from "./lines.ts";
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION, ServerMsg, serverSchema } from "./protocol.ts";

export interface IpcClientOptions {
  /** Default per-request timeout; default 10 s. */
  timeoutMs?: number;
  /** Name used in errors ("mroute daemon"). */
  service?: string;
  /** Hint printed when nothing listens on the socket (how to start the service). */
  startHint?: string;
  maxMessageBytes?: number;
}

type EventFn = (data: unknown, topic: string) => void;

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

const KNOWN_CODES = new Set<string>([
  "bad_usage",
  "bad_input",
  "bad_capture",
  "not_found",
  "permission",
  "missing_dependency",
  "io",
  "busy",
  "timeout",
  "internal",
]);

function connectError(e: unknown, path: string, service: string, startHint: string): MppError {
  if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.ConnectionRefused) {
    return new MppError("not_found", `${service} is not running (no listener on ${path})`, startHint);
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return new MppError(
      "permission",
      `permission denied on ${path}`,
      "run as root, or ask for membership of the socket's group (daemon option --group)",
    );
  }
  const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
  return new MppError("io", `cannot connect to ${service} at ${path}: ${msg}`, startHint);
}

export class IpcClient {
  #conn: Deno.UnixConn;
  #writer: LineWriter;
  #pending = new Map<number, Pending>();
  #deadlines = new Deadlines<number>();
  #subs = new Map<string, Set<EventFn>>();
  #nextId = 1;
  #timeoutMs: number;
  #service: string;
  #closed = false;
  #reading: Promise<void>;

  private constructor(conn: Deno.UnixConn, opts: IpcClientOptions) {
    this.#conn = conn;
    this.#writer = new LineWriter(conn);
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#service = opts.service ?? "mpp service";
    this.#reading = this.#readLoop(opts.maxMessageBytes ?? MAX_MESSAGE_BYTES);
  }

  static async connect(path: string, opts: IpcClientOptions = {}): Promise<IpcClient> {
    const service = opts.service ?? "mpp service";
    try {
      const conn = await Deno.connect({ transport: "unix", path });
      return new IpcClient(conn, opts);
    } catch (e) {
      throw connectError(e, path, service, opts.startHint ?? `start the ${service}`);
    }
  }

  /** Sends one command and resolves with its result; a daemon-side error rejects as an MppError. */
  request(cmd: string, args?: unknown, timeoutMs = this.#timeoutMs): Promise<unknown> {
    if (this.#closed) {
      return Promise.reject(new MppError("io", `connection to ${this.#service} is closed`, "reconnect"));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#deadlines.add(id, timeoutMs, () => {
        this.#pending.delete(id);
        reject(
          new MppError(
            "timeout",
            `${this.#service} did not answer '${cmd}' within ${timeoutMs} ms`,
            "check that the daemon is healthy (its log), then retry",
          ),
        );
      });
      this.#pending.set(id, { resolve, reject });
      this.#writer.send({ v: PROTOCOL_VERSION, id, cmd, args }).catch((e) => this.#fail(e));
    });
  }

  /** Subscribes to a topic; returns a function that unsubscribes. */
  async subscribe(topic: string, fn: EventFn): Promise<() => Promise<void>> {
    let set = this.#subs.get(topic);
    const first = !set;
    if (!set) this.#subs.set(topic, set = new Set());
    set.add(fn);
    if (first) await this.#control({ sub: topic });
    return async () => {
      const s = this.#subs.get(topic);
      if (!s || !s.delete(fn) || s.size > 0) return;
      this.#subs.delete(topic);
      if (!this.#closed) await this.#control({ unsub: topic });
    };
  }

  #control(body: Record<string, string>): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#deadlines.add(id, this.#timeoutMs, () => {
        this.#pending.delete(id);
        reject(new MppError("timeout", `${this.#service} did not answer a subscription`, "retry"));
      });
      this.#pending.set(id, { resolve, reject });
      this.#writer.send({ v: PROTOCOL_VERSION, id, ...body }).catch((e) => this.#fail(e));
    });
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch {
        // already closed
      }
    }
    this.#fail(new MppError("io", `connection to ${this.#service} closed`, "reconnect"));
    return this.#reading;
  }

  /** Resolves when the server closes the connection. */
  get closed(): Promise<void> {
    return this.#reading;
  }

  #fail(e: unknown): void {
    for (const [id, p] of this.#pending) {
      this.#deadlines.delete(id);
      p.reject(e);
      this.#pending.delete(id);
    }
  }

  async #readLoop(max: number): Promise<void> {
    const reader = new LineReader(this.#conn, max);
    try {
      for (;;) {
        const line = await reader.next();
        if (line === null) break;
        this.#handle(line);
      }
    } catch {
      // connection reset or protocol violation: fail pending requests below
    }
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.#fail(
      new MppError(
        "io",
        `${this.#service} closed the connection`,
        "check the daemon log; it may have restarted",
      ),
    );
  }

  #handle(line: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return;
    }
    const parsed = serverSchema(raw).safeParse(raw) as ReturnType<typeof ServerMsg.safeParse>;
    if (!parsed.success) return;
    const m = parsed.data;
    if ("event" in m) {
      const set = this.#subs.get(m.event);
      if (set) { for (const fn of set) fn(m.data, m.event); }
      return;
    }
    if (m.id === null || typeof m.id !== "number") {
      if (!m.ok && m.id === null) this.#fail(toMppError(m.error));
      return;
    }
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    this.#deadlines.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(toMppError(m.error));
  }
}

export function toMppError(e: { code: string; message: string; hint: string }): MppError {
  const code = (KNOWN_CODES.has(e.code) ? e.code : "internal") as MppErrorCode;
  return new MppError(code, e.message, e.hint);
}
