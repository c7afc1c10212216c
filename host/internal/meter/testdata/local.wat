;; local.wat: functions with a loop, which keep the fuel in a local: every
;; way out of them (final end, return, br, br_if and br_table to the
;; function's label, a trap test) and every call must store it.
;; Build: wat2wasm local.wat -o local.wasm
(module
  ;; Each iteration runs at least 10 instructions; the function leaves
  ;; with br_if to its own label when $n reaches 0.
  (func (export "exit_br_if") (param $n i32) (result i32)
    (loop $l
      (br_if 1 (i32.const 7) (i32.eqz (local.get $n)))
      (drop)
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l))
    (i32.const 0))
  ;; The same, leaving with return.
  (func (export "exit_return") (param $n i32) (result i32)
    (loop $l
      (if (i32.eqz (local.get $n)) (then (return (i32.const 7))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (nop) (nop) (nop)
      (local.set $n (i32.add (local.get $n) (i32.const 0)))
      (br $l))
    (i32.const 0))
  ;; The same, leaving with br_table (default: the function's label).
  (func (export "exit_br_table") (param $n i32) (result i32)
    (loop $l
      (block $continue (result i32)
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (i32.const 7)
        (br_table $continue 2 (i32.eqz (local.get $n))))
      (drop)
      (br $l))
    (i32.const 0))
  ;; The same, leaving through the final end (br_if out of a block).
  (func (export "exit_end") (param $n i32) (result i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (local.set $n (i32.add (local.get $n) (i32.const 0)))
        (local.set $n (i32.add (local.get $n) (i32.const 0)))
        (br $l)))
    (i32.const 7))
  ;; $costly is exported, so it pays for itself: at least 10 units a call.
  (func $costly (export "costly") (param i32) (result i32)
    (i32.add (i32.add (i32.add (i32.add (i32.add (local.get 0)
      (i32.const 1)) (i32.const 2)) (i32.const 3)) (i32.const 4)) (i32.const 5)))
  ;; Calls $costly $n times from a loop: the loop's local must take in
  ;; what each call spent.
  (func (export "calls_in_loop") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (call $costly (local.get $acc)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $acc))
)
