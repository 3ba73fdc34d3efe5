import { BufferedOutput, type ByteSink, DEFAULT_WRITE_BUFFER } from "./buffered_output.ts";

/**
 * What the pcap and pcapng writers share: the buffered output, the counters the live capture's
 * rotation reads (bytesWritten, records), and flushing/closing, synchronous or not.
 */
export abstract class CaptureWriter {
  protected readonly out: BufferedOutput;
  protected recordCount = 0;

  protected constructor(sink: ByteSink, bufferSize?: number, keepOpen?: boolean) {
    this.out = new BufferedOutput(sink, bufferSize ?? DEFAULT_WRITE_BUFFER, keepOpen ?? false);
  }

  /** Bytes written so far (file header included), counting those still buffered. */
  get bytesWritten(): number {
    return this.out.total;
  }
  get records(): number {
    return this.recordCount;
  }
  flush(): Promise<void> {
    return this.out.flush();
  }
  /** Hands the buffered bytes to the sink now: written when it has writeSync, queued otherwise. */
  flushSync(): void {
    this.out.drain();
  }
  close(): Promise<void> {
    return this.out.close();
  }
  /** Flushes and closes synchronously; only for sinks with writeSync (files, memory). */
  closeSync(): void {
    this.out.closeSync();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
  [Symbol.dispose](): void {
    this.closeSync();
  }
}
