/**
 * The positional route syntax shared by the CLI, batch files and the config file:
 *   IIF [SOURCE[/LEN]] GROUP[/LEN] [OIF ...]
 * SOURCE is present when the word after IIF and the one after it both look like addresses.
 * Light on purpose: the one-shot client imports it.
 */
import { MppError } from "../errors.ts";
import { looksLikeAddr } from "./addr.ts";

export interface RouteWords {
  iif: string;
  source?: string;
  group: string;
  oifs: string[];
}

export function parseRouteWords(words: string[], usage: string): RouteWords {
  if (words.length < 2) {
    throw new MppError(
      "bad_usage",
      `missing arguments, expected: ${usage}`,
      `example: eth0 10.0.0.1 239.1.1.1 eth1 eth2`,
    );
  }
  const [iif, a, b] = words;
  if (looksLikeAddr(iif)) {
    throw new MppError(
      "bad_usage",
      `'${iif}' is an address, but the first argument must be the inbound interface`,
      `expected: ${usage}`,
    );
  }
  if (!looksLikeAddr(a)) {
    throw new MppError("bad_input", `'${a}' is not a group address`, `expected: ${usage}`);
  }
  if (b !== undefined && looksLikeAddr(b)) return { iif, source: a, group: b, oifs: words.slice(3) };
  return { iif, group: a, oifs: words.slice(2) };
}
