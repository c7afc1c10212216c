// The ABI v1 exports. A policy's entry file re-exports them:
//   export * from "<sdk>/assembly/exports";
import { configure, describe, evaluate } from "./runner";

/** verdict_abi_v1 is the marker: this module speaks ABI v1. Never called. */
export function verdict_abi_v1(): void {}

/** verdict_alloc returns size bytes the host may fill (0 above 256 MiB). */
export function verdict_alloc(size: u32): usize {
  if (size > (256 << 20)) return 0;
  return heap.alloc(size == 0 ? 1 : size);
}

/** verdict_free gives back a buffer from verdict_alloc. */
export function verdict_free(ptr: usize, size: u32): void {
  heap.free(ptr);
}

/** verdict_evaluate decides a batch: JSON in, packed JSON out. */
export function verdict_evaluate(ptr: usize, len: u32): u64 { return evaluate(ptr, len); }

/** verdict_describe returns the module's name, version, SDK and claims. */
export function verdict_describe(): u64 { return describe(); }

/** verdict_configure receives the settings envelope once at load. */
export function verdict_configure(ptr: usize, len: u32): u64 { return configure(ptr, len); }
