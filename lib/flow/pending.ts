import type { PhsNode } from "./phs.ts";

/**
 * Where and when a flow's frames were seen while its classifier was undecided (RTP needs two
 * packets to be sure, a port hint several). The classifier keeps their payloads and, once it
 * settles, replays them into the chosen decoder (`FlowClassifier.replayed`); this side keeps the
 * relative time and the protocol-hierarchy node of each, so those first frames are counted at the
 * encoding, packet-type and io,phs levels exactly like every later frame.
 */
export class PendingFrames {
  readonly times: number[] = [];
  readonly phsNodes: PhsNode[] = [];

  keep(t: number, phsLeaf: PhsNode): void {
    this.times.push(t);
    this.phsNodes.push(phsLeaf);
  }
}
