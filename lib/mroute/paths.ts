/** Default file locations; light so the one-shot client can import it. */
export function defaultSocket(table = 0): string {
  const env = Deno.env.get("MPP_MROUTE_SOCKET");
  if (env) return env;
  return table ? `/run/mpp/mroute-${table}.sock` : "/run/mpp/mroute.sock";
}

export function defaultStateFile(table = 0): string {
  return table ? `/var/lib/mpp/mroute-state-${table}.json` : "/var/lib/mpp/mroute-state.json";
}

export const START_HINT =
  "start it with: mpp mroute daemon (as root; add --socket PATH if you use another socket)";
