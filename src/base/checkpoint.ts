/**
 * Where a chain watcher resumes: the last block it has fully handled. The hash lets a watcher
 * notice that the chain under it changed (a reorg) and rewind.
 */
export type Checkpoint = { blockNumber: bigint; blockHash: `0x${string}` };

/** Storage for one watcher's checkpoint (Redis-backed in the relayer, in memory in tests). */
export interface CheckpointStore {
  load(): Promise<Checkpoint | null>;
  save(checkpoint: Checkpoint): Promise<void>;
}

export class MemoryCheckpointStore implements CheckpointStore {
  #value: Checkpoint | null = null;
  async load(): Promise<Checkpoint | null> {
    return this.#value;
  }
  async save(checkpoint: Checkpoint): Promise<void> {
    this.#value = { ...checkpoint };
  }
}
