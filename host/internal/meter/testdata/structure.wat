;; structure.wat: control flow, label depths and immediates that the rewrite
;; must leave intact. Each export is called with the same arguments before and
;; after instrumenting, and must give the same results.
;; Build: wat2wasm structure.wat -o structure.wasm
(module
  (type $pair (func (param i32) (result i32 i32)))
  (memory (export "memory") 1 4)
  (table $t 2 8 funcref)
  (elem (i32.const 0) $double $inc)
  (global $g (mut i32) (i32.const 7))
  (data $d "0123456789abcdef")
  (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))

  ;; Three units: i32.const, i32.const, i32.add (end is free).
  (func (export "three") (result i32) (i32.add (i32.const 1) (i32.const 2)))

  ;; Nested loops with br and br_if to outer labels: sum of i*j for i, j < n.
  (func (export "nested") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $acc i32)
    (block $out
      (loop $outer
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $j (i32.const 0))
        (block $inner_done
          (loop $inner
            (br_if $inner_done (i32.ge_u (local.get $j) (local.get $n)))
            (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (local.get $j))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            ;; leave both loops early when the sum passes 1000
            (br_if $out (i32.gt_u (local.get $acc) (i32.const 1000)))
            (br $inner)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (local.get $acc))

  ;; br_table from inside a loop to labels at several depths.
  (func (export "table") (param $x i32) (result i32)
    (local $k i32)
    (block $b3 (result i32)
      (block $b2
        (block $b1
          (loop $l
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br_table $l $b1 $b2 $b1
              (i32.rem_u (i32.add (local.get $x) (local.get $k)) (i32.const 4)))))
        (br $b3 (i32.add (local.get $k) (i32.const 100))))
      (i32.add (local.get $k) (i32.const 200))))

  ;; A loop with an i32 result, and if/else inside the loop (Collatz steps).
  (func (export "collatz") (param $n i32) (result i32)
    (local $steps i32)
    (loop $l (result i32)
      (if (i32.le_u (local.get $n) (i32.const 1))
        (then (return (local.get $steps))))
      (if (i32.and (local.get $n) (i32.const 1))
        (then (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 3)) (i32.const 1))))
        (else (local.set $n (i32.shr_u (local.get $n) (i32.const 1)))))
      (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
      (br $l)))

  ;; Multi-value: a loop typed by index, with a param and two results.
  (func (export "multi") (param $n i32) (result i32)
    (local $a i32)
    (local.get $n)
    (loop $l (type $pair)
      (local.set $a)
      (if (i32.gt_u (local.get $a) (i32.const 10))
        (then (br $l (i32.sub (local.get $a) (i32.const 3)))))
      (local.get $a) (i32.const 5))
    (i32.add))

  ;; Many locals of several types; the rewrite appends a scratch local.
  (func (export "locals") (param $p i32) (result i64)
    (local i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (local $x i64) (local f32 f64 v128) (local $y i64)
    (local.set 10 (local.get $p))
    (local.set $x (i64.extend_i32_u (local.get 10)))
    (local.set $y (i64.mul (local.get $x) (i64.const 3)))
    (memory.fill (i32.const 0) (i32.const 9) (local.get $p))
    (i64.add (local.get $y) (i64.load8_u (i32.const 0))))

  ;; Bulk memory, memory.grow, tables, globals, typed select, sign extension,
  ;; saturating truncation and SIMD.
  (func (export "misc") (param $p i32) (result i32)
    (local $v v128)
    (memory.init $d (i32.const 100) (i32.const 0) (i32.const 16))
    (memory.copy (i32.const 200) (i32.const 100) (local.get $p))
    (drop (memory.grow (i32.const 1)))
    (global.set $g (i32.add (global.get $g) (memory.size)))
    (drop (table.grow $t (ref.null func) (i32.const 1)))
    (table.fill $t (i32.const 2) (ref.null func) (i32.const 1))
    (local.set $v (v128.load offset=200 align=1 (i32.const 0)))
    (local.set $v (i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0 (local.get $v) (local.get $v)))
    (local.set $v (i32x4.replace_lane 1 (local.get $v) (i32.const 42)))
    (v128.store offset=300 (i32.const 0) (i32x4.add (local.get $v) (v128.const i32x4 1 2 3 4)))
    (i32.add
      (i32.add
        (call_indirect (type 1) (i32.const 5) (i32.const 0))
        (select (result i32) (i32x4.extract_lane 1 (local.get $v)) (i32.const 0) (local.get $p)))
      (i32.add
        (i32.add (i32.extend8_s (i32.const 0xff)) (i32.trunc_sat_f32_s (f32.const 1e30)))
        (i32.add (global.get $g) (i32.load8_u offset=310 (i32.const 0))))))
)
