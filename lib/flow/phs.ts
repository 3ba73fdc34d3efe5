import { Layer, LAYER_NAMES } from "../packet/layers.ts";
import type { Packet } from "../packet/packet.ts";

/** One node of the protocol hierarchy: frames in which the protocol appears at this path. */
export class PhsNode {
  readonly id: number;
  readonly name: string;
  packets = 0;
  bytes = 0;
  children: (PhsNode | undefined)[] | null = null;
  constructor(id: number, name: string) {
    this.id = id;
    this.name = name;
  }
  child(id: number, name: string): PhsNode {
    const c = this.children ??= [];
    let n = c[id];
    if (n === undefined) c[id] = n = new PhsNode(id, name);
    return n;
  }
}

export interface PhsEntry {
  path: string;
  packets: number;
  bytes: number;
}

/**
 * Protocol hierarchy statistics in the shape of `tshark -z io,phs`: every frame walks its layer
 * stack down a trie of integer ids, so the per-packet cost is a few array reads. Layers tshark
 * does not show as protocols (the IPv6 fragment header) are skipped; non-final IP fragments end
 * in "data" as in tshark.
 */
export class ProtocolHierarchy {
  readonly root: PhsNode = new PhsNode(0, "frame");
  private readonly appNames: string[] = [];

  /** Names for application layer ids (Layer.APP_BASE + n), set by the analyzer's registry. */
  setAppName(id: number, name: string): void {
    this.appNames[id - Layer.APP_BASE] = name;
  }

  /** Counts the frame along its layer stack and returns the deepest node it reached. */
  add(p: Packet, appLayer: number): PhsNode {
    const bytes = p.origLen;
    const root = this.root;
    root.packets++;
    root.bytes += bytes;
    let node = root;
    const layers = p.layers;
    for (let i = 0; i < p.depth; i++) {
      const id = layers[i] === Layer.SLL2 ? Layer.SLL : layers[i];
      if (id === Layer.IPV6_FRAG || id === Layer.FCS) continue;
      node = node.child(id, LAYER_NAMES[id] ?? `layer${id}`);
      node.packets++;
      node.bytes += bytes;
    }
    if (p.isFragment) {
      node = node.child(Layer.DATA, "data");
      node.packets++;
      node.bytes += bytes;
    } else if (appLayer > 0) node = this.addApp(node, appLayer, bytes);
    return node;
  }

  /** Adds the application layer below `node` for a frame already counted down to `node`. */
  addApp(node: PhsNode, appLayer: number, bytes: number): PhsNode {
    const c = node.child(appLayer, this.appNames[appLayer - Layer.APP_BASE] ?? `app${appLayer}`);
    c.packets++;
    c.bytes += bytes;
    return c;
  }

  /** Flattened, depth-first, children ordered by frames: `eth`, `eth:ip`, `eth:ip:udp` ... */
  entries(): PhsEntry[] {
    const out: PhsEntry[] = [];
    const walk = (n: PhsNode, prefix: string) => {
      const kids = (n.children ?? []).filter((c): c is PhsNode => c !== undefined);
      kids.sort((x, y) => y.packets - x.packets || x.name.localeCompare(y.name));
      for (const c of kids) {
        const path = prefix ? `${prefix}:${c.name}` : c.name;
        out.push({ path, packets: c.packets, bytes: c.bytes });
        walk(c, path);
      }
    };
    walk(this.root, "");
    return out;
  }
}
