/**
 * Where a Worker's module is. In the source tree it is the `.ts` file beside the code that starts
 * it; in the bundle (`deno task compile`: dist/mpp.js) each Worker is bundled to a `.js` file beside
 * mpp.js, and the inlined code resolves its `./name.ts` URL against mpp.js. A bundle copied without
 * those files has none: callers then run in-thread or say what is missing.
 */
export function workerUrl(url: URL): URL | null {
  if (url.protocol !== "file:") return null;
  const candidates = [url];
  if (url.pathname.endsWith(".ts")) candidates.push(new URL(url.href.replace(/\.ts$/, ".js")));
  for (const u of candidates) {
    try {
      if (Deno.statSync(u).isFile) return u;
    } catch {
      // try the next one
    }
  }
  return null;
}

/** Whether `url` (or its bundled `.js` sibling) can be loaded as a Worker module. */
export function workerModuleAvailable(url: URL): boolean {
  return workerUrl(url) !== null;
}
