/**
 * pcapng option lists (code u16, length u16, value padded to 4 bytes, ended by opt_endofopt or the
 * block end). SHB and IDB options are rare and read into plain objects; packet blocks only look for
 * opt_comment, without allocating unless one is there.
 */

export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const SHB_HARDWARE = 2;
export const SHB_OS = 3;
export const SHB_USERAPPL = 4;
export const IF_NAME = 2;
export const IF_DESCRIPTION = 3;
export const IF_TSRESOL = 9;
export const IF_FCSLEN = 13;
export const IF_TSOFFSET = 14;

const utf8 = new TextDecoder("utf-8", { fatal: false });

export function u16(b: Uint8Array, p: number, le: boolean): number {
  return le ? b[p] | (b[p + 1] << 8) : (b[p] << 8) | b[p + 1];
}

export function u32(b: Uint8Array, p: number, le: boolean): number {
  return le
    ? (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0
    : ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

/** Option strings are UTF-8 and may carry trailing NULs from writers that count them. */
export function optionString(b: Uint8Array, p: number, len: number): string {
  let e = p + len;
  while (e > p && b[e - 1] === 0) e--;
  return utf8.decode(b.subarray(p, e));
}

export interface RawOption {
  code: number;
  offset: number;
  length: number;
}

/**
 * Lists the options in `b[start, end)`. Returns undefined when an option runs past the end (the
 * caller reports it); stops at opt_endofopt.
 */
export function listOptions(b: Uint8Array, start: number, end: number, le: boolean): RawOption[] | undefined {
  const out: RawOption[] = [];
  let p = start;
  while (end - p >= 4) {
    const code = u16(b, p, le);
    const length = u16(b, p + 2, le);
    if (code === OPT_ENDOFOPT) break;
    if (p + 4 + length > end) return undefined;
    out.push({ code, offset: p + 4, length });
    p += 4 + ((length + 3) & ~3);
  }
  return out;
}

/**
 * The first opt_comment in a packet block's options, or undefined. Walks without allocating when
 * there is none; malformed option lists yield undefined (the packet itself is still good).
 */
export function findComment(b: Uint8Array, start: number, end: number, le: boolean): string | undefined {
  let p = start;
  while (end - p >= 4) {
    const code = le ? b[p] | (b[p + 1] << 8) : (b[p] << 8) | b[p + 1];
    const length = le ? b[p + 2] | (b[p + 3] << 8) : (b[p + 2] << 8) | b[p + 3];
    if (code === OPT_ENDOFOPT || p + 4 + length > end) return undefined;
    if (code === OPT_COMMENT) return optionString(b, p + 4, length);
    p += 4 + ((length + 3) & ~3);
  }
  return undefined;
}

/** Signed 64-bit integer option value (if_tsoffset) as a number. */
export function i64(b: Uint8Array, p: number, le: boolean): number {
  const hi = le ? u32(b, p + 4, le) | 0 : u32(b, p, le) | 0;
  const lo = le ? u32(b, p, le) : u32(b, p + 4, le);
  return hi * 4294967296 + lo;
}
