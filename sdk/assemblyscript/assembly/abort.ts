// The host's log, and the abort that replaces AssemblyScript's env.abort
// import. This file allocates nothing at start: the runtime itself depends on
// abort, so its start code runs before the garbage collector is set up.

// @ts-ignore: decorator
@external("verdict:host/v1", "log")
declare function hostLog(level: i32, ptr: usize, len: usize): void;

/** LogLevel is the level of a log line. */
export enum LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 }

/** log writes msg to the host's log. */
export function log(level: LogLevel, msg: string): void {
  const b = String.UTF8.encode(msg);
  hostLog(level, changetype<usize>(b), b.byteLength);
}

/**
 * verdictAbort replaces AssemblyScript's env.abort import (build with
 * --use abort=<sdk>/assembly/abort/verdictAbort): it logs the message and
 * traps, so the host denies the batch and throws the instance away.
 */
export function verdictAbort(message: string | null = null, fileName: string | null = null, line: u32 = 0, column: u32 = 0): void {
  let m = "abort";
  if (message != null) m += ": " + message;
  if (fileName != null) m += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  log(LogLevel.Error, m);
  unreachable();
}
