/**
 * The mpp IPC message format, version 1, shared by every service (mroute daemon, serve):
 * newline-delimited JSON over a UNIX stream socket, one message per line, at most
 * MAX_MESSAGE_BYTES per line.
 *
 *   request      {"v":1,"id":7,"cmd":"route.add","args":{...}}
 *   response     {"id":7,"ok":true,"result":...}
 *                {"id":7,"ok":false,"error":{"code":"bad_input","message":"...","hint":"..."}}
 *   subscribe    {"v":1,"id":8,"sub":"routes"}      → response {"id":8,"ok":true,"result":{"sub":"routes"}}
 *   unsubscribe  {"v":1,"id":9,"unsub":"routes"}    → response {"id":9,"ok":true,"result":{"unsub":"routes"}}
 *   event        {"event":"routes","data":...}       (pushed to subscribers, no id)
 *
 * A line that is not valid JSON or not a valid message gets an error response with id null; a
 * line longer than the limit gets one and the connection is closed (the stream cannot be resynced
 * cheaply and a peer that sends it is broken or hostile).
 */
import { z } from "zod";

export const PROTOCOL_VERSION = 1;
export const MAX_MESSAGE_BYTES = 1 << 20;

const Id = z.union([z.number().int(), z.string().max(128)]);

export const RequestMsg = z.object({
  v: z.literal(PROTOCOL_VERSION),
  id: Id,
  cmd: z.string().min(1).max(128),
  args: z.unknown().optional(),
});
export const SubscribeMsg = z.object({
  v: z.literal(PROTOCOL_VERSION),
  id: Id,
  sub: z.string().min(1).max(128),
});
export const UnsubscribeMsg = z.object({
  v: z.literal(PROTOCOL_VERSION),
  id: Id,
  unsub: z.string().min(1).max(128),
});
export const ClientMsg = z.union([RequestMsg, SubscribeMsg, UnsubscribeMsg]);
export type RequestMsg = z.infer<typeof RequestMsg>;
export type ClientMsg = z.infer<typeof ClientMsg>;

export const ErrorBody = z.object({ code: z.string(), message: z.string(), hint: z.string().default("") });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const OkResponse = z.object({ id: Id, ok: z.literal(true), result: z.unknown() });
export const ErrResponse = z.object({ id: Id.nullable(), ok: z.literal(false), error: ErrorBody });
export const EventMsg = z.object({ event: z.string(), data: z.unknown() });
export const ServerMsg = z.union([OkResponse, ErrResponse, EventMsg]);
export type ServerMsg = z.infer<typeof ServerMsg>;

export type Id = z.infer<typeof Id>;

/**
 * The schema a message must match, picked by its shape, so a valid message is checked against one
 * object schema instead of trying every member of the union (this is on every round trip).
 * Whatever is picked, an invalid message still fails validation.
 */
export function clientSchema(
  raw: unknown,
): typeof RequestMsg | typeof SubscribeMsg | typeof UnsubscribeMsg | typeof ClientMsg {
  if (typeof raw !== "object" || raw === null) return ClientMsg;
  if ("cmd" in raw) return RequestMsg;
  if ("sub" in raw) return SubscribeMsg;
  if ("unsub" in raw) return UnsubscribeMsg;
  return ClientMsg;
}

export function serverSchema(
  raw: unknown,
): typeof OkResponse | typeof ErrResponse | typeof EventMsg | typeof ServerMsg {
  if (typeof raw !== "object" || raw === null) return ServerMsg;
  if ("event" in raw) return EventMsg;
  const ok = (raw as { ok?: unknown }).ok;
  return ok === true ? OkResponse : ok === false ? ErrResponse : ServerMsg;
}
