/**
 * A minimal WebAssembly encoder: just enough of the binary format (types, one imported memory,
 * functions, exports, the integer/float/SIMD instructions the project's kernels use) to emit
 * the kernels of `simd/` from TypeScript at start-up. No binary is shipped or downloaded: the
 * module is built from this source every time.
 *
 * Instructions are plain byte arrays, so a function body is written as a list of them:
 *
 * @example
 * ```ts
 * const bytes = encodeModule([{
 *   name: "add1", params: ["i32"], results: ["i32"], locals: [],
 *   body: [get(0), i32(1), I32.add],
 * }]);
 * const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
 * ```
 *
 * @module
 */

/** A value type of the functions we emit. */
export type ValType = "i32" | "f32" | "v128";

const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

/** One instruction (or a sequence of them) as bytes. */
export type Code = readonly number[];

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  while (true) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** Flatten instructions into one body. */
export function seq(...parts: (Code | readonly Code[])[]): number[] {
  const out: number[] = [];
  for (const p of parts) {
    if (p.length > 0 && Array.isArray(p[0])) {
      for (const c of p as readonly Code[]) out.push(...c);
    } else out.push(...(p as Code));
  }
  return out;
}

/** `local.get i`. */
export const get = (i: number): Code => [0x20, ...uleb(i)];
/** `local.set i`. */
export const set = (i: number): Code => [0x21, ...uleb(i)];
/** `local.tee i`. */
export const tee = (i: number): Code => [0x22, ...uleb(i)];
/** `i32.const n`. */
export const i32 = (n: number): Code => [0x41, ...sleb(n)];
/** `f32.const x`. */
export function f32(x: number): Code {
  const b = new Uint8Array(new Float32Array([x]).buffer);
  return [0x43, ...b];
}

/** Structured control flow; `br` depths count enclosing blocks from the innermost (0). */
export const Ctl = {
  /** `block` ... `end` (a `br` to it jumps past its end). */
  block: (...body: Code[]): Code => [0x02, 0x40, ...seq(body), 0x0b],
  /** `loop` ... `end` (a `br` to it jumps back to its start). */
  loop: (...body: Code[]): Code => [0x03, 0x40, ...seq(body), 0x0b],
  /** `if` ... `end` on the i32 on the stack. */
  if: (...body: Code[]): Code => [0x04, 0x40, ...seq(body), 0x0b],
  /** `if` ... `else` ... `end`. */
  ifElse: (then: Code[], otherwise: Code[]): Code => [
    0x04,
    0x40,
    ...seq(then),
    0x05,
    ...seq(otherwise),
    0x0b,
  ],
  br: (depth: number): Code => [0x0c, ...uleb(depth)],
  /** `call f` (function index in the module). */
  call: (f: number): Code => [0x10, ...uleb(f)],
  brIf: (depth: number): Code => [0x0d, ...uleb(depth)],
  return: [0x0f] as Code,
  /** `select`: of the two values below the i32 condition, the first when it is non-zero. */
  select: [0x1b] as Code,
} as const;

/** i32 arithmetic and comparisons. */
export const I32 = {
  eqz: [0x45],
  eq: [0x46],
  ne: [0x47],
  ltS: [0x48],
  gtS: [0x4a],
  leS: [0x4c],
  geS: [0x4e],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  divS: [0x6d],
  and: [0x71],
  /** `i32.trunc_sat_f32_s`: the f32 on the stack to the nearest i32 towards zero, saturating. */
  truncSatF32: [0xfc, 0x00],
  shl: [0x74],
  shrS: [0x75],
} as const satisfies Record<string, Code>;

/** Byte memory arguments: alignment exponent and static offset. */
const memarg = (align: number, offset: number) => [...uleb(align), ...uleb(offset)];

/** f32 scalar instructions. */
export const F32 = {
  load: (offset = 0): Code => [0x2a, ...memarg(2, offset)],
  store: (offset = 0): Code => [0x38, ...memarg(2, offset)],
  add: [0x92] as Code,
  sub: [0x93] as Code,
  mul: [0x94] as Code,
  div: [0x95] as Code,
  sqrt: [0x91] as Code,
  min: [0x96] as Code,
  max: [0x97] as Code,
  neg: [0x8c] as Code,
  /** Round to the nearest integer, ties to even. */
  nearest: [0x90] as Code,
  lt: [0x5d] as Code,
  gt: [0x5e] as Code,
  /** The i32 on the stack read as the bits of an f32. */
  fromBits: [0xbe] as Code,
  /** The bits of the f32 on the stack as an i32. */
  toBits: [0xbc] as Code,
} as const;

const simd = (op: number, ...imm: number[]): Code => [0xfd, ...uleb(op), ...imm];

/** 128-bit SIMD instructions (f32x4 lanes). */
export const V128 = {
  /** Unaligned 16-byte load. */
  load: (offset = 0): Code => simd(0x00, ...memarg(0, offset)),
  /** Unaligned 16-byte store. */
  store: (offset = 0): Code => simd(0x0b, ...memarg(0, offset)),
  /** All four lanes zero. */
  zero: simd(0x0c, ...new Array(16).fill(0)),
  splat: simd(0x13),
  extract: (lane: number): Code => simd(0x1f, lane),
  add: simd(0xe4),
  sub: simd(0xe5),
  mul: simd(0xe6),
  div: simd(0xe7),
  min: simd(0xe8),
  max: simd(0xe9),
  neg: simd(0xe1),
  /** Round each lane to the nearest integer, ties to even. */
  nearest: simd(0x6a),
  /** Lane-wise `a < b`: all ones where true. */
  lt: simd(0x43),
  /** Lane-wise `a > b`: all ones where true. */
  gt: simd(0x44),
  /** `a & ~b`. */
  andNot: simd(0x4f),
  /** f32 lanes to i32 lanes, towards zero, saturating. */
  truncSat: simd(0xf8),
  /** i32 lanes: add. */
  addI32: simd(0xae),
  /** i32 lanes: shift left by the i32 on the stack. */
  shlI32: simd(0xab),
  /** An i32 into all four i32 lanes. */
  splatI32: simd(0x11),
  /**
   * Relaxed SIMD `f32x4.relaxed_madd a b c` = a b + c, fused where the CPU has FMA (then with one
   * rounding). The same machine always gives the same bits.
   */
  madd: simd(0x105),
} as const;

/** One function of a module. */
export interface FuncDef {
  /** Export name. */
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  /** Extra locals after the parameters, in order. */
  readonly locals: readonly ValType[];
  readonly body: Code;
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...uleb(b.length), ...b];
}

/** The memory a module imports: any plain memory, or a shared one of at most `maxPages`. */
export type MemoryImport = { readonly shared: false } | {
  readonly shared: true;
  readonly maxPages: number;
};

/** Largest wasm32 memory in 64 KiB pages (4 GiB). */
export const WASM32_MAX_PAGES = 65536;

/** The import that matches `memory`: shared (any size up to 4 GiB) when its buffer is shared. */
export function memoryImportOf(memory: WebAssembly.Memory): MemoryImport {
  return typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer
    ? { shared: true, maxPages: WASM32_MAX_PAGES }
    : { shared: false };
}

/**
 * Encode a module that imports its memory as `env.memory` (any size) and exports `funcs`.
 */
export function encodeModule(
  funcs: readonly FuncDef[],
  memory: MemoryImport = { shared: false },
): Uint8Array<ArrayBuffer> {
  const types = funcs.map((f) => [
    0x60,
    ...vec(f.params.map((t) => [VALTYPE[t]])),
    ...vec(f.results.map((t) => [VALTYPE[t]])),
  ]);
  const limits = memory.shared ? [0x03, 0x00, ...uleb(memory.maxPages)] : [0x00, 0x00];
  const imports = [[...name("env"), ...name("memory"), 0x02, ...limits]];
  const bodies = funcs.map((f) => {
    const groups: number[][] = [];
    for (const t of f.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === VALTYPE[t]) last[0]!++;
      else groups.push([1, VALTYPE[t]]);
    }
    const body = [
      ...vec(groups.map(([n, t]) => [...uleb(n!), t!])),
      ...f.body,
      0x0b,
    ];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(7, vec(funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(bodies)),
  ]);
}
