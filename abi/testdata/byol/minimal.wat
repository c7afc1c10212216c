;; minimal.wat: the smallest useful Verdict policy module (ABI v1), written by
;; hand, to show authors of other languages exactly what a module exports.
;; abi/SPEC.md "Bring your own language" explains it.
;;
;;   wat2wasm minimal.wat -o minimal.wasm      (make sdks: build/abi/byol/minimal.wasm)
;;
;; It claims every permission ("*") and answers ABSTAIN for every item, so it
;; never changes a decision. To answer, it must still read the input as JSON:
;; it walks the request structurally (strings with their escapes, nested
;; objects and arrays, any whitespace, any key order, unknown fields) to find
;; each item's "id" and echoes that string token byte for byte, which keeps
;; its exact value whatever escapes it holds. Its shortcuts, which a real
;; policy must not take: keys are compared as raw bytes (a key spelled with
;; escapes, which the host never sends, is not recognised) and input that is
;; not JSON is not fully validated (it returns 0, a failure, when it gets
;; lost). The host runs every input of the conformance corpus through it
;; (host/guests_test.go, TestShippedModulesAnswerEveryItem). conformance.wat
;; beside it is a complete policy without those shortcuts: it passes the
;; corpus.
(module
  ;; Imports: none. A module may import any function of
  ;; wasi_snapshot_preview1 and "log" from "verdict:host/v1", nothing else.

  ;; memory: exported as "memory"; the minimum must fit the host's limit
  ;; (32 MiB by default). Page 0 holds the constant texts; buffers start at
  ;; page 1.
  (memory (export "memory") 2)

  ;; The describe answer (abi/SPEC.md §9) and the pieces of the answers.
  (data (i32.const 0) "{\"abi\":\"1.0\",\"name\":\"byol-minimal\",\"version\":\"1.0.0\",\"sdk\":\"wat\",\"claims\":[\"*\"]}")
  (global $describe_len i32 (i32.const 80))
  (data (i32.const 128) "{\"items\":[")            ;; 10 bytes
  (data (i32.const 144) "{\"id\":")                ;; 6 bytes
  (data (i32.const 160) ",\"result\":\"ABSTAIN\"}") ;; 20 bytes
  (data (i32.const 192) "items")                   ;; 5 bytes
  (data (i32.const 200) "id")                      ;; 2 bytes

  ;; $top: the end of the buffers given to the host. verdict_alloc takes
  ;; from $top; verdict_free of the last buffer gives it back. The host
  ;; keeps one input buffer per instance, so this does not grow per call.
  (global $top (mut i32) (i32.const 65536))
  ;; $out: where the current answer is written (above $top).
  (global $out (mut i32) (i32.const 0))

  ;; The marker: its presence says "ABI v1". The host never calls it.
  (func (export "verdict_abi_v1"))

  ;; ensure grows memory so that [0, end) is addressable; 0 on failure.
  (func $ensure (param $end i32) (result i32)
    (local $have i32)
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.le_u (local.get $end) (local.get $have)) (then (return (i32.const 1))))
    (i32.ne
      (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535))
                              (i32.const 16)))
      (i32.const -1)))

  ;; verdict_alloc(size) -> ptr, or 0 when it cannot.
  (func (export "verdict_alloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $top))
    (if (i32.gt_u (local.get $size) (i32.const 0x10000000)) (then (return (i32.const 0))))
    (if (i32.eqz (call $ensure (i32.add (local.get $p) (local.get $size)))) (then (return (i32.const 0))))
    (global.set $top (i32.add (local.get $p) (local.get $size)))
    (local.get $p))

  ;; verdict_free(ptr, size): gives back the last buffer; others are kept.
  (func (export "verdict_free") (param $p i32) (param $size i32)
    (if (i32.eq (i32.add (local.get $p) (local.get $size)) (global.get $top))
      (then (global.set $top (local.get $p)))))

  ;; verdict_describe() -> packed (ptr << 32 | len) of the description.
  (func (export "verdict_describe") (result i64)
    (i64.extend_i32_u (global.get $describe_len)))  ;; ptr 0, so only the length

  ;; ---- a structural JSON walker --------------------------------------------

  ;; ws skips JSON whitespace (space, tab, LF, CR) from $p up to $end.
  (func $ws (param $p i32) (param $end i32) (result i32)
    (local $c i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $p)))
        (br_if $done (i32.eqz (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x20))
                                              (i32.eq (local.get $c) (i32.const 0x09)))
                                      (i32.or (i32.eq (local.get $c) (i32.const 0x0a))
                                              (i32.eq (local.get $c) (i32.const 0x0d))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $p))

  ;; string skips the string whose opening quote is at $p; it returns the
  ;; position after the closing quote, or 0 when the input ends first.
  (func $string (param $p i32) (param $end i32) (result i32)
    (local $c i32)
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (loop $next
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const 0))))
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.eq (local.get $c) (i32.const 0x22))             ;; "
        (then (return (i32.add (local.get $p) (i32.const 1)))))
      ;; a backslash escapes the next byte (\" and \\ included)
      (local.set $p (i32.add (local.get $p)
        (select (i32.const 2) (i32.const 1) (i32.eq (local.get $c) (i32.const 0x5c)))))
      (br $next))
    (i32.const 0))

  ;; value skips one JSON value at $p (after whitespace); 0 when lost.
  (func $value (param $p i32) (param $end i32) (result i32)
    (local $c i32) (local $depth i32)
    (local.set $p (call $ws (local.get $p) (local.get $end)))
    (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const 0))))
    (local.set $c (i32.load8_u (local.get $p)))
    (if (i32.eq (local.get $c) (i32.const 0x22))
      (then (return (call $string (local.get $p) (local.get $end)))))
    (if (i32.or (i32.eq (local.get $c) (i32.const 0x7b)) (i32.eq (local.get $c) (i32.const 0x5b)))
      (then
        ;; an object or array: count brackets, skipping strings whole
        (loop $next
          (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const 0))))
          (local.set $c (i32.load8_u (local.get $p)))
          (if (i32.eq (local.get $c) (i32.const 0x22))
            (then
              (local.set $p (call $string (local.get $p) (local.get $end)))
              (if (i32.eqz (local.get $p)) (then (return (i32.const 0))))
              (br $next)))
          (if (i32.or (i32.eq (local.get $c) (i32.const 0x7b)) (i32.eq (local.get $c) (i32.const 0x5b)))
            (then (local.set $depth (i32.add (local.get $depth) (i32.const 1)))))
          (if (i32.or (i32.eq (local.get $c) (i32.const 0x7d)) (i32.eq (local.get $c) (i32.const 0x5d)))
            (then (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br_if $next (i32.ne (local.get $depth) (i32.const 0))))
        (return (local.get $p))))
    ;; a number, true, false or null: up to the next delimiter
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $p)))
        (br_if $done (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x2c)) (i32.eq (local.get $c) (i32.const 0x7d)))
                             (i32.or (i32.eq (local.get $c) (i32.const 0x5d)) (i32.le_u (local.get $c) (i32.const 0x20)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $p))

  ;; key_is reports whether the string token [$s, $e) (quotes included) is
  ;; exactly the $n bytes at $lit.
  (func $key_is (param $s i32) (param $e i32) (param $lit i32) (param $n i32) (result i32)
    (local $i i32)
    (if (i32.ne (i32.sub (local.get $e) (local.get $s)) (i32.add (local.get $n) (i32.const 2)))
      (then (return (i32.const 0))))
    (block $differ
      (loop $next
        (if (i32.ge_u (local.get $i) (local.get $n)) (then (return (i32.const 1))))
        (br_if $differ (i32.ne (i32.load8_u (i32.add (local.get $s) (i32.add (local.get $i) (i32.const 1))))
                               (i32.load8_u (i32.add (local.get $lit) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  ;; emit copies $n bytes from $src to the answer at $w; returns the new $w.
  (func $emit (param $w i32) (param $src i32) (param $n i32) (result i32)
    (memory.copy (local.get $w) (local.get $src) (local.get $n))
    (i32.add (local.get $w) (local.get $n)))

  ;; item reads one item object at $p and writes its answer at global $w;
  ;; it returns the position after the item, or 0 when lost.
  (global $w (mut i32) (i32.const 0))
  (func $item (param $p i32) (param $end i32) (result i32)
    (local $ks i32) (local $ke i32) (local $ids i32) (local $ide i32)
    (local.set $p (call $ws (local.get $p) (local.get $end)))
    (if (i32.or (i32.ge_u (local.get $p) (local.get $end))
                (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x7b)))
      (then (return (i32.const 0))))
    (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $end)))
    (if (i32.and (i32.lt_u (local.get $p) (local.get $end)) (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x7d)))
      (then (return (i32.const 0))))  ;; {} has no id
    (loop $member
      ;; "key" : value
      (local.set $ks (local.get $p))
      (if (i32.or (i32.ge_u (local.get $p) (local.get $end)) (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x22)))
        (then (return (i32.const 0))))
      (local.set $ke (call $string (local.get $p) (local.get $end)))
      (if (i32.eqz (local.get $ke)) (then (return (i32.const 0))))
      (local.set $p (call $ws (local.get $ke) (local.get $end)))
      (if (i32.or (i32.ge_u (local.get $p) (local.get $end)) (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x3a)))
        (then (return (i32.const 0))))
      (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $end)))
      (if (call $key_is (local.get $ks) (local.get $ke) (i32.const 200) (i32.const 2))
        (then
          (local.set $ids (local.get $p))
          (if (i32.or (i32.ge_u (local.get $p) (local.get $end)) (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x22)))
            (then (return (i32.const 0))))))
      (local.set $p (call $value (local.get $p) (local.get $end)))
      (if (i32.eqz (local.get $p)) (then (return (i32.const 0))))
      (if (local.get $ids) (then (if (i32.eqz (local.get $ide)) (then (local.set $ide (local.get $p))))))
      (local.set $p (call $ws (local.get $p) (local.get $end)))
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const 0))))
      (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x2c))
        (then
          (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $end)))
          (br $member))))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x7d)) (then (return (i32.const 0))))
    (if (i32.eqz (local.get $ids)) (then (return (i32.const 0))))
    ;; {"id":<the id token as it came>,"result":"ABSTAIN"}
    (global.set $w (call $emit (global.get $w) (i32.const 144) (i32.const 6)))
    (global.set $w (call $emit (global.get $w) (local.get $ids) (i32.sub (local.get $ide) (local.get $ids))))
    (global.set $w (call $emit (global.get $w) (i32.const 160) (i32.const 20)))
    (i32.add (local.get $p) (i32.const 1)))

  ;; verdict_evaluate(ptr, len) -> packed answer, or 0 when the input is not
  ;; a request it can read.
  (func (export "verdict_evaluate") (param $ptr i32) (param $len i32) (result i64)
    (local $p i32) (local $end i32) (local $ks i32) (local $ke i32) (local $n i32) (local $found i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    ;; Room for the answer: an answer is at most 26 bytes longer than the
    ;; item's id token, and every item takes at least 9 input bytes.
    (global.set $out (global.get $top))
    (if (i32.eqz (call $ensure (i32.add (global.get $out) (i32.add (i32.mul (local.get $len) (i32.const 4)) (i32.const 64)))))
      (then (return (i64.const 0))))
    (global.set $w (call $emit (global.get $out) (i32.const 128) (i32.const 10)))
    (local.set $p (call $ws (local.get $ptr) (local.get $end)))
    (if (i32.or (i32.ge_u (local.get $p) (local.get $end)) (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x7b)))
      (then (return (i64.const 0))))
    (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $end)))
    (loop $member
      (local.set $ks (local.get $p))
      (if (i32.or (i32.ge_u (local.get $p) (local.get $end)) (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x22)))
        (then (return (i64.const 0))))
      (local.set $ke (call $string (local.get $p) (local.get $end)))
      (if (i32.eqz (local.get $ke)) (then (return (i64.const 0))))
      (local.set $p (call $ws (local.get $ke) (local.get $end)))
      (if (i32.or (i32.ge_u (local.get $p) (local.get $end)) (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x3a)))
        (then (return (i64.const 0))))
      (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $end)))
      (if (call $key_is (local.get $ks) (local.get $ke) (i32.const 192) (i32.const 5))
        (then
          ;; "items": [ item, item, ... ]
          (local.set $found (i32.const 1))
          (if (i32.or (i32.ge_u (local.get $p) (local.get $end)) (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x5b)))
            (then (return (i64.const 0))))
          (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $end)))
          (if (i32.and (i32.lt_u (local.get $p) (local.get $end)) (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x5d)))
            (then (local.set $p (i32.add (local.get $p) (i32.const 1))))
            (else
              (loop $items
                (if (local.get $n) (then (i32.store8 (global.get $w) (i32.const 0x2c))
                                         (global.set $w (i32.add (global.get $w) (i32.const 1)))))
                (local.set $p (call $item (local.get $p) (local.get $end)))
                (if (i32.eqz (local.get $p)) (then (return (i64.const 0))))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (local.set $p (call $ws (local.get $p) (local.get $end)))
                (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i64.const 0))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br_if $items (i32.eq (i32.load8_u (i32.sub (local.get $p) (i32.const 1))) (i32.const 0x2c))))
              (if (i32.ne (i32.load8_u (i32.sub (local.get $p) (i32.const 1))) (i32.const 0x5d))
                (then (return (i64.const 0)))))))
        (else
          (local.set $p (call $value (local.get $p) (local.get $end)))
          (if (i32.eqz (local.get $p)) (then (return (i64.const 0))))))
      (local.set $p (call $ws (local.get $p) (local.get $end)))
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i64.const 0))))
      (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x2c))
        (then
          (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $end)))
          (br $member))))
    (if (i32.eqz (local.get $found)) (then (return (i64.const 0))))
    ;; close: ]}
    (i32.store16 (global.get $w) (i32.const 0x7d5d))
    (global.set $w (i32.add (global.get $w) (i32.const 2)))
    (i64.or (i64.shl (i64.extend_i32_u (global.get $out)) (i64.const 32))
            (i64.extend_i32_u (i32.sub (global.get $w) (global.get $out)))))
)
