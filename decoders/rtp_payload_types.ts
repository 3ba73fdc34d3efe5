/**
 * Static RTP payload types (RFC 3551 §6, Table 4 and 5) with their clock rates. Dynamic types
 * (96-127) have no rate until signalling (SDP) gives one.
 */
const STATIC: Record<number, [string, number]> = {
  0: ["PCMU", 8000],
  3: ["GSM", 8000],
  4: ["G723", 8000],
  5: ["DVI4", 8000],
  6: ["DVI4", 16000],
  7: ["LPC", 8000],
  8: ["PCMA", 8000],
  9: ["G722", 8000],
  10: ["L16", 44100],
  11: ["L16", 44100],
  12: ["QCELP", 8000],
  13: ["CN", 8000],
  14: ["MPA", 90000],
  15: ["G728", 8000],
  16: ["DVI4", 11025],
  17: ["DVI4", 22050],
  18: ["G729", 8000],
  25: ["CelB", 90000],
  26: ["JPEG", 90000],
  28: ["nv", 90000],
  31: ["H261", 90000],
  32: ["MPV", 90000],
  33: ["MP2T", 90000],
  34: ["H263", 90000],
};

/** Clock rate in Hz per payload type (0 = unknown), indexed 0..127. */
export const PT_CLOCK_RATE: Uint32Array = (() => {
  const a = new Uint32Array(128);
  for (const [pt, [, rate]] of Object.entries(STATIC)) a[Number(pt)] = rate;
  return a;
})();

/** Packet type names indexed by payload type: "PCMU (0)", "dynamic (96)", "unassigned (20)". */
export const PT_NAMES: readonly string[] = Array.from({ length: 128 }, (_, pt) => {
  const s = STATIC[pt];
  if (s !== undefined) return `${s[0]} (${pt})`;
  if (pt >= 96) return `dynamic (${pt})`;
  if (pt >= 72 && pt <= 76) return `RTCP conflict (${pt})`;
  return `unassigned (${pt})`;
});

/** Standard rates a dynamic payload type's clock is snapped to when estimated from the stream. */
export const COMMON_RATES: readonly number[] = [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 90000];
