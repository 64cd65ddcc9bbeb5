/**
 * The matrix product with B stored transposed, `C [M, N] = A B^T` for row-major `A [M, K]` and
 * `B [N, K]` (a linear layer's `x W^T`), as dot products along K: both operands are read where
 * they are, with no packing. Packing B costs as much as the arithmetic when M is small (a decoding
 * step multiplies 25 rows by a whole weight matrix), and a linear layer's weights are `[out, in]`,
 * exactly this layout.
 *
 * `gemmNT(a, b, c, m, n, k, sam, sbn, ldc)`: `A(i, p)` at byte `a + 4 (i sam + p)`, `B(j, p)` at
 * byte `b + 4 (j sbn + p)`, `C(i, j)` at byte `c + 4 (i ldc + j)`.
 *
 * Method: tiles of 2 rows x 4 columns of C hold eight f32x4 partial sums; lane l sums the
 * products with `p = l (mod 4)`, left to right. At the end of K each output is
 * `(l0 + l1) + (l2 + l3)`, then the last `K mod 4` products are added in order. Every output is
 * that same sum whatever the tile, the block or the thread, so results are deterministic and do
 * not depend on M. Rows are walked in blocks that keep A in the first-level cache while B streams
 * once per block.
 *
 * @module
 */
import { type Code, Ctl, F32, type FuncDef, get, I32, i32, seq, set, V128 } from "./asm.ts";

// Parameters.
const A = 0, B = 1, C = 2, M = 3, N = 4, K = 5, SAM = 6, SBN = 7, LDC = 8;
// i32 locals.
const I = 9, J = 10, OFF = 11, K4 = 12, IB = 13, IEND = 14, MB = 15, JEND = 16;
const PA = 17; // PA, PA + 1: rows i, i + 1 of A
const PB = 19; // PB .. PB + 3: rows j .. j + 3 of B
const CP = 23;
// f32 local: one finished sum.
const S = 24;
// v128 locals: ACC + 4 r + c, then B vectors, then the A vector.
const ACC = 25, BV = 33, AV = 37;

const LOCALS = [
  ...new Array<"i32">(15).fill("i32"),
  "f32",
  ...new Array<"v128">(13).fill("v128"),
] as const;

/** Bytes of A a row block may fill (kept in the first-level cache). */
const BLOCK_BYTES = 16384;

const inc = (l: number, by: Code): Code => seq(get(l), by, I32.add, set(l));
const whileLoop = (cond: Code, ...body: Code[]): Code =>
  Ctl.block(Ctl.loop(cond, I32.eqz, Ctl.brIf(1), ...body, Ctl.br(0)));

/** One tile of `rows` x `cols` outputs at (I, J). */
function tile(rows: number, cols: number, fma: boolean): Code {
  const acc = (r: number, c: number) => ACC + 4 * r + c;
  const out: Code[] = [];
  for (let r = 0; r < rows; r++) {
    // pa_r = a + (i + r) * sam
    out.push(seq(get(A), get(I), ...(r ? [i32(r), I32.add] : []), get(SAM), I32.mul, I32.add));
    out.push(set(PA + r));
  }
  for (let c = 0; c < cols; c++) {
    out.push(seq(get(B), get(J), ...(c ? [i32(c), I32.add] : []), get(SBN), I32.mul, I32.add));
    out.push(set(PB + c));
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out.push(seq(V128.zero, set(acc(r, c))));
  }
  const step: Code[] = [];
  for (let c = 0; c < cols; c++) {
    step.push(seq(get(PB + c), get(OFF), I32.add, V128.load(), set(BV + c)));
  }
  for (let r = 0; r < rows; r++) {
    step.push(seq(get(PA + r), get(OFF), I32.add, V128.load(), set(AV)));
    for (let c = 0; c < cols; c++) {
      step.push(
        fma
          ? seq(get(AV), get(BV + c), get(acc(r, c)), V128.madd, set(acc(r, c)))
          : seq(get(acc(r, c)), get(AV), get(BV + c), V128.mul, V128.add, set(acc(r, c))),
      );
    }
  }
  out.push(seq(i32(0), set(OFF)));
  out.push(whileLoop(seq(get(OFF), get(K4), I32.ltS), ...step, inc(OFF, i32(16))));
  // Finish each output: lanes (0 + 1) + (2 + 3), then the tail in order, then store.
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const lane = (l: number) => seq(get(acc(r, c)), V128.extract(l));
      out.push(seq(lane(0), lane(1), F32.add, lane(2), lane(3), F32.add, F32.add, set(S)));
      out.push(seq(get(K4), set(OFF)));
      out.push(whileLoop(
        seq(get(OFF), get(K), i32(2), I32.shl, I32.ltS),
        seq(get(S), get(PA + r), get(OFF), I32.add, F32.load(), get(PB + c), get(OFF), I32.add),
        seq(F32.load(), F32.mul, F32.add, set(S)),
        inc(OFF, i32(4)),
      ));
      // cp = c + ((i + r) * n + j + c) * 4
      out.push(
        seq(get(C), get(I), ...(r ? [i32(r), I32.add] : []), get(LDC), I32.mul, get(J), I32.add),
      );
      out.push(seq(...(c ? [i32(c), I32.add] : []), i32(2), I32.shl, I32.add, set(CP)));
      out.push(seq(get(CP), get(S), F32.store()));
    }
  }
  return seq(...out);
}

/** Rows I .. IEND of the current block against `cols` columns at J: 2-row tiles, then 1. */
function rowsOf(cols: number, fma: boolean): Code {
  return seq(
    seq(get(IB), set(I)),
    whileLoop(
      seq(get(I), i32(1), I32.add, get(IEND), I32.ltS),
      tile(2, cols, fma),
      inc(I, i32(2)),
    ),
    seq(get(I), get(IEND), I32.ltS),
    Ctl.if(tile(1, cols, fma)),
  );
}

/**
 * The `gemmNT` function (see the module comment for its arguments); with `fma`, lanes
 * accumulate by relaxed-SIMD multiply-add.
 */
export const gemmNT = (fma: boolean): FuncDef => ({
  name: "gemmNT",
  params: new Array<"i32">(9).fill("i32"),
  results: [],
  locals: LOCALS,
  body: seq(
    seq(get(SAM), i32(2), I32.shl, set(SAM)),
    seq(get(SBN), i32(2), I32.shl, set(SBN)),
    // k4 = (k & ~3) * 4 bytes
    seq(get(K), i32(-4), I32.and, i32(2), I32.shl, set(K4)),
    // mb = max(2, BLOCK_BYTES / (4 k)) rounded down to even
    seq(i32(BLOCK_BYTES / 4), get(K), i32(1), get(K), i32(1), I32.gtS, Ctl.select, I32.divS),
    seq(i32(-2), I32.and, set(MB)),
    seq(get(MB), i32(2), I32.ltS, Ctl.if(i32(2), set(MB))),
    seq(i32(0), set(IB)),
    whileLoop(
      seq(get(IB), get(M), I32.ltS),
      seq(get(IB), get(MB), I32.add, set(IEND)),
      seq(get(IEND), get(M), I32.gtS, Ctl.if(get(M), set(IEND))),
      // Whole groups of 4 columns, then the last columns one by one.
      seq(get(N), i32(-4), I32.and, set(JEND)),
      seq(i32(0), set(J)),
      whileLoop(seq(get(J), get(JEND), I32.ltS), rowsOf(4, fma), inc(J, i32(4))),
      whileLoop(seq(get(J), get(N), I32.ltS), rowsOf(1, fma), inc(J, i32(1))),
      inc(IB, get(MB)),
    ),
  ),
});
