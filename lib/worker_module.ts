/**
 * Whether a Worker's module file can be loaded. A bundled mpp.js (deno task compile) carries no
 * Worker modules beside it, so code that would start a Worker checks first and runs in-thread.
 */
export function workerModuleAvailable(url: URL): boolean {
  if (url.protocol !== "file:") return false;
  try {
    return Deno.statSync(url).isFile;
  } catch {
    return false;
  }
}
