/**
 * Route and membership specifications as users write them, validated and normalised. Pure: no
 * kernel, no files. The zod schemas here are the IPC argument schemas and the state/config file
 * entry schemas, so every door checks the same things.
 */
import { z } from "zod";
import { MppError } from "../errors.ts";
import { type Family, isHostPrefix, isMulticast, parsePrefix, type Prefix, prefixText } from "./addr.ts";

const IfName = z.string().min(1).max(15).regex(/^[^/\s:]+$/, "not a valid interface name");

export const RouteSpec = z.object({
  iif: IfName,
  source: z.string().max(64).optional(),
  group: z.string().min(1).max(64),
  oifs: z.array(IfName).max(64),
});
export type RouteSpec = z.infer<typeof RouteSpec>;

export const JoinSpec = z.object({
  iif: IfName,
  source: z.string().max(64).optional(),
  group: z.string().min(1).max(64),
});
export type JoinSpec = z.infer<typeof JoinSpec>;

export interface ParsedRoute {
  spec: RouteSpec;
  family: Family;
  src?: Prefix;
  grp: Prefix;
  /** True for (*,G) and prefix rules: installed per source on kernel upcalls. */
  template: boolean;
  key: string;
}

export function parseGroupSource(
  group: string,
  source: string | undefined,
): { family: Family; grp: Prefix; src?: Prefix } {
  const grp = parsePrefix(group, "group");
  if (!isMulticast(grp.addr)) {
    throw new MppError(
      "bad_input",
      `group ${group} is not a multicast address`,
      grp.addr.family === 4 ? "IPv4 groups are in 224.0.0.0/4" : "IPv6 groups are in ff00::/8",
    );
  }
  let src: Prefix | undefined;
  if (source !== undefined && source !== "*" && source !== "") {
    src = parsePrefix(source, "source");
    if (isMulticast(src.addr)) {
      throw new MppError(
        "bad_input",
        `source ${source} is a multicast address`,
        "the source is the unicast address of the sender; give GROUP after it",
      );
    }
    if (src.addr.family !== grp.addr.family) {
      throw new MppError(
        "bad_input",
        `source ${source} and group ${group} are of different address families`,
        "use IPv4 with IPv4, IPv6 with IPv6",
      );
    }
    if (src.len === 0) src = undefined;
  }
  return { family: grp.addr.family, grp, src };
}

export function routeKey(template: boolean, iif: string, src: Prefix | undefined, grp: Prefix): string {
  return template
    ? `T|${iif}|${src ? prefixText(src) : "*"}|${prefixText(grp)}`
    : `X|${prefixText(src!)}|${prefixText(grp)}`;
}

export function parseRoute(spec: RouteSpec, requireOifs: boolean): ParsedRoute {
  const { family, grp, src } = parseGroupSource(spec.group, spec.source);
  const oifs = [...new Set(spec.oifs)].sort();
  if (requireOifs && oifs.length === 0) {
    throw new MppError("bad_input", "no outbound interface given", "name at least one OIF after the group");
  }
  if (oifs.includes(spec.iif)) {
    throw new MppError(
      "bad_input",
      `inbound interface ${spec.iif} is also listed as an outbound interface`,
      "a route cannot send traffic back out of the interface it came in on; remove it from the OIFs",
    );
  }
  const template = !src || !isHostPrefix(src) || !isHostPrefix(grp);
  if (!template && spec.iif.length > 1 && spec.iif.endsWith("+")) {
    throw new MppError(
      "bad_input",
      `an (S,G) route has one inbound interface, not the wildcard ${spec.iif}`,
      "name the interface, or leave out the source to make a (*,G) rule that matches any of them",
    );
  }
  const norm: RouteSpec = { iif: spec.iif, group: prefixText(grp), oifs };
  if (src) norm.source = prefixText(src);
  return { spec: norm, family, src, grp, template, key: routeKey(template, spec.iif, src, grp) };
}

export interface ParsedJoin {
  spec: JoinSpec;
  family: Family;
  src?: Prefix;
  grp: Prefix;
  key: string;
}

export function parseJoin(spec: JoinSpec): ParsedJoin {
  const { family, grp, src } = parseGroupSource(spec.group, spec.source);
  if (!isHostPrefix(grp) || (src && !isHostPrefix(src))) {
    throw new MppError(
      "bad_input",
      "join/leave needs a single group (and source), not a prefix",
      "give a full address, e.g. 239.1.1.1",
    );
  }
  const norm: JoinSpec = { iif: spec.iif, group: grp.addr.text };
  if (src) norm.source = src.addr.text;
  return { spec: norm, family, src, grp, key: `${spec.iif}|${norm.source ?? "*"}|${norm.group}` };
}
