/**
 * Run-time plugins: every .ts/.js module in a directory is imported and may export
 * `commands: Command[]` and/or `register(registry)`. A plugin that fails to load is reported and
 * skipped; it never takes the service down.
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Command } from "./command.ts";
import type { Registry } from "./registry.ts";

export interface PluginLoadResult {
  file: string;
  ok: boolean;
  commands: string[];
  error?: string;
}

interface PluginModule {
  commands?: Command[];
  register?: (r: Registry) => void | Promise<void>;
}

export async function loadPlugins(dir: string, registry: Registry): Promise<PluginLoadResult[]> {
  const results: PluginLoadResult[] = [];
  let names: string[];
  try {
    names = [];
    for (const e of Deno.readDirSync(dir)) {
      if (e.isFile && /\.(ts|js|mjs)$/.test(e.name)) names.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return results;
    throw e;
  }
  names.sort();
  for (const name of names) {
    const file = resolve(join(dir, name));
    const before = new Set(registry.list().map((c) => c.name));
    try {
      const mod = await import(pathToFileURL(file).href) as PluginModule;
      if (Array.isArray(mod.commands)) { for (const c of mod.commands) registry.register(c); }
      if (typeof mod.register === "function") await mod.register(registry);
      const added = registry.list().map((c) => c.name).filter((n) => !before.has(n));
      results.push({ file, ok: true, commands: added });
    } catch (e) {
      results.push({
        file,
        ok: false,
        commands: [],
        error: e instanceof Error ? e.message.split("\n")[0] : String(e),
      });
    }
  }
  return results;
}
