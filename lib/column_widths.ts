/**
 * The widest cell of each column. A loop, not `Math.max(...cells)`: spreading a column of a few
 * hundred thousand rows (io,stat intervals, HTTP transactions) as call arguments overflows the stack.
 */
export function columnWidths(
  rows: readonly (readonly string[])[],
  columns: number,
  measure: (s: string) => number = (s) => s.length,
  start: readonly number[] = [],
): number[] {
  const w: number[] = [];
  for (let i = 0; i < columns; i++) w.push(start[i] ?? 0);
  for (const r of rows) {
    for (let i = 0; i < columns; i++) {
      const n = measure(r[i] ?? "");
      if (n > w[i]) w[i] = n;
    }
  }
  return w;
}
