/**
 * Structured logger shared by every mpp service. One line per event: human text when the sink is a
 * terminal, JSON lines otherwise (so journald/files can be parsed), optionally teed to a file.
 * Records below the level are dropped before any formatting work is done.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface LogRecord {
  ts: string;
  level: LogLevel;
  msg: string;
  [field: string]: unknown;
}

/** Where formatted lines go; a function so tests and services can capture them. */
export type LogSink = (line: string) => void;

export interface LoggerOptions {
  level?: LogLevel;
  /** "text" | "json"; default: text when stderr is a terminal, JSON otherwise. */
  format?: "text" | "json";
  /** Extra file to append JSON lines to (always JSON, whatever the console format). */
  file?: string;
  /** Replaces the console sink (stderr). */
  sink?: LogSink;
  /** Fields added to every record (service name, table id...). */
  fields?: LogFields;
  /** Clock for tests. */
  now?: () => Date;
}

const encoder = new TextEncoder();

function defaultFormat(): "text" | "json" {
  try {
    return Deno.stderr.isTerminal() ? "text" : "json";
  } catch {
    return "json";
  }
}

function textValue(v: unknown): string {
  if (typeof v === "string") return /[\s="]/.test(v) ? JSON.stringify(v) : v;
  if (v instanceof Error) return JSON.stringify(v.message);
  return JSON.stringify(v) ?? String(v);
}

export function formatText(r: LogRecord): string {
  let s = `${r.ts} ${r.level.toUpperCase().padEnd(5)} ${r.msg}`;
  for (const k of Object.keys(r)) {
    if (k === "ts" || k === "level" || k === "msg") continue;
    s += ` ${k}=${textValue(r[k])}`;
  }
  return s;
}

export function formatJson(r: LogRecord): string {
  return JSON.stringify(r, (_k, v) => v instanceof Error ? v.message : typeof v === "bigint" ? String(v) : v);
}

interface Outputs {
  sink: LogSink;
  file: Deno.FsFile | undefined;
  now: () => Date;
}

export class Logger {
  readonly level: LogLevel;
  readonly format: "text" | "json";
  #rank: number;
  #out: Outputs;
  #fields: LogFields;

  constructor(opts: LoggerOptions = {}, shared?: Outputs) {
    this.level = opts.level ?? "info";
    this.#rank = RANK[this.level];
    this.format = opts.format ?? defaultFormat();
    this.#fields = opts.fields ?? {};
    this.#out = shared ?? {
      sink: opts.sink ?? ((line) => Deno.stderr.writeSync(encoder.encode(line + "\n"))),
      file: opts.file ? Deno.openSync(opts.file, { append: true, create: true, mode: 0o640 }) : undefined,
      now: opts.now ?? (() => new Date()),
    };
  }

  /** A logger that adds `fields` to every record and shares this one's sinks. */
  child(fields: LogFields): Logger {
    return new Logger(
      { level: this.level, format: this.format, fields: { ...this.#fields, ...fields } },
      this.#out,
    );
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= this.#rank;
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (RANK[level] < this.#rank) return;
    const r: LogRecord = { ts: this.#out.now().toISOString(), level, msg, ...this.#fields, ...fields };
    const json = formatJson(r);
    this.#out.sink(this.format === "json" ? json : formatText(r));
    if (this.#out.file) {
      try {
        this.#out.file.writeSync(encoder.encode(json + "\n"));
      } catch {
        // A full disk must not take the service down; the console line was already written.
      }
    }
  }

  debug(msg: string, fields?: LogFields): void {
    this.log("debug", msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log("info", msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log("warn", msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log("error", msg, fields);
  }

  close(): void {
    this.#out.file?.close();
    this.#out.file = undefined;
  }
}

export function parseLogLevel(s: string | undefined, fallback: LogLevel = "info"): LogLevel {
  return s !== undefined && (LOG_LEVELS as readonly string[]).includes(s) ? s as LogLevel : fallback;
}

/** A logger that discards everything (library default). */
export const silentLogger: Logger = new Logger({ level: "error", sink: () => {}, format: "json" });
