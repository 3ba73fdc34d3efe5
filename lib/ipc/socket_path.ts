/**
 * Socket-file housekeeping shared by server and client: a stale socket left by a crashed daemon is
 * detected by connecting to it (refused → stale → removed); a live one means another daemon owns
 * the path and this one must refuse to start.
 */
import { dirname } from "node:path";
import { MppError } from "../errors.ts";

export async function claimSocketPath(path: string, service: string): Promise<"fresh" | "stale-removed"> {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw ioError(e, path);
    try {
      Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    } catch (e2) {
      throw ioError(e2, dirname(path));
    }
    return "fresh";
  }
  if (!st.isSocket) {
    throw new MppError(
      "busy",
      `${path} exists and is not a socket`,
      "remove that file or choose another --socket path",
    );
  }
  let conn: Deno.Conn | undefined;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (e) {
    if (e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.NotFound) {
      try {
        Deno.removeSync(path);
      } catch (e2) {
        if (!(e2 instanceof Deno.errors.NotFound)) throw ioError(e2, path);
      }
      return "stale-removed";
    }
    throw ioError(e, path);
  }
  conn.close();
  throw new MppError(
    "busy",
    `another ${service} is already running on ${path}`,
    `stop it first, or start this one with --socket PATH (and a different table)`,
  );
}

export function ioError(e: unknown, path: string): MppError {
  if (e instanceof MppError) return e;
  if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
    return new MppError(
      "permission",
      `permission denied on ${path}`,
      "run as root or as a member of the socket's group",
    );
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new MppError("io", `${path}: ${msg.split("\n")[0]}`, "check the path and its directory");
}

/** Resolves a group name or numeric id from /etc/group. */
export function resolveGroup(group: string | number): number {
  if (typeof group === "number") return group;
  if (/^\d+$/.test(group)) return Number(group);
  let text = "";
  try {
    text = Deno.readTextFileSync("/etc/group");
  } catch {
    // fall through to the error below
  }
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f[0] === group && f[2] !== undefined) return Number(f[2]);
  }
  throw new MppError("bad_input", `unknown group '${group}'`, "give an existing group name or a numeric gid");
}
