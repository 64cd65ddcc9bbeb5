/**
 * Safetensors reading (F32, F16, BF16 to float32, validated) and writing (F32), guarded reads
 * (regular files under a size cap), atomic file writes, file operations as Effects with typed
 * failures, and the one SHA-256 helper.
 *
 * @example
 * ```ts
 * import { parseSafetensors, serializeSafetensors } from "./src/io/mod.ts";
 * const bytes = serializeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } });
 * console.log(parseSafetensors(bytes).tensors.get("w")?.data); // Float32Array [1, 2]
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./safetensors.ts";
export { writeFileAtomic } from "./atomic.ts";
export * from "./read.ts";
export * from "./fs.ts";
export * from "./hash.ts";
