/**
 * The capture configuration handed to the Worker, validated by zod on both sides of the boundary:
 * the main thread turns a bad value into a usage error before any thread starts.
 */
import { z } from "zod";

export const LiveConfig = z.object({
  interfaces: z.array(z.string().min(1)).min(1).max(32),
  filter: z.string().optional(),
  snaplen: z.number().int().min(1).max(262144),
  promisc: z.boolean(),
  immediate: z.boolean(),
  /** Kernel buffer in bytes (undefined: libpcap's default, 2 MiB on Linux). */
  bufferBytes: z.number().int().positive().optional(),
  nanos: z.boolean(),
  /** Packet buffer timeout (ms): how long a TPACKET_V3 block may wait before user space sees it. */
  timeoutMs: z.number().int().min(1).max(10000),
});
export type LiveConfig = z.infer<typeof LiveConfig>;

export const StartMessage = z.object({
  type: z.literal("start"),
  config: LiveConfig,
  ctrl: z.instanceof(SharedArrayBuffer),
  data: z.instanceof(SharedArrayBuffer),
});

/** One line naming the first bad field, for an MppError message. */
export function describeIssues(e: z.ZodError): string {
  const i = e.issues[0];
  return i ? `${i.path.join(".") || "value"}: ${i.message}` : "invalid";
}
