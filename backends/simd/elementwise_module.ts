/**
 * Fused elementwise kernels of our WebAssembly SIMD module, emitted as instructions: the
 * attention softmax (scale, bias and softmax of each row in three passes over it) and the SwiGLU
 * activation `silu(g) u` with its gradient. Each element is computed by the same operations
 * whether it falls in a 4-lane vector or in a row's scalar tail (see `exp.ts`), so results do not
 * depend on where a row starts or how long it is.
 *
 * Functions (pointers are byte offsets, sizes are floats):
 * - `softmaxRows(x, bias, out, rows, n, ld, scale)`: for each of `rows` rows of `n` (rows `ld`
 *   floats apart in all three), `out = softmax(x * scale + bias)`; `bias` may be 0 for none;
 *   `out` may be `x`.
 * - `softmaxGradRows(ds, p, rows, n, ld, scale)`: `ds = scale p (ds - sum(ds p))` per row, in
 *   place.
 * - `swiglu(g, u, out, n)`: `out = g sigmoid(g) u`.
 * - `swigluGrad(dy, g, u, dg, du, n)`: `du = dy g s`, `dg = dy u s (1 + g (1 - s))`, s = sigmoid(g).
 * - `rowMaxSumExp(x, stats, rows, n)`: per row its max and the sum of exp(x - max) (the
 *   cross-entropy's log-sum-exp, finished on the host with one log per row).
 * - `rowExpShift(x, shift, scale, out, rows, n)`: `out = exp(x - shift[r]) scale[r]` (the
 *   cross-entropy's gradient before the one-hot is subtracted).
 * - `axpy(x, y, n, a)`: `y = y + a x`.
 *
 * @module
 */
import {
  type Code,
  Ctl,
  F32,
  f32,
  type FuncDef,
  get,
  I32,
  i32,
  seq,
  set,
  V128,
  type ValType,
} from "./asm.ts";
import { expCode } from "./exp.ts";

const inc = (l: number, by: Code): Code => seq(get(l), by, I32.add, set(l));
const whileLoop = (cond: Code, ...body: Code[]): Code =>
  Ctl.block(Ctl.loop(cond, I32.eqz, Ctl.brIf(1), ...body, Ctl.br(0)));

/** A value held for both forms: a v128 local (vector groups) and an f32 local (scalar tail). */
interface Pair {
  readonly v: number;
  readonly s: number;
}

/** Operations on one lane group: four f32 lanes (vector) or one f32 (scalar tail). */
interface Lanes {
  /** Bytes per group. */
  readonly bytes: number;
  readonly load: Code;
  readonly store: Code;
  readonly add: Code;
  readonly sub: Code;
  readonly mul: Code;
  readonly div: Code;
  readonly max: Code;
  /** A constant in every lane. */
  k(x: number): Code;
  /** This form's local of a pair. */
  of(p: Pair): number;
  /** exp of this form's local of `p`, in place. */
  exp(p: Pair): Code;
}

/**
 * Locals of a function: its parameters first, then i32, f32 and v128 locals handed out in
 * that order by `i32()`, `f32()`, `v128()` and `pair()`, then the exp scratch.
 */
class Frame {
  readonly #types: ValType[] = [];
  readonly #first: number;
  readonly #consts = new Map<number, number>();
  constructor(readonly params: readonly ValType[]) {
    this.#first = params.length;
  }
  #take(t: ValType): number {
    this.#types.push(t);
    return this.#first + this.#types.length - 1;
  }
  i32(): number {
    return this.#take("i32");
  }
  f32(): number {
    return this.#take("f32");
  }
  v128(): number {
    return this.#take("v128");
  }
  pair(): Pair {
    return { v: this.v128(), s: this.f32() };
  }
  /** A v128 local holding `x` in every lane (set by {@link prologue}). */
  vconst(x: number): number {
    let l = this.#consts.get(x);
    if (l === undefined) {
      l = this.v128();
      this.#consts.set(x, l);
    }
    return l;
  }
  /** Sets the constant locals; goes first in the body (emit it after the rest is built). */
  prologue(): Code {
    return seq(...[...this.#consts].map(([x, l]) => seq(f32(x), V128.splat, set(l))));
  }
  /** The lane operations, with their exp scratch locals. */
  lanes(): { v: Lanes; s: Lanes } {
    const [vr, vn, vy] = [this.v128(), this.v128(), this.v128()];
    const [sr, sn, sb] = [this.f32(), this.f32(), this.i32()];
    const vk = (x: number) => get(this.vconst(x));
    return {
      v: {
        bytes: 16,
        load: V128.load(),
        store: V128.store(),
        add: V128.add,
        sub: V128.sub,
        mul: V128.mul,
        div: V128.div,
        max: V128.max,
        k: vk,
        of: (p) => p.v,
        exp: (p) => expCode(true, { x: p.v, r: vr, n: vn, mask: vy }, vk),
      },
      s: {
        bytes: 4,
        load: F32.load(),
        store: F32.store(),
        add: F32.add,
        sub: F32.sub,
        mul: F32.mul,
        div: F32.div,
        max: F32.max,
        k: (x) => f32(x),
        of: (p) => p.s,
        exp: (p) => expCode(false, { x: p.s, r: sr, n: sn, mask: sb }, f32),
      },
    };
  }
  get locals(): readonly ValType[] {
    return this.#types;
  }
}

/**
 * `for (off = 0; off < bytes; )`: vector groups while 16 bytes remain, then scalar floats;
 * `body(L)` sees the byte offset in local `off` and the lane operations `L`.
 */
function mapLoop(off: number, bytes: number, L: { v: Lanes; s: Lanes }, body: (L: Lanes) => Code) {
  return seq(
    seq(i32(0), set(off)),
    whileLoop(seq(get(off), i32(16), I32.add, get(bytes), I32.leS), body(L.v), inc(off, i32(16))),
    whileLoop(seq(get(off), get(bytes), I32.ltS), body(L.s), inc(off, i32(4))),
  );
}

/** Load the group at byte `base + off`. */
const at = (L: Lanes, base: number, off: number): Code => seq(get(base), get(off), I32.add, L.load);
/** Store local `v` (this form's) at byte `base + off`. */
const put = (L: Lanes, base: number, off: number, v: Code): Code =>
  seq(get(base), get(off), I32.add, v, L.store);

/** Horizontal `op` of v128 local `v`: (l0 op l1) op (l2 op l3). */
const across = (v: number, op: Code): Code =>
  seq(
    seq(get(v), V128.extract(0), get(v), V128.extract(1), op),
    seq(get(v), V128.extract(2), get(v), V128.extract(3), op),
    op,
  );

/** Set both locals of `p` from the f32 on the stack. */
const setPair = (p: Pair): Code => seq(set(p.s), get(p.s), V128.splat, set(p.v));

function softmaxRows(): FuncDef {
  const params: ValType[] = ["i32", "i32", "i32", "i32", "i32", "i32", "f32"];
  const [X, BIAS, OUT, ROWS, N, LD, SCALE] = [0, 1, 2, 3, 4, 5, 6];
  const f = new Frame(params);
  const [r, off, nb, xp, bp, op, ldb] = [
    f.i32(),
    f.i32(),
    f.i32(),
    f.i32(),
    f.i32(),
    f.i32(),
    f.i32(),
  ];
  const [scale, val, acc, bc] = [f.pair(), f.pair(), f.pair(), f.pair()];
  const L = f.lanes();
  // Pass 1: v = x scale (+ bias), stored; running max in acc.
  const pass1 = (l: Lanes) =>
    seq(
      seq(at(l, xp, off), get(l.of(scale)), l.mul, set(l.of(val))),
      seq(get(bp), Ctl.if(seq(get(l.of(val)), at(l, bp, off), l.add, set(l.of(val))))),
      put(l, op, off, get(l.of(val))),
      seq(get(l.of(acc)), get(l.of(val)), l.max, set(l.of(acc))),
    );
  // Pass 2: e = exp(v - max), stored; running sum in acc.
  const pass2 = (l: Lanes) =>
    seq(
      seq(at(l, op, off), get(l.of(bc)), l.sub, set(l.of(val))),
      l.exp(val),
      put(l, op, off, get(l.of(val))),
      seq(get(l.of(acc)), get(l.of(val)), l.add, set(l.of(acc))),
    );
  // Pass 3: times 1 / sum.
  const pass3 = (l: Lanes) => put(l, op, off, seq(at(l, op, off), get(l.of(bc)), l.mul));
  const main = seq(
    seq(get(SCALE), setPair(scale)),
    seq(get(N), i32(2), I32.shl, set(nb)),
    seq(get(LD), i32(2), I32.shl, set(ldb)),
    seq(i32(0), set(r)),
    whileLoop(
      seq(get(r), get(ROWS), I32.ltS),
      seq(get(X), get(r), get(ldb), I32.mul, I32.add, set(xp)),
      seq(get(OUT), get(r), get(ldb), I32.mul, I32.add, set(op)),
      seq(get(BIAS), set(bp)),
      seq(get(bp), Ctl.if(seq(get(BIAS), get(r), get(ldb), I32.mul, I32.add, set(bp)))),
      seq(f32(-Infinity), setPair(acc)),
      mapLoop(off, nb, L, pass1),
      seq(across(acc.v, F32.max), get(acc.s), F32.max, setPair(bc)),
      seq(f32(0), setPair(acc)),
      mapLoop(off, nb, L, pass2),
      seq(f32(1), across(acc.v, F32.add), get(acc.s), F32.add, F32.div, setPair(bc)),
      mapLoop(off, nb, L, pass3),
      inc(r, i32(1)),
    ),
  );
  return {
    name: "softmaxRows",
    params,
    results: [],
    body: seq(f.prologue(), main),
    locals: f.locals,
  };
}

/**
 * `softmaxGradRows(ds, p, rows, n, ld, scale)`: per row of `n` (rows `ld` apart),
 * `ds = scale p (ds - sum(ds p))`, in place: the softmax's backward pass.
 */
function softmaxGradRows(): FuncDef {
  const params: ValType[] = ["i32", "i32", "i32", "i32", "i32", "f32"];
  const [DS, P, ROWS, N, LD, SCALE] = [0, 1, 2, 3, 4, 5];
  const f = new Frame(params);
  const [r, off, nb, dp, pp, ldb] = [f.i32(), f.i32(), f.i32(), f.i32(), f.i32(), f.i32()];
  const [scale, acc, bc] = [f.pair(), f.pair(), f.pair()];
  const L = f.lanes();
  const dot = (l: Lanes) =>
    seq(get(l.of(acc)), at(l, dp, off), at(l, pp, off), l.mul, l.add, set(l.of(acc)));
  const grad = (l: Lanes) =>
    put(
      l,
      dp,
      off,
      seq(get(l.of(scale)), at(l, pp, off), l.mul, at(l, dp, off), get(l.of(bc)), l.sub, l.mul),
    );
  const main = seq(
    seq(get(SCALE), setPair(scale)),
    seq(get(N), i32(2), I32.shl, set(nb)),
    seq(get(LD), i32(2), I32.shl, set(ldb)),
    seq(i32(0), set(r)),
    whileLoop(
      seq(get(r), get(ROWS), I32.ltS),
      seq(get(DS), get(r), get(ldb), I32.mul, I32.add, set(dp)),
      seq(get(P), get(r), get(ldb), I32.mul, I32.add, set(pp)),
      seq(f32(0), setPair(acc)),
      mapLoop(off, nb, L, dot),
      seq(across(acc.v, F32.add), get(acc.s), F32.add, setPair(bc)),
      mapLoop(off, nb, L, grad),
      inc(r, i32(1)),
    ),
  );
  return {
    name: "softmaxGradRows",
    params,
    results: [],
    body: seq(f.prologue(), main),
    locals: f.locals,
  };
}

/** `axpy(x, y, n, a)`: y = y + a x over `n` floats. */
function axpy(): FuncDef {
  const params: ValType[] = ["i32", "i32", "i32", "f32"];
  const [X, Y, N, A] = [0, 1, 2, 3];
  const f = new Frame(params);
  const [off, nb] = [f.i32(), f.i32()];
  const a = f.pair();
  const L = f.lanes();
  const body = (l: Lanes) =>
    put(l, Y, off, seq(at(l, Y, off), at(l, X, off), get(l.of(a)), l.mul, l.add));
  const main = seq(
    seq(get(A), setPair(a)),
    seq(get(N), i32(2), I32.shl, set(nb)),
    mapLoop(off, nb, L, body),
  );
  return { name: "axpy", params, results: [], body: seq(f.prologue(), main), locals: f.locals };
}

/** `rowMaxSumExp(x, stats, rows, n)`: stats[2r] = max of row r, stats[2r + 1] = sum exp(x - max). */
function rowMaxSumExp(): FuncDef {
  const params: ValType[] = ["i32", "i32", "i32", "i32"];
  const [X, STATS, ROWS, N] = [0, 1, 2, 3];
  const f = new Frame(params);
  const [r, off, nb, xp] = [f.i32(), f.i32(), f.i32(), f.i32()];
  const [val, acc, bc] = [f.pair(), f.pair(), f.pair()];
  const L = f.lanes();
  const max = (l: Lanes) => seq(get(l.of(acc)), at(l, xp, off), l.max, set(l.of(acc)));
  const sum = (l: Lanes) =>
    seq(
      seq(at(l, xp, off), get(l.of(bc)), l.sub, set(l.of(val))),
      l.exp(val),
      seq(get(l.of(acc)), get(l.of(val)), l.add, set(l.of(acc))),
    );
  const main = seq(
    seq(get(N), i32(2), I32.shl, set(nb)),
    seq(i32(0), set(r)),
    whileLoop(
      seq(get(r), get(ROWS), I32.ltS),
      seq(get(X), get(r), get(nb), I32.mul, I32.add, set(xp)),
      seq(f32(-Infinity), setPair(acc)),
      mapLoop(off, nb, L, max),
      seq(across(acc.v, F32.max), get(acc.s), F32.max, setPair(bc)),
      seq(get(STATS), get(r), i32(3), I32.shl, I32.add, get(bc.s), F32.store()),
      seq(f32(0), setPair(acc)),
      mapLoop(off, nb, L, sum),
      seq(get(STATS), get(r), i32(3), I32.shl, I32.add),
      seq(across(acc.v, F32.add), get(acc.s), F32.add, F32.store(4)),
      inc(r, i32(1)),
    ),
  );
  return {
    name: "rowMaxSumExp",
    params,
    results: [],
    body: seq(f.prologue(), main),
    locals: f.locals,
  };
}

/** `rowExpShift(x, shift, scale, out, rows, n)`: out = exp(x - shift[r]) scale[r], row by row. */
function rowExpShift(): FuncDef {
  const params: ValType[] = ["i32", "i32", "i32", "i32", "i32", "i32"];
  const [X, SHIFT, SCALE, OUT, ROWS, N] = [0, 1, 2, 3, 4, 5];
  const f = new Frame(params);
  const [r, off, nb, xp, op] = [f.i32(), f.i32(), f.i32(), f.i32(), f.i32()];
  const [val, sh, sc] = [f.pair(), f.pair(), f.pair()];
  const L = f.lanes();
  const body = (l: Lanes) =>
    seq(
      seq(at(l, xp, off), get(l.of(sh)), l.sub, set(l.of(val))),
      l.exp(val),
      put(l, op, off, seq(get(l.of(val)), get(l.of(sc)), l.mul)),
    );
  const main = seq(
    seq(get(N), i32(2), I32.shl, set(nb)),
    seq(i32(0), set(r)),
    whileLoop(
      seq(get(r), get(ROWS), I32.ltS),
      seq(get(X), get(r), get(nb), I32.mul, I32.add, set(xp)),
      seq(get(OUT), get(r), get(nb), I32.mul, I32.add, set(op)),
      seq(get(SHIFT), get(r), i32(2), I32.shl, I32.add, F32.load(), setPair(sh)),
      seq(get(SCALE), get(r), i32(2), I32.shl, I32.add, F32.load(), setPair(sc)),
      mapLoop(off, nb, L, body),
      inc(r, i32(1)),
    ),
  );
  return {
    name: "rowExpShift",
    params,
    results: [],
    body: seq(f.prologue(), main),
    locals: f.locals,
  };
}

/** s = 1 / (1 + exp(-g)) into pair `s`, with g loaded into pair `g`. */
function sigmoidOf(l: Lanes, gp: number, off: number, g: Pair, s: Pair): Code {
  return seq(
    seq(at(l, gp, off), set(l.of(g))),
    seq(l.k(0), get(l.of(g)), l.sub, set(l.of(s))),
    l.exp(s),
    seq(l.k(1), l.k(1), get(l.of(s)), l.add, l.div, set(l.of(s))),
  );
}

function swiglu(): FuncDef {
  const params: ValType[] = ["i32", "i32", "i32", "i32"];
  const [G, U, OUT, N] = [0, 1, 2, 3];
  const f = new Frame(params);
  const [off, nb] = [f.i32(), f.i32()];
  const [g, s] = [f.pair(), f.pair()];
  const L = f.lanes();
  const body = (l: Lanes) =>
    seq(
      sigmoidOf(l, G, off, g, s),
      put(l, OUT, off, seq(get(l.of(g)), get(l.of(s)), l.mul, at(l, U, off), l.mul)),
    );
  const main = seq(seq(get(N), i32(2), I32.shl, set(nb)), mapLoop(off, nb, L, body));
  return { name: "swiglu", params, results: [], body: seq(f.prologue(), main), locals: f.locals };
}

function swigluGrad(): FuncDef {
  const params: ValType[] = ["i32", "i32", "i32", "i32", "i32", "i32"];
  const [DY, G, U, DG, DU, N] = [0, 1, 2, 3, 4, 5];
  const f = new Frame(params);
  const [off, nb] = [f.i32(), f.i32()];
  const [g, s, dy] = [f.pair(), f.pair(), f.pair()];
  const L = f.lanes();
  const body = (l: Lanes) =>
    seq(
      sigmoidOf(l, G, off, g, s),
      seq(at(l, DY, off), set(l.of(dy))),
      // du = dy (g s)
      put(l, DU, off, seq(get(l.of(dy)), get(l.of(g)), get(l.of(s)), l.mul, l.mul)),
      // dg = ((dy u) s) (1 + g (1 - s))
      put(
        l,
        DG,
        off,
        seq(
          seq(get(l.of(dy)), at(l, U, off), l.mul, get(l.of(s)), l.mul),
          seq(l.k(1), get(l.of(g)), l.k(1), get(l.of(s)), l.sub, l.mul, l.add),
          l.mul,
        ),
      ),
    );
  const main = seq(seq(get(N), i32(2), I32.shl, set(nb)), mapLoop(off, nb, L, body));
  return {
    name: "swigluGrad",
    params,
    results: [],
    body: seq(f.prologue(), main),
    locals: f.locals,
  };
}

/** The functions of the elementwise module. */
export const ELEMENTWISE_FUNCS: readonly FuncDef[] = [
  softmaxRows(),
  softmaxGradRows(),
  swiglu(),
  swigluGrad(),
  rowMaxSumExp(),
  rowExpShift(),
  axpy(),
];
