/** A one-line progress bar on stderr, redrawn at most 10 times a second; only used on a terminal. */
export class ProgressBar {
  private last = 0;
  private readonly enc = new TextEncoder();
  private shown = false;

  update(name: string, done: number, total: number | undefined): void {
    if (total === undefined || total < 8 * 1024 * 1024) return;
    const now = performance.now();
    if (now - this.last < 100 && done < total) return;
    this.last = now;
    const frac = Math.min(1, done / total);
    const width = 30;
    const fill = Math.round(frac * width);
    const bar = "█".repeat(fill) + "░".repeat(width - fill);
    const label = name.length > 30 ? "…" + name.slice(-29) : name;
    Deno.stderr.writeSync(this.enc.encode(`\r${label} ${bar} ${(frac * 100).toFixed(0).padStart(3)}%`));
    this.shown = true;
  }

  clear(): void {
    if (this.shown) Deno.stderr.writeSync(this.enc.encode("\r\x1b[2K"));
    this.shown = false;
  }
}
