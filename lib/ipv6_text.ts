/**
 * RFC 5952 text for an IPv6 address given as eight 16-bit groups: lower-case hex, the longest run
 * of two or more zero groups compressed to "::" (the first one on ties). Shared by packet
 * formatting (addresses as 32-bit words) and mroute (addresses as bytes).
 */
export function ipv6GroupsText(g: readonly number[]): string {
  let best = -1, bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}
