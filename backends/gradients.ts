/**
 * Gradients for the kernels the decoder, its loss and LoRA use. The tfjs-core build that Deno
 * loads registers no gradients (the `@tensorflow/tfjs` umbrella package normally does), so
 * `tf.grad` / `tf.variableGrads` would fail with "gradient function not found". Each rule
 * here is the textbook derivative; a kernel that already has a gradient is left alone.
 * Registering gradients starts no backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

type T = tf.Tensor;
type Attrs = Record<string, unknown>;
type GradFn = (dy: T | T[], saved: T[], attrs: Attrs) => Record<string, () => T>;

/** Sum `g` down to `shape` over the axes broadcasting expanded. */
function unbroadcast(g: T, shape: readonly number[]): T {
  if (g.shape.join(",") === shape.join(",")) return g;
  const axes = tf.backend_util.getReductionAxes(shape as number[], g.shape); // axes of g
  return tf.reshape(axes.length ? tf.sum(g, axes) : g, shape as number[]);
}

/** dy broadcast back over the reduced axes of x (for Sum / Mean). */
function expandReduced(dy: T, x: T, axisAttr: unknown): T {
  const axes = tf.util.parseAxisParam(axisAttr as number | number[], x.shape);
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return tf.mul(tf.reshape(dy, kept), tf.ones(x.shape));
}

const one = (dy: T | T[]): T => dy as T;

function reg(
  kernelName: string,
  gradFunc: GradFn,
  save: { inputs?: string[]; outputs?: boolean[]; all?: boolean } = {},
): void {
  if (tf.getGradient(kernelName)) return;
  tf.registerGradient({
    kernelName,
    ...(save.inputs ? { inputsToSave: save.inputs } : {}),
    ...(save.outputs ? { outputsToSave: save.outputs } : {}),
    ...(save.all ? { saveAllInputs: true } : {}),
    gradFunc: gradFunc as tf.GradFunc,
  });
}

function binary(
  name: string,
  da: (dy: T, a: T, b: T) => T,
  db: (dy: T, a: T, b: T) => T,
): void {
  reg(name, (dy, [a, b]) => ({
    a: () => unbroadcast(da(one(dy), a!, b!), a!.shape),
    b: () => unbroadcast(db(one(dy), a!, b!), b!.shape),
  }), { inputs: ["a", "b"] });
}

function unaryX(name: string, dx: (dy: T, x: T) => T): void {
  reg(name, (dy, [x]) => ({ x: () => dx(one(dy), x!) }), { inputs: ["x"] });
}

function unaryY(name: string, dx: (dy: T, y: T) => T): void {
  reg(name, (dy, [y]) => ({ x: () => dx(one(dy), y!) }), { outputs: [true] });
}

/** Register the gradients (idempotent). Called once when the model module loads. */
export function registerModelGradients(): void {
  const f = (x: T) => tf.cast(x, "float32");
  binary("Add", (dy) => dy, (dy) => dy);
  binary("Sub", (dy) => dy, (dy) => tf.neg(dy));
  binary("Multiply", (dy, _a, b) => tf.mul(dy, f(b)), (dy, a) => tf.mul(dy, f(a)));
  binary(
    "RealDiv",
    (dy, _a, b) => tf.div(dy, f(b)),
    (dy, a, b) => tf.neg(tf.div(tf.mul(dy, f(a)), tf.square(f(b)))),
  );
  binary(
    "Maximum",
    (dy, a, b) => tf.mul(dy, f(tf.greaterEqual(a, b))),
    (dy, a, b) => tf.mul(dy, f(tf.less(a, b))),
  );
  binary(
    "Minimum",
    (dy, a, b) => tf.mul(dy, f(tf.lessEqual(a, b))),
    (dy, a, b) => tf.mul(dy, f(tf.greater(a, b))),
  );
  binary(
    "SquaredDifference",
    (dy, a, b) => tf.mul(dy, tf.mul(2, tf.sub(a, b))),
    (dy, a, b) => tf.mul(dy, tf.mul(2, tf.sub(b, a))),
  );
  unaryX("Neg", (dy) => tf.neg(dy));
  unaryX("Square", (dy, x) => tf.mul(dy, tf.mul(2, f(x))));
  unaryX("Log", (dy, x) => tf.div(dy, f(x)));
  unaryX("Abs", (dy, x) => tf.mul(dy, tf.sign(f(x))));
  unaryX("Relu", (dy, x) => tf.mul(dy, f(tf.greater(x, 0))));
  unaryX("Identity", (dy) => dy);
  unaryX("Cast", (dy) => dy);
  unaryY("Exp", (dy, y) => tf.mul(dy, y));
  unaryY("Sqrt", (dy, y) => tf.div(dy, tf.mul(2, y)));
  unaryY("Rsqrt", (dy, y) => tf.mul(dy, tf.mul(-0.5, tf.pow(y, 3))));
  unaryY("Sigmoid", (dy, y) => tf.mul(dy, tf.mul(y, tf.sub(1, y))));
  unaryY("Tanh", (dy, y) => tf.mul(dy, tf.sub(1, tf.square(y))));
  reg("ClipByValue", (dy, [x], attrs) => ({
    x: () => {
      const inside = tf.logicalAnd(
        tf.greaterEqual(x!, attrs.clipValueMin as number),
        tf.lessEqual(x!, attrs.clipValueMax as number),
      );
      return tf.mul(one(dy), f(inside));
    },
  }), { inputs: ["x"] });
  reg("Reshape", (dy, [x]) => ({ x: () => tf.reshape(one(dy), x!.shape) }), { inputs: ["x"] });
  reg("ExpandDims", (dy, [x]) => ({ input: () => tf.reshape(one(dy), x!.shape) }), {
    inputs: ["input"],
  });
  reg("Transpose", (dy, _s, attrs) => {
    const perm = attrs.perm as number[];
    const inv = perm.map((_, i) => perm.indexOf(i));
    return { x: () => tf.transpose(one(dy), inv) };
  });
  reg("Sum", (dy, [x], attrs) => ({ x: () => expandReduced(one(dy), x!, attrs.axis) }), {
    inputs: ["x"],
  });
  reg("Mean", (dy, [x], attrs) => ({
    x: () => {
      const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x!.shape);
      const n = axes.reduce((p, a) => p * x!.shape[a]!, 1);
      return tf.div(expandReduced(one(dy), x!, attrs.axis), n);
    },
  }), { inputs: ["x"] });
  reg("Softmax", (dy, [y], attrs) => ({
    logits: () => {
      const d = one(dy);
      const dim = attrs.dim as number;
      return tf.mul(y!, tf.sub(d, tf.sum(tf.mul(d, y!), dim, true)));
    },
  }), { outputs: [true] });
  reg("BatchMatMul", (dy, [a, b], attrs) => {
    const d = one(dy);
    const tA = attrs.transposeA as boolean;
    const tB = attrs.transposeB as boolean;
    const mm = (x: T, y: T, tx: boolean, ty: boolean) => tf.matMul(x, y, tx, ty);
    const ga = () =>
      !tA
        ? (tB ? mm(d, b!, false, false) : mm(d, b!, false, true))
        : (tB ? mm(b!, d, true, true) : mm(b!, d, false, true));
    const gb = () =>
      !tB
        ? (tA ? mm(a!, d, false, false) : mm(a!, d, true, false))
        : (tA ? mm(d, a!, true, true) : mm(d, a!, true, false));
    return { a: () => unbroadcast(ga(), a!.shape), b: () => unbroadcast(gb(), b!.shape) };
  }, { inputs: ["a", "b"] });
  reg("Concat", (dy, saved, attrs) => {
    const axis = tf.util.parseAxisParam(attrs.axis as number, saved[0]!.shape)[0]!;
    const parts = tf.split(one(dy), saved.map((t) => t.shape[axis]!), axis);
    return Object.fromEntries(parts.map((p, i) => [String(i), () => p]));
  }, { all: true });
  reg("AddN", (dy, saved) => Object.fromEntries(saved.map((_, i) => [String(i), () => one(dy)])), {
    all: true,
  });
  reg("SplitV", (dy, [x], attrs) => ({
    x: () => {
      const axis = tf.util.parseAxisParam(attrs.axis as number, x!.shape)[0]!;
      const sizesAttr = attrs.numOrSizeSplits as number | number[];
      const known = typeof sizesAttr === "number"
        ? 0
        : sizesAttr.reduce((p, q) => p + (q === -1 ? 0 : q), 0);
      const sizes = typeof sizesAttr === "number"
        ? Array(sizesAttr).fill(x!.shape[axis]! / sizesAttr)
        : sizesAttr.map((q) => (q === -1 ? x!.shape[axis]! - known : q));
      const parts = (dy as (T | null)[]).map((g, i) => {
        if (g) return g;
        const shape = [...x!.shape];
        shape[axis] = sizes[i]!;
        return tf.zeros(shape);
      });
      return tf.concat(parts, axis);
    },
  }), { inputs: ["x"] });
  reg("Slice", (dy, [x], attrs) => ({
    x: () => {
      const d = one(dy);
      const begin = attrs.begin as number | number[];
      const b = typeof begin === "number" ? x!.shape.map((_, i) => (i === 0 ? begin : 0)) : begin;
      const pads = x!.shape.map((s, i) =>
        [b[i] ?? 0, s - (b[i] ?? 0) - d.shape[i]!] as [number, number]
      );
      return tf.pad(d, pads);
    },
  }), { inputs: ["x"] });
  reg("Tile", (dy, [x], attrs) => ({
    x: () => {
      // split each tiled dim into [reps, size] (dropping 1s to keep the rank low) and sum reps
      const reps = attrs.reps as number[];
      const inter: number[] = [];
      const axes: number[] = [];
      x!.shape.forEach((s, i) => {
        const r = reps[i]!;
        if (r !== 1) {
          axes.push(inter.length);
          inter.push(r);
        }
        if (r === 1 || s !== 1) inter.push(s);
      });
      if (axes.length === 0) return one(dy);
      return tf.reshape(tf.sum(tf.reshape(one(dy), inter), axes), x!.shape);
    },
  }), { inputs: ["x"] });
  reg("Select", (dy, [c]) => ({
    condition: () => tf.zerosLike(c!),
    t: () => tf.where(c as tf.Tensor, one(dy), tf.zerosLike(one(dy))),
    e: () => tf.where(c as tf.Tensor, tf.zerosLike(one(dy)), one(dy)),
  }), { inputs: ["condition"] });
  reg("GatherV2", (dy, [x, indices], attrs) => ({
    x: () => {
      if ((attrs.axis as number) !== 0 || ((attrs.batchDims as number) ?? 0) !== 0) {
        throw new Error("gradient of gather is implemented for axis 0 without batch dims only");
      }
      const flatIdx = tf.reshape(indices!, [-1]);
      const flatDy = tf.reshape(one(dy), [flatIdx.shape[0]!, ...x!.shape.slice(1)]);
      // Scatter-add (duplicates summed): ScatterNd exists on every backend, wasm included,
      // while UnsortedSegmentSum does not.
      const at = tf.reshape(tf.cast(flatIdx, "int32"), [-1, 1]); // [N, 1]
      return tf.scatterND(at, flatDy, x!.shape);
    },
    indices: () => tf.zerosLike(indices!),
  }), { inputs: ["x", "indices"] });
}

registerModelGradients();
