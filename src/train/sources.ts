/**
 * Cursor-based batch sources and the Effect Streams the training loop draws its batches from.
 * A cursor (epoch, position) is plain JSON saved in checkpoints; each epoch visits the items
 * in a fresh order drawn from a seeded RNG keyed by the epoch, so a cursor alone reproduces the
 * stream. The last batch of an epoch may be short.
 *
 * @module
 */
import { Effect, Stream } from "effect";
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

/** A batch drawn from a source and the source's cursor after it. */
export interface Drawn<B> {
  /** The batch. */
  readonly batch: B;
  /** Where the source stands after this batch (saved in checkpoints). */
  readonly cursor: Cursor;
}

/**
 * A {@link BatchSource} as an endless Effect Stream of batches from `from` on, each with the
 * cursor after it; epochs follow one another with a fresh seeded order. One batch per pull,
 * so a consumer never advances past what it trained on.
 *
 * @example
 * ```ts
 * const first3 = await Effect.runPromise(Stream.runCollect(Stream.take(batchStream(src), 3)));
 * ```
 */
export function batchStream<B>(
  source: BatchSource<B>,
  from: Cursor = START,
): Stream.Stream<Drawn<B>> {
  return Stream.unfold(from, (cursor) =>
    Effect.sync(() => {
      const next = source.next(cursor);
      return [next, next.cursor] as const;
    }));
}

/**
 * What the training loop draws from: a {@link BatchSource} (cursor-addressed, reshuffled each
 * epoch, resumable exactly) or any Effect Stream of batches (e.g. a loader piped through
 * tokenize and collate), which the loop resumes by skipping the batches it already trained on.
 */
export type TrainSource<B, E = never> = BatchSource<B> | Stream.Stream<B, E>;

/** Whether a source is a plain Effect Stream of batches. */
export function isStreamSource<B, E>(s: TrainSource<B, E>): s is Stream.Stream<B, E> {
  return Stream.isStream(s);
}

/**
 * Any source as a Stream of drawn batches from `from` on. A plain stream's cursor counts the
 * batches drawn (`position`), and resuming skips that many.
 */
export function drawStream<B, E>(
  source: TrainSource<B, E>,
  from: Cursor = START,
): Stream.Stream<Drawn<B>, E> {
  if (!isStreamSource(source)) return batchStream(source, from);
  return source.pipe(
    Stream.drop(from.position),
    Stream.mapAccum(
      () => from.position,
      (n, batch) => [n + 1, [{ batch, cursor: { epoch: 0, position: n + 1 } }]],
    ),
  );
}
