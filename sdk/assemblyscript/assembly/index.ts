// The Verdict AssemblyScript SDK (ABI v1, abi/SPEC.md).
//
// A policy's entry file imports this module, re-exports the ABI functions and
// registers its Policy:
//
//   import { Policy, Principal, Item, Decision, register, abstain } from "<sdk>/assembly";
//   export * from "<sdk>/assembly/exports";
//   class MyPolicy extends Policy { ... }
//   register(new MyPolicy());
//
// and is built with (no env.abort import; the incremental runtime frees memory):
//
//   asc index.ts -O3 --runtime incremental --use abort=<sdk>/assembly/abort/verdictAbort
export * from "./json";
export * from "./policy";
export { register } from "./runner";
export { LogLevel, log, verdictAbort } from "./abort";
