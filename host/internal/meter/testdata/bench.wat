;; bench.wat: workloads for the meter's benchmarks and calibration.
;; Build: wat2wasm bench.wat -o bench.wasm
(module
  ;; sum(n): 1 + 2 + ... + n in a tight loop (loop-heavy).
  (func (export "sum") (param $n i64) (result i64)
    (local $acc i64)
    (block $done
      (loop $next
        (br_if $done (i64.eqz (local.get $n)))
        (local.set $acc (i64.add (local.get $acc) (local.get $n)))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $next)))
    (local.get $acc))
  ;; fib(n) by loop-free recursion (call-heavy).
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add
        (call $fib (i32.sub (local.get $n) (i32.const 1)))
        (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  ;; spin(): loop br 0, the cheapest possible runaway.
  (func (export "spin")
    (loop $forever (br $forever)))
)
