/**
 * Rotary embeddings fused with the split into heads, and their gradient, over float32 arrays
 * (the fused kernels of the heap backends). `src/model/layers.ts` (`applyRope` after the head
 * transpose) is the composite definition they are tested against; the products and the sum are
 * rounded to float32 in the same order as there, so both give the same bits.
 *
 * Legend: B batch, T positions, H heads, D head dim; the tables are [Bc, 1, T, D] with Bc = 1
 * or B (one row of positions per batch row).
 *
 * @module
 */

/** Shapes of one rope product. */
export interface RopeShape {
  readonly b: number;
  readonly t: number;
  readonly h: number;
  readonly d: number;
  /** Rows of the cos/sin tables: 1 (shared) or b. */
  readonly tableRows: number;
}

/**
 * `y [B, H, T, D] = x cos + rotate_half(x) sin` for `x` [B, T, H, D] (a projection's output,
 * not yet split into heads), rotate_half(x) = (-x2, x1) for the halves x1, x2 of each head.
 * Only the positions `p0 <= bi T + ti < p1` (default all): threads take ranges of them.
 */
export function ropeHeadsForward(
  x: Float32Array,
  cos: Float32Array,
  sin: Float32Array,
  y: Float32Array,
  s: RopeShape,
  p0 = 0,
  p1 = s.b * s.t,
): void {
  const { t, h, d } = s;
  const half = d / 2;
  const f = Math.fround;
  for (let p = p0; p < p1; p++) {
    const bi = Math.floor(p / t);
    const ti = p - bi * t;
    const co = ((s.tableRows === 1 ? 0 : bi) * t + ti) * d;
    for (let hi = 0; hi < h; hi++) {
      const xo = ((bi * t + ti) * h + hi) * d;
      const yo = ((bi * h + hi) * t + ti) * d;
      for (let j = 0; j < half; j++) {
        y[yo + j] = f(x[xo + j]! * cos[co + j]!) + f(-x[xo + j + half]! * sin[co + j]!);
      }
      for (let j = half; j < d; j++) {
        y[yo + j] = f(x[xo + j]! * cos[co + j]!) + f(x[xo + j - half]! * sin[co + j]!);
      }
    }
  }
}

/**
 * The gradient of {@link ropeHeadsForward}: `dx` [B, T, H, D] from `dy` [B, H, T, D]. Rotation
 * is linear, so dx_k = dy_k cos_k + dy_{k+D/2} sin_{k+D/2} (k < D/2) and
 * dy_k cos_k - dy_{k-D/2} sin_{k-D/2} (k >= D/2). Positions `p0..p1` as in the forward pass.
 */
export function ropeHeadsBackward(
  dy: Float32Array,
  cos: Float32Array,
  sin: Float32Array,
  dx: Float32Array,
  s: RopeShape,
  p0 = 0,
  p1 = s.b * s.t,
): void {
  const { t, h, d } = s;
  const half = d / 2;
  for (let p = p0; p < p1; p++) {
    const bi = Math.floor(p / t);
    const ti = p - bi * t;
    const co = ((s.tableRows === 1 ? 0 : bi) * t + ti) * d;
    for (let hi = 0; hi < h; hi++) {
      const xo = ((bi * t + ti) * h + hi) * d;
      const yo = ((bi * h + hi) * t + ti) * d;
      for (let j = 0; j < half; j++) {
        dx[xo + j] = dy[yo + j]! * cos[co + j]! + dy[yo + j + half]! * sin[co + j + half]!;
      }
      for (let j = half; j < d; j++) {
        dx[xo + j] = dy[yo + j]! * cos[co + j]! - dy[yo + j - half]! * sin[co + j - half]!;
      }
    }
  }
}
