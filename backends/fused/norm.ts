/**
 * RMSNorm and its gradient as one pass per row over float32 arrays (the fused kernels of the
 * heap backends; `src/model/layers.ts` holds the composite definition they are tested against).
 *
 * Legend: R rows (every leading dimension), C channels.
 *
 * @module
 */

/** `y = x / sqrt(mean(x^2) + eps) * w` for `x`, `y` [R, C] and `w` [C]. */
export function rmsNormForward(
  x: Float32Array,
  w: Float32Array,
  y: Float32Array,
  c: number,
  eps: number,
): void {
  const rows = x.length / c;
  for (let r = 0; r < rows; r++) {
    const o = r * c;
    let s = 0;
    for (let j = 0; j < c; j++) s += x[o + j]! * x[o + j]!;
    const inv = Math.fround(1 / Math.sqrt(Math.fround(Math.fround(s / c) + eps)));
    for (let j = 0; j < c; j++) y[o + j] = Math.fround(x[o + j]! * inv) * w[j]!;
  }
}

/**
 * Gradients of {@link rmsNormForward} for upstream `dy` [R, C]: `dx` [R, C] and `dw` [C]
 * (`dx = inv (dy w - x inv^2 mean(dy w x))`, `dw = sum over rows of dy x inv`). The two parts
 * are {@link rmsNormInputGrad} and {@link rmsNormWeightGrad} (which threads run side by side).
 */
export function rmsNormBackward(
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  dx: Float32Array,
  dw: Float32Array,
  c: number,
  eps: number,
): void {
  rmsNormInputGrad(dy, x, w, dx, c, eps);
  rmsNormWeightGrad(dy, x, dw, c, eps);
}

/** The inverse RMS of row `o` (offset) of `x`, as the forward pass rounds it. */
function inverseRms(x: Float32Array, o: number, c: number, eps: number): number {
  let s = 0;
  for (let j = 0; j < c; j++) s += x[o + j]! * x[o + j]!;
  return Math.fround(1 / Math.sqrt(Math.fround(Math.fround(s / c) + eps)));
}

/** `dx` [R, C] of {@link rmsNormBackward}: each row on its own (any split of rows gives the same bits). */
export function rmsNormInputGrad(
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  dx: Float32Array,
  c: number,
  eps: number,
): void {
  const rows = x.length / c;
  for (let r = 0; r < rows; r++) {
    const o = r * c;
    const inv = inverseRms(x, o, c, eps);
    let dot = 0;
    for (let j = 0; j < c; j++) dot += dy[o + j]! * w[j]! * x[o + j]!;
    const k = (inv * inv * dot) / c;
    for (let j = 0; j < c; j++) dx[o + j] = inv * (dy[o + j]! * w[j]! - x[o + j]! * k);
  }
}

/** `dw` [C] of {@link rmsNormBackward}: summed in float64 over the rows in order. */
export function rmsNormWeightGrad(
  dy: Float32Array,
  x: Float32Array,
  dw: Float32Array,
  c: number,
  eps: number,
): void {
  const rows = x.length / c;
  const acc = new Float64Array(c);
  for (let r = 0; r < rows; r++) {
    const o = r * c;
    const inv = inverseRms(x, o, c, eps);
    for (let j = 0; j < c; j++) acc[j] = acc[j]! + dy[o + j]! * x[o + j]! * inv;
  }
  for (let j = 0; j < c; j++) dw[j] = acc[j]!;
}
