/**
 * `exp` as WebAssembly instructions, in an f32x4 form and a scalar f32 form that compute the same
 * value bit for bit (the same IEEE single-precision operations in the same order), so a row's
 * vector body and its scalar tail agree.
 *
 * Method (the classic single-precision one): clamp x to [-87.34, 88.38], n = nearest(x log2 e)
 * (by adding 1.5 2^23, which leaves n in the low mantissa bits), r = x - n ln2 (ln2 split in a
 * high part exact in float and a low correction), a degree-7 polynomial for e^r on
 * [-ln2/2, ln2/2] (about 1 ulp), times 2^n built from those same low bits.
 * Below the clamp the result is exactly 0, so a masked score (bias -1e9) gets exactly zero
 * weight, as in the composite softmax.
 *
 * @module
 */
import { type Code, Ctl, F32, f32, get, I32, i32, seq, set, V128 } from "./asm.ts";

const LOW = -87.33654;
const HIGH = 88.37626;
const LOG2E = 1.44269504088896341;
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
/** 1.5 2^23: adding it rounds to an integer held in the low mantissa bits. */
const MAGIC = 12582912;
/** Polynomial coefficients, highest degree first: e^r = 1 + r + r^2 P(r). */
const P = [
  1.9875691500e-4,
  1.3981999507e-3,
  8.3334519073e-3,
  4.1665795894e-2,
  1.6666665459e-1,
  5.0000001201e-1,
];

/** The locals one exp uses: the value `x` (replaced by its exp) and three scratch locals. */
export interface ExpLocals {
  /** The value, replaced by exp(value). v128 in the vector form, f32 in the scalar form. */
  readonly x: number;
  /** Scratch of x's type. */
  readonly r: number;
  /** Scratch of x's type. */
  readonly n: number;
  /** The below-range mask: v128 in the vector form, i32 in the scalar form. */
  readonly mask: number;
}

/** The exp constants, for callers that keep them splatted in locals. */
export const EXP_CONSTANTS: readonly number[] = [LOW, HIGH, LOG2E, MAGIC, LN2_HI, LN2_LO, 1, ...P];

/**
 * exp of local `x` in place, as f32x4 lanes (`vector`) or one f32, bit-identical lane for lane.
 * `k(c)` pushes the constant c (splatted in the vector form; callers may hoist those splats
 * into locals, which the loop then only reads).
 */
export function expCode(vector: boolean, l: ExpLocals, k: (c: number) => Code): Code {
  const { x, r, n, mask } = l;
  const O = vector
    ? { mul: V128.mul, add: V128.add, sub: V128.sub, max: V128.max, min: V128.min, lt: V128.lt }
    : { mul: F32.mul, add: F32.add, sub: F32.sub, max: F32.max, min: F32.min, lt: F32.lt };
  const poly: Code[] = [k(P[0]!)];
  for (const c of P.slice(1)) poly.push(seq(get(r), O.mul, k(c), O.add));
  return seq(
    // the below-range mask (lanes that come out exactly 0), then the clamp
    seq(get(x), k(LOW), O.lt, set(mask)),
    seq(get(x), k(LOW), O.max, k(HIGH), O.min, set(x)),
    // t = x log2e + MAGIC in n; r = x - (t - MAGIC) ln2
    seq(get(x), k(LOG2E), O.mul, k(MAGIC), O.add, set(n)),
    seq(get(n), k(MAGIC), O.sub, set(r)),
    seq(get(x), get(r), k(LN2_HI), O.mul, O.sub, get(r), k(LN2_LO), O.mul, O.sub, set(r)),
    // x = (P(r) r^2 + r) + 1
    seq(...poly, get(r), get(r), O.mul, O.mul, get(r), O.add, k(1), O.add, set(x)),
    // times 2^n = (bits(t) + 127) << 23, then zero where masked
    vector
      ? seq(
        seq(get(n), i32(127), V128.splatI32, V128.addI32, i32(23), V128.shlI32, set(n)),
        seq(get(x), get(n), V128.mul, get(mask), V128.andNot, set(x)),
      )
      : seq(
        seq(get(x), get(n), F32.toBits, i32(127), I32.add, i32(23), I32.shl, F32.fromBits),
        seq(F32.mul, set(x)),
        seq(f32(0), get(x), get(mask), Ctl.select, set(x)),
      ),
  );
}
