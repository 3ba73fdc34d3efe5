/**
 * The one error type of mpp. Every failure a user can cause (a bad file, a bad argument, a missing
 * library, a refused permission) is an MppError with a stable code, a one-line message naming the
 * problem, and a hint saying what to do. The CLI prints `mpp: message` and `hint: …` and never a
 * stack trace unless --debug is given.
 */
export type MppErrorCode =
  | "bad_usage"
  | "bad_input"
  | "bad_capture"
  | "not_found"
  | "permission"
  | "missing_dependency"
  | "io"
  | "busy"
  | "timeout"
  | "internal";

export class MppError extends Error {
  readonly code: MppErrorCode;
  readonly hint: string;
  constructor(code: MppErrorCode, message: string, hint = "", options?: ErrorOptions) {
    super(message, options);
    this.name = "MppError";
    this.code = code;
    this.hint = hint;
  }
  /** Exit status the CLI uses: 2 for usage errors, 1 for everything else. */
  get exitCode(): number {
    return this.code === "bad_usage" ? 2 : 1;
  }
}

export function isMppError(e: unknown): e is MppError {
  return e instanceof MppError;
}
