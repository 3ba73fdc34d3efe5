/**
 * The UNIX-socket IPC server. Every request is validated, dispatched through the Registry with a
 * per-request timeout, and answered on the same connection; requests on one connection run
 * concurrently and their responses carry the request id. Subscriptions forward EventBus topics.
 */
import { MppError } from "../errors.ts";
import type { CommandContext } from "../command/command.ts";
import { EventBus } from "../command/events.ts";
import type { Registry } from "../command/registry.ts";
import { type Logger, silentLogger } from "../log/logger.ts";
import { Deadlines } from "./deadlines.ts";
import { LineReader, LineTooLong, LineWriter } from "./lines.ts";
import { ClientMsg, clientSchema, type ErrorBody, type Id, MAX_MESSAGE_BYTES } from "./protocol.ts";
import { claimSocketPath, ioError, resolveGroup } from "./socket_path.ts";

export interface IpcServerOptions {
  path: string;
  registry: Registry;
  events?: EventBus;
  log?: Logger;
  /** File mode of the socket; default 0o660. */
  mode?: number;
  /** Group owning the socket (name or gid), so its members may use the service without root. */
  group?: string | number;
  requestTimeoutMs?: number;
  maxMessageBytes?: number;
  maxClients?: number;
  /** Used in messages ("mroute daemon"). */
  service?: string;
}

export function errorBody(e: unknown): ErrorBody {
  if (e instanceof MppError) return { code: e.code, message: e.message, hint: e.hint };
  const msg = e instanceof Error ? e.message : String(e);
  return { code: "internal", message: msg.split("\n")[0], hint: "see the daemon log for details" };
}

/** Writes a connection may have queued before it is considered stuck and dropped. */
export const MAX_QUEUED_WRITES = 4096;

class Client {
  readonly subs = new Map<string, () => void>();
  readonly aborts = new Set<AbortController>();
  constructor(readonly conn: Deno.UnixConn, readonly writer: LineWriter) {}
}

export class IpcServer {
  readonly path: string;
  #listener: Deno.Listener;
  #opts: Required<Omit<IpcServerOptions, "group">>;
  #clients = new Set<Client>();
  #accepting: Promise<void>;
  #closed = false;
  #deadlines = new Deadlines<number>();
  #nextToken = 1;

  private constructor(listener: Deno.Listener, opts: IpcServerOptions) {
    this.#listener = listener;
    this.path = opts.path;
    this.#opts = {
      path: opts.path,
      registry: opts.registry,
      events: opts.events ?? new EventBus(),
      log: opts.log ?? silentLogger,
      mode: opts.mode ?? 0o660,
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      maxMessageBytes: opts.maxMessageBytes ?? MAX_MESSAGE_BYTES,
      maxClients: opts.maxClients ?? 256,
      service: opts.service ?? "mpp service",
    };
    this.#accepting = this.#acceptLoop();
  }

  static async listen(opts: IpcServerOptions): Promise<IpcServer> {
    const service = opts.service ?? "mpp service";
    await claimSocketPath(opts.path, service);
    let listener: Deno.Listener;
    try {
      listener = Deno.listen({ transport: "unix", path: opts.path });
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) {
        throw new MppError(
          "busy",
          `another ${service} is already running on ${opts.path}`,
          "stop it first or use --socket PATH",
        );
      }
      throw ioError(e, opts.path);
    }
    try {
      Deno.chmodSync(opts.path, opts.mode ?? 0o660);
      if (opts.group !== undefined) Deno.chownSync(opts.path, null, resolveGroup(opts.group));
    } catch (e) {
      listener.close();
      throw ioError(e, opts.path);
    }
    return new IpcServer(listener, opts);
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  get events(): EventBus {
    return this.#opts.events;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    for (const c of this.#clients) this.#drop(c);
    this.#deadlines.clear();
    await this.#accepting;
    try {
      Deno.removeSync(this.path);
    } catch {
      // Deno removes the socket file when the listener closes; nothing left to do.
    }
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // listener closed
      }
      const uconn = conn as Deno.UnixConn;
      if (this.#clients.size >= this.#opts.maxClients) {
        const w = new LineWriter(uconn);
        w.send({
          id: null,
          ok: false,
          error: {
            code: "busy",
            message: `too many clients (${this.#opts.maxClients})`,
            hint: "retry later",
          },
        })
          .catch(() => {}).finally(() => uconn.close());
        continue;
      }
      const c = new Client(uconn, new LineWriter(uconn));
      this.#clients.add(c);
      this.#serve(c).finally(() => this.#drop(c));
    }
  }

  #drop(c: Client): void {
    if (!this.#clients.delete(c)) return;
    for (const un of c.subs.values()) un();
    c.subs.clear();
    for (const a of c.aborts) a.abort();
    try {
      c.conn.close();
    } catch {
      // already closed
    }
  }

  async #serve(c: Client): Promise<void> {
    const reader = new LineReader(c.conn, this.#opts.maxMessageBytes);
    for (;;) {
      let line: string | null;
      try {
        line = await reader.next();
      } catch (e) {
        if (e instanceof LineTooLong) {
          await c.writer.send({ id: null, ok: false, error: errorBody(e) }).catch(() => {});
        }
        return;
      }
      if (line === null) return;
      if (line.length === 0) continue;
      this.#handleLine(c, line);
    }
  }

  #handleLine(c: Client, line: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      c.writer.send({
        id: null,
        ok: false,
        error: {
          code: "bad_input",
          message: "IPC message is not valid JSON",
          hint: "send one JSON object per line",
        },
      })
        .catch(() => {});
      return;
    }
    const parsed = clientSchema(raw).safeParse(raw) as ReturnType<typeof ClientMsg.safeParse>;
    if (!parsed.success) {
      const id = typeof raw === "object" && raw !== null && "id" in raw ? (raw as { id: unknown }).id : null;
      const v = typeof raw === "object" && raw !== null && "v" in raw ? (raw as { v: unknown }).v : undefined;
      const message = v !== undefined && v !== 1
        ? `unsupported IPC protocol version ${JSON.stringify(v)}`
        : `invalid IPC message: ${parsed.error.issues[0]?.message ?? "bad shape"}`;
      c.writer.send({
        id: typeof id === "number" || typeof id === "string" ? id : null,
        ok: false,
        error: { code: "bad_input", message, hint: 'expected {"v":1,"id":N,"cmd":"...","args":{...}}' },
      }).catch(() => {});
      return;
    }
    const msg = parsed.data;
    if ("cmd" in msg) {
      this.#runRequest(c, msg.id, msg.cmd, msg.args);
    } else if ("sub" in msg) {
      const topic = msg.sub;
      if (!c.subs.has(topic)) {
        c.subs.set(
          topic,
          this.#opts.events.subscribe(topic, (t, data) => {
            // A subscriber that stops reading must not make the daemon queue events without end.
            if (c.writer.pending >= MAX_QUEUED_WRITES) {
              this.#opts.log.warn("dropping an IPC subscriber that does not read its events", { topic: t });
              this.#drop(c);
              return;
            }
            c.writer.send({ event: t, data }).catch(() => this.#drop(c));
          }),
        );
      }
      c.writer.send({ id: msg.id, ok: true, result: { sub: topic } }).catch(() => {});
    } else {
      c.subs.get(msg.unsub)?.();
      c.subs.delete(msg.unsub);
      c.writer.send({ id: msg.id, ok: true, result: { unsub: msg.unsub } }).catch(() => {});
    }
  }

  async #runRequest(c: Client, id: Id, cmd: string, args: unknown): Promise<void> {
    // Per request: no timer, no race promise, and an AbortController only if the command asks
    // for its signal. The deadline answers with a timeout itself; a late result is then dropped.
    let ac: AbortController | undefined;
    let answered = false;
    const token = this.#nextToken++;
    this.#deadlines.add(token, this.#opts.requestTimeoutMs, () => {
      if (answered) return;
      answered = true;
      ac?.abort();
      const e = new MppError(
        "timeout",
        `'${cmd}' did not finish within ${this.#opts.requestTimeoutMs} ms`,
        "check the daemon log; retry",
      );
      c.writer.send({ id, ok: false, error: errorBody(e) }).catch(() => this.#drop(c));
    });
    const ctx: CommandContext = {
      log: this.#opts.log,
      events: this.#opts.events,
      via: "ipc",
      get signal(): AbortSignal {
        if (!ac) {
          ac = new AbortController();
          c.aborts.add(ac);
        }
        return ac.signal;
      },
    };
    let reply: unknown;
    try {
      const result = await this.#opts.registry.dispatch(cmd, args, ctx);
      reply = { id, ok: true, result: result ?? null };
    } catch (e) {
      if (!(e instanceof MppError)) this.#opts.log.error("command failed", { cmd, error: e });
      reply = { id, ok: false, error: errorBody(e) };
    }
    this.#deadlines.delete(token);
    if (ac) c.aborts.delete(ac);
    if (answered) return;
    answered = true;
    try {
      await c.writer.send(reply);
    } catch {
      this.#drop(c);
    }
  }
}
