/**
 * The matrix-product kernel of our WebAssembly SIMD module, emitted as instructions:
 * `gemm(a, b, c, m, n, k, sam, sak, sbk, sbn, pack, ldc)` computes the row-major `C [M, N] = A B`
 * where `A(i, p)` is the float at byte `a + 4 (i sam + p sak)` and `B(p, j)` the float at
 * byte `b + 4 (p sbk + j sbn)`, so every transpose is a choice of strides. `pack` is scratch
 * space of `K * ceil(N / 8) * 8` floats.
 *
 * Method: copy `B` into `pack` as panels of 8 columns, each `[K, 8]` (zero-padded past N).
 * Then, for each block of {@link MC} rows of `A` (kept in cache) and each panel, accumulate
 * tiles of up to 6 x 8 of `C` in twelve f32x4 registers over `p = 0..K-1` (one splat of
 * `A(i, p)` times the two panel vectors, per row), left to right in `p`, so every element is
 * the same sum in the same order on every run. Rows left over after the 6-row tiles use 4-,
 * 2- and 1-row tiles; a partial panel stores only its valid lanes.
 *
 * @module
 */
import {
  type Code,
  Ctl,
  encodeModule,
  F32,
  f32,
  type FuncDef,
  get,
  I32,
  i32,
  seq,
  set,
  V128,
} from "./asm.ts";
import { gemmNT } from "./gemm_nt.ts";

/** Where each function sits in the module (calls between them use these indices). */
const GEMM_INDEX = { gemmPacked: 0, gemmNT: 1, gemm: 2, gemmBatch: 3 } as const;

/** Rows of `A` per cache block. A multiple of every tile height. */
export const MC = 48;
/** Products of at most this many rows read a row-major B in place instead of packing it. */
export const DIRECT_MAX_M = 512;
/** Tile heights, largest first. */
const TILES = [6, 4, 2, 1] as const;

// Parameters.
const A = 0, B = 1, C = 2, M = 3, N = 4, K = 5, SAM = 6, SAK = 7, SBK = 8, SBN = 9, PACK = 10;
const LDC = 11;
// i32 locals.
const JB = 12, NC = 13, KK = 14, JJ = 15, SRC = 16, DST = 17, I = 18, PA = 19, PB = 20;
const CP = 21, T = 22, ROWS = 23, IB = 24, IEND = 25, P0 = 26;
// f32 local: one packed value.
const X = 27;
// v128 locals: accumulators (row r: ACC + 2r low half, ACC + 2r + 1 high half), B halves, A splat.
const ACC = 28, BL = 40, BH = 41, AV = 42;
// i32 locals: bytes from one panel row to the next; 1 when B is read in place (not packed).
const PSTEP = 43, DIRECT = 44;

const LOCALS = [
  ...new Array<"i32">(15).fill("i32"),
  "f32",
  ...new Array<"v128">(15).fill("v128"),
  "i32",
  "i32",
] as const;

const inc = (l: number, by: Code): Code => seq(get(l), by, I32.add, set(l));
/** `while (cond) { body }` as block/loop; `cond` leaves an i32. */
const whileLoop = (cond: Code, ...body: Code[]): Code =>
  Ctl.block(Ctl.loop(cond, I32.eqz, Ctl.brIf(1), ...body, Ctl.br(0)));

/** `acc += a * b` for v128 locals: one relaxed multiply-add with `fma`, else multiply then add. */
export function multiplyAdd(acc: number, a: number, b: number, fma: boolean): Code {
  return fma
    ? seq(get(a), get(b), get(acc), V128.madd, set(acc))
    : seq(get(acc), get(a), get(b), V128.mul, V128.add, set(acc));
}

/** acc += splat(A at `addr`) * [bl, bh] for row r. */
function fmaRow(r: number, addr: Code, fma: boolean): Code {
  return seq(
    addr,
    F32.load(),
    V128.splat,
    set(AV),
    multiplyAdd(ACC + 2 * r, AV, BL, fma),
    multiplyAdd(ACC + 2 * r + 1, AV, BH, fma),
  );
}

/** The k loop for a tile of `rows` rows, from pa (row i of A) and pb (the packed panel). */
function kLoop(rows: number, fma: boolean): Code {
  const rowAddr = (r: number): Code =>
    r === 0 ? get(PA) : seq(get(PA), get(SAM), ...(r > 1 ? [i32(r), I32.mul] : []), I32.add);
  const fmas: Code[] = [];
  for (let r = 0; r < rows; r++) fmas.push(fmaRow(r, rowAddr(r), fma));
  return seq(
    i32(0),
    set(KK),
    whileLoop(
      seq(get(KK), get(K), I32.ltS),
      seq(get(PB), V128.load(), set(BL), get(PB), V128.load(16), set(BH)),
      ...fmas,
      inc(PA, get(SAK)),
      inc(PB, get(PSTEP)),
      inc(KK, i32(1)),
    ),
  );
}

/** Store row r's accumulators at C[i + r, jb ...]: whole vectors, or the first `nc` lanes. */
function storeRow(r: number): Code {
  const lanes: Code[] = [];
  for (let l = 0; l < 8; l++) {
    lanes.push(seq(
      get(NC),
      i32(l),
      I32.gtS,
      Ctl.if(get(CP), get(ACC + 2 * r + (l >> 2)), V128.extract(l & 3), F32.store(4 * l)),
    ));
  }
  return seq(
    // cp = c + ((i + r) * n + jb) * 4
    seq(get(C), get(I), i32(r), I32.add, get(LDC), I32.mul, get(JB), I32.add),
    seq(i32(2), I32.shl, I32.add, set(CP)),
    seq(get(NC), i32(8), I32.eq),
    Ctl.ifElse(
      [seq(get(CP), get(ACC + 2 * r), V128.store(), get(CP), get(ACC + 2 * r + 1), V128.store(16))],
      lanes,
    ),
  );
}

/** One tile of `rows` rows at row i of the current panel. */
function tile(rows: number, fma: boolean): Code {
  return seq(
    seq(...Array.from({ length: 2 * rows }, (_, j) => seq(V128.zero, set(ACC + j)))),
    seq(get(A), get(I), get(SAM), I32.mul, I32.add, set(PA)), // pa = a + i * sam
    seq(get(P0), set(PB)),
    kLoop(rows, fma),
    ...Array.from({ length: rows }, (_, r) => storeRow(r)),
  );
}

/** Dispatch on ROWS to the tile of that height (TILES, largest first). */
function tiles(fma: boolean, from = 0): Code {
  const rows = TILES[from]!;
  if (from === TILES.length - 1) return tile(rows, fma);
  return seq(get(ROWS), i32(rows), I32.eq, Ctl.ifElse([tile(rows, fma)], [tiles(fma, from + 1)]));
}

/** rows = the largest tile height that fits in iend - i. */
const chooseRows: Code = seq(
  seq(i32(1), set(ROWS)),
  ...TILES.slice(0, -1).reverse().map((h) =>
    seq(get(IEND), get(I), I32.sub, i32(h), I32.geS, Ctl.if(i32(h), set(ROWS)))
  ),
);

/** Copy B into `pack` as [N/8 panels][K][8], zero past column N. */
const packAll: Code = seq(
  seq(get(PACK), set(DST)),
  seq(i32(0), set(JB)),
  whileLoop(
    seq(get(JB), get(N), I32.ltS),
    seq(get(N), get(JB), I32.sub, set(NC)),
    seq(get(B), get(JB), get(SBN), I32.mul, I32.add, set(SRC)), // src = b + jb * sbn
    seq(i32(0), set(KK)),
    whileLoop(
      seq(get(KK), get(K), I32.ltS),
      seq(get(SRC), set(T), i32(0), set(JJ)),
      whileLoop(
        seq(get(JJ), i32(8), I32.ltS),
        seq(get(JJ), get(NC), I32.ltS),
        Ctl.ifElse([seq(get(T), F32.load(), set(X))], [seq(f32(0), set(X))]),
        seq(get(DST), get(JJ), i32(2), I32.shl, I32.add, get(X), F32.store()),
        inc(T, get(SBN)),
        inc(JJ, i32(1)),
      ),
      inc(DST, i32(32)),
      inc(SRC, get(SBK)),
      inc(KK, i32(1)),
    ),
    inc(JB, i32(8)),
  ),
);

/** For each row block, each panel, each tile. */
const blocks = (fma: boolean): Code =>
  seq(
    seq(i32(0), set(IB)),
    whileLoop(
      seq(get(IB), get(M), I32.ltS),
      // iend = min(ib + MC, m)
      seq(get(IB), i32(MC), I32.add, set(IEND)),
      seq(get(IEND), get(M), I32.gtS, Ctl.if(get(M), set(IEND))),
      seq(i32(0), set(JB)),
      whileLoop(
        seq(get(JB), get(N), I32.ltS),
        // nc = min(8, n - jb); p0 = pack + jb * k * 4
        seq(get(N), get(JB), I32.sub, set(NC)),
        seq(get(NC), i32(8), I32.gtS, Ctl.if(i32(8), set(NC))),
        seq(get(DIRECT)),
        Ctl.ifElse(
          [seq(get(B), get(JB), i32(2), I32.shl, I32.add, set(P0))], // b + jb * 4
          [seq(get(PACK), get(JB), get(K), I32.mul, i32(2), I32.shl, I32.add, set(P0))],
        ),
        seq(get(IB), set(I)),
        whileLoop(
          seq(get(I), get(IEND), I32.ltS),
          chooseRows,
          tiles(fma),
          inc(I, get(ROWS)),
        ),
        inc(JB, i32(8)),
      ),
      inc(IB, i32(MC)),
    ),
  );

/**
 * The packing kernel (see the module comment for its arguments); products of at most
 * `directMaxM` rows read a row-major B in place.
 */
export const packedGemm = (directMaxM: number = DIRECT_MAX_M, fma = false): FuncDef => ({
  name: "gemmPacked",
  params: new Array<"i32">(12).fill("i32"),
  results: [],
  locals: LOCALS,
  body: seq(
    // strides from floats to bytes
    ...[SAM, SAK, SBK, SBN].map((l) => seq(get(l), i32(2), I32.shl, set(l))),
    // B's rows already hold whole panels (unit column stride, N a multiple of 8): read them
    // in place. The sums are the same either way; packing only pays when many rows reuse it.
    seq(get(SBN), i32(4), I32.eq, get(N), i32(7), I32.and, I32.eqz, I32.and),
    seq(get(M), i32(directMaxM), I32.leS, I32.and, set(DIRECT)),
    seq(get(DIRECT)),
    Ctl.ifElse([seq(get(SBK), set(PSTEP))], [seq(packAll, i32(32), set(PSTEP))]),
    blocks(fma),
  ),
});

/** Products with K at least this, and A and B both contiguous along K, skip the packing. */
export const NT_MIN_K = 32;

/**
 * `gemm(a, b, c, m, n, k, sam, sak, sbk, sbn, pack)`: `gemmNT` when A and B are both
 * contiguous along K (`sak = sbk = 1`: a linear layer's `x W^T`) and K >= {@link NT_MIN_K},
 * the packing kernel otherwise. The choice depends on the strides and K only, never on M, so a
 * row gets the same sum whatever the batch or the thread it is computed in.
 */
export const GEMM: FuncDef = {
  name: "gemm",
  params: new Array<"i32">(12).fill("i32"),
  results: [],
  locals: [],
  body: seq(
    seq(get(SAK), i32(1), I32.eq, get(SBK), i32(1), I32.eq, I32.and),
    seq(get(K), i32(NT_MIN_K), I32.geS, I32.and),
    Ctl.ifElse(
      [seq(...[A, B, C, M, N, K, SAM, SBN, LDC].map((l) => get(l)), Ctl.call(GEMM_INDEX.gemmNT))],
      [seq(
        ...[A, B, C, M, N, K, SAM, SAK, SBK, SBN, PACK, LDC].map((l) => get(l)),
        Ctl.call(GEMM_INDEX.gemmPacked),
      )],
    ),
  ),
};

// gemmBatch's extra parameters (after gemm's twelve) and its loop counter.
const COUNT = 12, STRIDE_A = 13, STRIDE_B = 14, STRIDE_C = 15, BI = 16;

/**
 * `gemmBatch(a, b, c, m, n, k, sam, sak, sbk, sbn, pack, ldc, count, strideA, strideB, strideC)`:
 * `count` products, the i-th at byte offsets `a + i strideA`, `b + i strideB`, `c + i strideC`
 * (a stride of 0 shares an operand), in one call from JavaScript.
 */
export const GEMM_BATCH: FuncDef = {
  name: "gemmBatch",
  params: new Array<"i32">(16).fill("i32"),
  results: [],
  locals: ["i32"],
  body: seq(
    seq(i32(0), set(BI)),
    whileLoop(
      seq(get(BI), get(COUNT), I32.ltS),
      seq(get(A), get(BI), get(STRIDE_A), I32.mul, I32.add),
      seq(get(B), get(BI), get(STRIDE_B), I32.mul, I32.add),
      seq(get(C), get(BI), get(STRIDE_C), I32.mul, I32.add),
      seq(...[M, N, K, SAM, SAK, SBK, SBN, PACK, LDC].map((l) => get(l))),
      Ctl.call(GEMM_INDEX.gemm),
      inc(BI, i32(1)),
    ),
  ),
};

/** Floats of scratch `gemm` needs for a product with inner size k and n columns. */
export function packFloats(n: number, k: number): number {
  return k * Math.ceil(n / 8) * 8;
}

/**
 * The functions of the matrix-product module, in module order (see `GEMM_INDEX`); with `fma`,
 * the products accumulate by relaxed-SIMD multiply-add (see {@link gemmFma}).
 */
export function gemmFuncs(fma: boolean): readonly FuncDef[] {
  return [packedGemm(DIRECT_MAX_M, fma), gemmNT(fma), GEMM, GEMM_BATCH];
}

let fmaChecked: boolean | null = null;

/**
 * Whether this runtime compiles relaxed-SIMD multiply-add (V8 since 2023). The kernels then
 * accumulate with one fused multiply-add where the CPU has FMA (about 1.7x the plain kernel's
 * rate here); either way every thread runs the same instructions, so results stay bit-identical
 * across threads and runs on one machine.
 */
export function gemmFma(): boolean {
  fmaChecked ??= WebAssembly.validate(encodeModule(gemmFuncs(true)));
  return fmaChecked;
}
