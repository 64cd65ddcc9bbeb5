/**
 * Cursor-based batch sources. A cursor (epoch, position) is plain JSON saved in checkpoints;
 * each epoch visits the items in a fresh order drawn from a seeded RNG keyed by the epoch, so a
 * cursor alone reproduces the stream. The last batch of an epoch may be short.
 *
 * @module
 */
import { seededRandom, shuffledIndices } from "../data/rng.ts";

/** Where a source stands: `epoch` (from 0) and `position` within that epoch's order. */
export interface Cursor {
  /** Completed passes over the data. */
  readonly epoch: number;
  /** Items of the current epoch already served. */
  readonly position: number;
}

/** A source of batches over a fixed list of items. */
export interface BatchSource<B> {
  /** Items per epoch. */
  readonly size: number;
  /** Batches per epoch (`ceil(size / batchSize)`). */
  readonly batchesPerEpoch: number;
  /** The batch at `cursor` and the cursor after it. */
  next(cursor: Cursor): { batch: B; cursor: Cursor };
}

/** The cursor of a source that has served nothing. */
export const START: Cursor = { epoch: 0, position: 0 };

/** How to cut items into batches. */
export interface SourceOptions<T, B> {
  /** Items per batch (reference: 5). */
  readonly batchSize: number;
  /** Shuffle seed; `shuffle: false` keeps the given order. */
  readonly seed: number;
  /** Shuffle each epoch (default true). */
  readonly shuffle?: boolean;
  /** Turn the chosen items into a batch (e.g. pad and stack token ids). */
  readonly collate: (items: readonly T[]) => B;
}

/**
 * A source over `items`.
 *
 * @example
 * ```ts
 * const src = batchSource(examples, { batchSize: 5, seed: 42, collate: (xs) => xs });
 * const { batch, cursor } = src.next(START);
 * ```
 */
export function batchSource<T, B>(items: readonly T[], o: SourceOptions<T, B>): BatchSource<B> {
  if (items.length === 0) throw new RangeError("batchSource: no items");
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) {
    throw new RangeError(`batchSource: batchSize must be a positive integer, got ${o.batchSize}`);
  }
  const n = items.length;
  let cached: { epoch: number; order: number[] } | null = null;
  const orderOf = (epoch: number): number[] => {
    if (cached?.epoch === epoch) return cached.order;
    const order = o.shuffle === false
      ? Array.from({ length: n }, (_, i) => i)
      : shuffledIndices(n, seededRandom((o.seed * 1000003 + epoch) >>> 0));
    cached = { epoch, order };
    return order;
  };
  return {
    size: n,
    batchesPerEpoch: Math.ceil(n / o.batchSize),
    next(cursor) {
      const { epoch, position } = cursor.position >= n
        ? { epoch: cursor.epoch + 1, position: 0 }
        : cursor;
      const order = orderOf(epoch);
      const end = Math.min(n, position + o.batchSize);
      const chosen = order.slice(position, end).map((i) => items[i]!);
      return { batch: o.collate(chosen), cursor: { epoch, position: end } };
    },
  };
}
