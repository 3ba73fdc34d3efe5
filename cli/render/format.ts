/** Number and unit formatting for terminal tables (never used on the per-packet path). */
import { columnWidths } from "../../lib/column_widths.ts";

const nf = new Intl.NumberFormat("en-US");

export function int(n: number): string {
  return nf.format(n);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

/** Seconds as a short human duration: 850 ns, 12.3 µs, 4.56 ms, 1.234 s, 2m03s, 1h02m. */
export function secs(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return "-";
  if (s === 0) return "0";
  if (s < 1e-6) return `${Math.round(s * 1e9)} ns`;
  if (s < 1e-3) return `${(s * 1e6).toFixed(1)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(2)} ms`;
  if (s < 60) return `${s.toFixed(3)} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export interface Column {
  title: string;
  align?: "left" | "right";
}

/** Pads rows into aligned columns; widths come from the content (display width of plain text). */
export function table(cols: Column[], rows: string[][]): string {
  const w = columnWidths(rows, cols.length, width, cols.map((c) => width(c.title)));
  const line = (cells: string[]) =>
    cells.map((c, i) => {
      const pad = " ".repeat(Math.max(0, w[i] - width(c)));
      return cols[i].align === "right" ? pad + c : c + pad;
    }).join("  ").trimEnd();
  return [line(cols.map((c) => c.title)), line(w.map((n) => "─".repeat(n))), ...rows.map(line)].join("\n");
}

function width(s: string): number {
  return [...s].length;
}
