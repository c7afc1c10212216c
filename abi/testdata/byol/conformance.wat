;; conformance.wat: ABI v1's conformance policy (abi/SPEC.md §15), written by
;; hand in WebAssembly text, with no imports. It passes the whole conformance
;; corpus (abi/testdata/conformance) through the real host
;; (host/guests_test.go, TestConformanceModules), and shows an author of any
;; other language every piece a policy module needs. abi/SPEC.md §18 ("Bring
;; your own language") explains it; minimal.wat beside it is the smallest
;; skeleton.
;;
;;   wat2wasm conformance.wat -o conformance.wasm  (make sdks: build/abi/byol/conformance.wasm)
;;
;; The file, in order:
;;
;;   constants  Page 0 holds every fixed text, NUL-terminated: the keys the
;;              reader knows, the answer templates and the policy's two tables.
;;   allocator  verdict_alloc and verdict_free bump $top up from 64 KiB (the
;;              host keeps one input buffer, so $top does not grow per call).
;;              Each verdict_evaluate call uses the memory above $top: first
;;              an arena ($heap) for what it reads, then the answer ($w).
;;              Memory is grown as needed; running out of it traps, which the
;;              host turns into DENY for the batch.
;;   reader     A JSON reader over the input ($p up to $end). $object and
;;              $array call a handler (call_indirect) for each member or
;;              element; each handler knows the keys of one object of
;;              abi/SPEC.md §6 and skips every other member, whatever its
;;              value ($skip). Strings are decoded by $string (every escape,
;;              \u and surrogate pairs to UTF-8) into the arena as a "string
;;              record": a 4-byte length, then the bytes; keys are compared
;;              after decoding. On malformed input the reader sets $bad and
;;              jumps to the end of the input, so that every loop stops; the
;;              answer is then the bad_input error envelope.
;;   writer     $tpl copies a template into the answer. Bytes 0x01-0x11 in a
;;              template are holes, filled from the current item and the
;;              principal ($hole has the legend); input strings are written
;;              escaped as JSON.
;;   policy     $decide looks the permission name up in the policy table (name
;;              -> answer template) and in the conditions table, in the order
;;              of conformance.Decide (abi/conformance/policy.go).
;;   exports    verdict_abi_v1, verdict_alloc, verdict_free, verdict_describe
;;              and verdict_evaluate, at the end.
;;
;; The reader keeps the principal in globals and each item in a record of
;; seven i32 fields in the arena, the items in a linked list; a field is a
;; string record, or 0 when the key was absent:
;;
;;   0 id   4 permission.type   8 permission.name   12 permission.attributes.action
;;   16 permission.resourceType   20 resourceRef   24 the next item record (0 at the end)
;;
;; Its limits: objects and arrays nest as deep as the Wasm call stack allows
;; (deeper input traps: a failure, never an answer); bytes that are not escapes
;; are copied as they are (the host sends valid UTF-8); numbers are skipped
;; without checking their grammar; a string value of null is refused.
(module
  ;; Imports: none. A module may import functions of wasi_snapshot_preview1
  ;; and "log" from "verdict:host/v1", nothing else.

  ;; memory: page 0 holds the constants, the host's buffers start at page 1.
  (memory (export "memory") 2)

  ;; ---- constants --------------------------------------------------------------
  ;; Address 0 is never used: 0 means "absent" or "not found".

  ;; Keys the reader knows, and words it compares values with.
  (global $K_PRINCIPAL i32 (i32.const 0x020)) (data (i32.const 0x020) "principal\00")
  (global $K_ITEMS     i32 (i32.const 0x040)) (data (i32.const 0x040) "items\00")
  (global $K_TYPE      i32 (i32.const 0x060)) (data (i32.const 0x060) "type\00")
  (global $K_USER      i32 (i32.const 0x080)) (data (i32.const 0x080) "userEntityRef\00")
  (global $K_OWNERS    i32 (i32.const 0x0a0)) (data (i32.const 0x0a0) "ownershipEntityRefs\00")
  (global $K_ACTOR     i32 (i32.const 0x0c0)) (data (i32.const 0x0c0) "actor\00")
  (global $K_SUBJECT   i32 (i32.const 0x0e0)) (data (i32.const 0x0e0) "subject\00")
  (global $K_ID        i32 (i32.const 0x100)) (data (i32.const 0x100) "id\00")
  (global $K_PERM      i32 (i32.const 0x120)) (data (i32.const 0x120) "permission\00")
  (global $K_NAME      i32 (i32.const 0x140)) (data (i32.const 0x140) "name\00")
  (global $K_ATTRS     i32 (i32.const 0x160)) (data (i32.const 0x160) "attributes\00")
  (global $K_ACTION    i32 (i32.const 0x180)) (data (i32.const 0x180) "action\00")
  (global $K_RTYPE     i32 (i32.const 0x1a0)) (data (i32.const 0x1a0) "resourceType\00")
  (global $K_REF       i32 (i32.const 0x1c0)) (data (i32.const 0x1c0) "resourceRef\00")
  (global $RESOURCE    i32 (i32.const 0x1e0)) (data (i32.const 0x1e0) "resource\00")
  (global $COND_PREFIX i32 (i32.const 0x200)) (data (i32.const 0x200) "conf.cond.\00")
  (global $TRUE        i32 (i32.const 0x220)) (data (i32.const 0x220) "true\00")
  (global $FALSE       i32 (i32.const 0x240)) (data (i32.const 0x240) "false\00")
  (global $NULL        i32 (i32.const 0x260)) (data (i32.const 0x260) "null\00")

  ;; Byte sets: JSON whitespace, the bytes of a number, hex digits, and the
  ;; short escapes as pairs (the letter after the backslash, the byte it means).
  (global $WS          i32 (i32.const 0x280)) (data (i32.const 0x280) " \t\n\r\00")
  (global $NUMBER      i32 (i32.const 0x2a0)) (data (i32.const 0x2a0) "0123456789+-.eE\00")
  (global $HEX         i32 (i32.const 0x2c0)) (data (i32.const 0x2c0) "0123456789abcdef\00")
  (global $ESCAPES     i32 (i32.const 0x2e0)) (data (i32.const 0x2e0) "\"\"\\\\//b\08f\0cn\0ar\0dt\09\00")

  ;; Answer templates. Holes (legend at $hole): \01 id, \02 resourceType,
  ;; \03 ownership refs, \04 the item's conditions, \05 OWNER, \06 PUBLIC,
  ;; \07 KIND, \08-\11 the fields of the Echo string.
  (global $ITEMS_OPEN  i32 (i32.const 0x300)) (data (i32.const 0x300) "{\"items\":[\00")
  (global $ITEMS_CLOSE i32 (i32.const 0x320)) (data (i32.const 0x320) "]}\00")
  (global $DESCRIBE    i32 (i32.const 0x400))
  (data (i32.const 0x400) "{\"abi\":\"1.0\",\"name\":\"byol-conformance\",\"version\":\"1.0.0\",\"sdk\":\"wat\",\"claims\":[\"conf.*\"]}\00")
  (global $BAD_INPUT   i32 (i32.const 0x480))
  (data (i32.const 0x480) "{\"error\":{\"code\":\"bad_input\",\"message\":\"the input is not a valid request\"}}\00")
  (global $ABSTAIN     i32 (i32.const 0x500))
  (data (i32.const 0x500) "{\"id\":\01,\"result\":\"ABSTAIN\"}\00")
  (global $NEEDS_RESOURCE i32 (i32.const 0x580))
  (data (i32.const 0x580) "{\"id\":\01,\"result\":\"DENY\",\"reason\":\"conditional needs a resource permission\"}\00")
  (global $CONDITIONAL i32 (i32.const 0x600))
  (data (i32.const 0x600) "{\"id\":\01,\"result\":\"CONDITIONAL\",\"pluginId\":\"conf\",\"resourceType\":\02,\"conditions\":\04}\00")

  ;; The three leaves of the conditions (abi/SPEC.md §15).
  (global $OWNER       i32 (i32.const 0x680))
  (data (i32.const 0x680) "{\"rule\":\"IS_OWNER\",\"resourceType\":\02,\"params\":{\"claims\":\03}}\00")
  (global $PUBLIC      i32 (i32.const 0x700))
  (data (i32.const 0x700) "{\"rule\":\"IS_PUBLIC\",\"resourceType\":\02}\00")
  (global $KIND        i32 (i32.const 0x780))
  (data (i32.const 0x780) "{\"rule\":\"IS_KIND\",\"resourceType\":\02,\"params\":{\"kinds\":[\"Group\",\"User\"]}}\00")

  ;; The policy table: permission name -> answer template, ending with an
  ;; empty name. Names not in it: see $decide.
  (global $POLICY      i32 (i32.const 0x800))
  (data (i32.const 0x800)
    "conf.allow\00"        "{\"id\":\01,\"result\":\"ALLOW\"}\00"
    "conf.deny\00"         "{\"id\":\01,\"result\":\"DENY\"}\00"
    "conf.abstain\00"      "{\"id\":\01,\"result\":\"ABSTAIN\"}\00"
    "conf.allow.reason\00" "{\"id\":\01,\"result\":\"ALLOW\",\"reason\":\"allowed by conformance policy\"}\00"
    "conf.deny.reason\00"  "{\"id\":\01,\"result\":\"DENY\",\"reason\":\"denied by conformance policy\"}\00"
    ;; the Echo string
    "conf.reason\00"       "{\"id\":\01,\"result\":\"ALLOW\",\"reason\":\"name=\08 type=\09 action=\0a resourceType=\0b ref=\0c principal=\0d user=\0e subject=\0f actor=\10 owners=\11\"}\00"
    "\00")

  ;; The conditions table: conf.cond.<x> -> criteria template, ending with an
  ;; empty name.
  (global $CONDITIONS  i32 (i32.const 0xc00))
  (data (i32.const 0xc00)
    "conf.cond.owner\00"    "\05\00"
    "conf.cond.noparams\00" "\06\00"
    "conf.cond.params\00"   "{\"rule\":\"HAS_VALUES\",\"resourceType\":\02,\"params\":{\"s\":\"text \\\"quoted\\\" \\\\ ünïcødé ✓\",\"n\":42,\"f\":-1.5,\"t\":true,\"no\":false,\"z\":null,\"list\":[\"a\",1,true,null]}}\00"
    "conf.cond.not\00"      "{\"not\":\07}\00"
    "conf.cond.allof\00"    "{\"allOf\":[\05,\06]}\00"
    "conf.cond.anyof\00"    "{\"anyOf\":[\05,{\"not\":\07}]}\00"
    "conf.cond.nested\00"   "{\"anyOf\":[{\"allOf\":[\05,{\"not\":{\"anyOf\":[\07,\06]}}]},{\"not\":{\"not\":\06}}]}\00"
    "\00")

  ;; ---- allocator --------------------------------------------------------------

  ;; $top: the end of the buffers given to the host. $heap: the arena of the
  ;; current call, from $top up.
  (global $top (mut i32) (i32.const 0x10000))
  (global $heap (mut i32) (i32.const 0x10000))

  ;; ensure grows memory so that [0, end) is addressable; 0 when it cannot.
  (func $ensure (param $end i32) (result i32)
    (local $have i32)
    (local.set $have (i32.mul (memory.size) (i32.const 0x10000)))
    (if (i32.le_u (local.get $end) (local.get $have)) (then (return (i32.const 1))))
    (i32.ne
      (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 0xffff))
                              (i32.const 16)))
      (i32.const -1)))

  ;; need is ensure for a call's own memory: it traps when memory runs out.
  (func $need (param $end i32)
    (if (i32.eqz (call $ensure (local.get $end))) (then (unreachable))))

  ;; alloc takes $n zeroed bytes from the arena.
  (func $alloc (param $n i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $heap))
    (call $need (i32.add (local.get $at) (local.get $n)))
    (memory.fill (local.get $at) (i32.const 0) (local.get $n))
    (global.set $heap (i32.add (local.get $at) (local.get $n)))
    (local.get $at))

  ;; ---- reader: bytes ----------------------------------------------------------

  (global $p (mut i32) (i32.const 0))    ;; the next input byte
  (global $end (mut i32) (i32.const 0))  ;; the end of the input
  (global $bad (mut i32) (i32.const 0))  ;; 1 once the input is found malformed

  ;; fail marks the input malformed and ends the reading.
  (func $fail
    (global.set $bad (i32.const 1))
    (global.set $p (global.get $end)))

  ;; in_set reports whether byte $c is one of the bytes of the text at $set.
  (func $in_set (param $c i32) (param $set i32) (result i32)
    (local $s i32)
    (loop $next
      (local.set $s (i32.load8_u (local.get $set)))
      (if (i32.eqz (local.get $s)) (then (return (i32.const 0))))
      (if (i32.eq (local.get $s) (local.get $c)) (then (return (i32.const 1))))
      (local.set $set (i32.add (local.get $set) (i32.const 1)))
      (br $next))
    (i32.const 0))

  ;; ws skips JSON whitespace.
  (func $ws
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (global.get $p) (global.get $end)))
        (br_if $done (i32.eqz (call $in_set (i32.load8_u (global.get $p)) (global.get $WS))))
        (global.set $p (i32.add (global.get $p) (i32.const 1)))
        (br $next))))

  ;; peek skips whitespace and returns the next byte, or 0 at the end.
  (func $peek (result i32)
    (call $ws)
    (if (result i32) (i32.lt_u (global.get $p) (global.get $end))
      (then (i32.load8_u (global.get $p)))
      (else (i32.const 0))))

  ;; eat consumes byte $c if it comes next (after whitespace).
  (func $eat (param $c i32) (result i32)
    (if (i32.ne (call $peek) (local.get $c)) (then (return (i32.const 0))))
    (global.set $p (i32.add (global.get $p) (i32.const 1)))
    (i32.const 1))

  ;; expect consumes byte $c, or fails.
  (func $expect (param $c i32)
    (if (i32.eqz (call $eat (local.get $c))) (then (call $fail))))

  ;; word consumes the text at $lit (true, false, null), or fails.
  (func $word (param $lit i32)
    (loop $next
      (if (i32.eqz (i32.load8_u (local.get $lit))) (then (return)))
      (if (i32.ge_u (global.get $p) (global.get $end)) (then (call $fail) (return)))
      (if (i32.ne (i32.load8_u (global.get $p)) (i32.load8_u (local.get $lit))) (then (call $fail) (return)))
      (global.set $p (i32.add (global.get $p) (i32.const 1)))
      (local.set $lit (i32.add (local.get $lit) (i32.const 1)))
      (br $next)))

  ;; number consumes a number (loosely: a run of the bytes of $NUMBER).
  (func $number
    (local $start i32)
    (local.set $start (global.get $p))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (global.get $p) (global.get $end)))
        (br_if $done (i32.eqz (call $in_set (i32.load8_u (global.get $p)) (global.get $NUMBER))))
        (global.set $p (i32.add (global.get $p) (i32.const 1)))
        (br $next)))
    (if (i32.eq (global.get $p) (local.get $start)) (then (call $fail))))

  ;; ---- reader: strings --------------------------------------------------------

  ;; string reads a JSON string, decodes it into the arena and returns its
  ;; string record.
  (func $string (result i32)
    (local $rec i32) (local $d i32) (local $c i32)
    (call $expect (i32.const 0x22))                                        ;; "
    (local.set $rec (global.get $heap))
    (local.set $d (i32.add (local.get $rec) (i32.const 4)))
    ;; decoding never lengthens a string, so the rest of the input bounds it
    (call $need (i32.add (local.get $d) (i32.sub (global.get $end) (global.get $p))))
    (block $done
      (loop $next
        (if (i32.ge_u (global.get $p) (global.get $end)) (then (call $fail) (br $done)))
        (local.set $c (i32.load8_u (global.get $p)))
        (global.set $p (i32.add (global.get $p) (i32.const 1)))
        (br_if $done (i32.eq (local.get $c) (i32.const 0x22)))            ;; closing "
        ;; a raw control character is not JSON
        (if (i32.lt_u (local.get $c) (i32.const 0x20)) (then (call $fail) (br $done)))
        (if (i32.eq (local.get $c) (i32.const 0x5c))                       ;; backslash
          (then (local.set $d (call $escape (local.get $d))))
          (else
            (i32.store8 (local.get $d) (local.get $c))
            (local.set $d (i32.add (local.get $d) (i32.const 1)))))
        (br $next)))
    (i32.store (local.get $rec) (i32.sub (local.get $d) (i32.add (local.get $rec) (i32.const 4))))
    (global.set $heap (local.get $d))
    (local.get $rec))

  ;; escape decodes the escape after a backslash into $d; returns the new $d.
  (func $escape (param $d i32) (result i32)
    (local $c i32) (local $t i32)
    (if (i32.ge_u (global.get $p) (global.get $end)) (then (call $fail) (return (local.get $d))))
    (local.set $c (i32.load8_u (global.get $p)))
    (global.set $p (i32.add (global.get $p) (i32.const 1)))
    (if (i32.eq (local.get $c) (i32.const 0x75))                           ;; \uXXXX
      (then (return (call $utf8 (local.get $d) (call $unicode)))))
    ;; a short escape: find its letter in $ESCAPES
    (local.set $t (global.get $ESCAPES))
    (loop $next
      (if (i32.eqz (i32.load8_u (local.get $t))) (then (call $fail) (return (local.get $d))))
      (if (i32.ne (i32.load8_u (local.get $t)) (local.get $c))
        (then
          (local.set $t (i32.add (local.get $t) (i32.const 2)))
          (br $next))))
    (i32.store8 (local.get $d) (i32.load8_u offset=1 (local.get $t)))
    (i32.add (local.get $d) (i32.const 1)))

  ;; unicode reads the XXXX of \uXXXX (and the low half of a surrogate pair)
  ;; and returns the code point; a surrogate that is not half of a pair is
  ;; U+FFFD, as encoding/json decodes it.
  (func $unicode (result i32)
    (local $u i32) (local $lo i32) (local $at i32)
    (local.set $u (call $hex4))
    (if (i32.eq (i32.and (local.get $u) (i32.const 0xfc00)) (i32.const 0xd800))  ;; a high surrogate
      (then
        (local.set $at (global.get $p))
        (if (i32.lt_u (i32.add (local.get $at) (i32.const 1)) (global.get $end))
          (then
            (if (i32.eq (i32.load16_u (local.get $at)) (i32.const 0x755c))      ;; \u follows
              (then
                (global.set $p (i32.add (local.get $at) (i32.const 2)))
                (local.set $lo (call $hex4))
                (if (i32.eq (i32.and (local.get $lo) (i32.const 0xfc00)) (i32.const 0xdc00))
                  (then
                    (return (i32.add (i32.const 0x10000)
                                     (i32.or (i32.shl (i32.and (local.get $u) (i32.const 0x3ff)) (i32.const 10))
                                             (i32.and (local.get $lo) (i32.const 0x3ff)))))))
                ;; not a low surrogate: that escape is read again on its own
                (if (i32.eqz (global.get $bad)) (then (global.set $p (local.get $at))))))))
        (return (i32.const 0xfffd))))
    (if (i32.eq (i32.and (local.get $u) (i32.const 0xf800)) (i32.const 0xd800))    ;; a lone low surrogate
      (then (return (i32.const 0xfffd))))
    (local.get $u))

  ;; hex4 reads four hex digits.
  (func $hex4 (result i32)
    (local $v i32) (local $i i32) (local $c i32)
    (loop $next
      (if (i32.ge_u (global.get $p) (global.get $end)) (then (call $fail) (return (i32.const 0))))
      (local.set $c (i32.load8_u (global.get $p)))
      (if (i32.lt_u (i32.sub (local.get $c) (i32.const 0x30)) (i32.const 10))     ;; 0-9
        (then (local.set $c (i32.sub (local.get $c) (i32.const 0x30))))
        (else
          ;; a-f or A-F: lower-case it, then 'a' is 0
          (local.set $c (i32.sub (i32.or (local.get $c) (i32.const 0x20)) (i32.const 0x61)))
          (if (i32.ge_u (local.get $c) (i32.const 6)) (then (call $fail) (return (i32.const 0))))
          (local.set $c (i32.add (local.get $c) (i32.const 10)))))
      (local.set $v (i32.or (i32.shl (local.get $v) (i32.const 4)) (local.get $c)))
      (global.set $p (i32.add (global.get $p) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 4))))
    (local.get $v))

  ;; utf8 writes code point $u as UTF-8 at $d; returns the new $d.
  (func $utf8 (param $d i32) (param $u i32) (result i32)
    (if (i32.lt_u (local.get $u) (i32.const 0x80))
      (then
        (i32.store8 (local.get $d) (local.get $u))
        (return (i32.add (local.get $d) (i32.const 1)))))
    (if (i32.lt_u (local.get $u) (i32.const 0x800))
      (then
        (i32.store8 (local.get $d) (i32.or (i32.const 0xc0) (i32.shr_u (local.get $u) (i32.const 6))))
        (i32.store8 offset=1 (local.get $d) (call $tail (local.get $u) (i32.const 0)))
        (return (i32.add (local.get $d) (i32.const 2)))))
    (if (i32.lt_u (local.get $u) (i32.const 0x10000))
      (then
        (i32.store8 (local.get $d) (i32.or (i32.const 0xe0) (i32.shr_u (local.get $u) (i32.const 12))))
        (i32.store8 offset=1 (local.get $d) (call $tail (local.get $u) (i32.const 6)))
        (i32.store8 offset=2 (local.get $d) (call $tail (local.get $u) (i32.const 0)))
        (return (i32.add (local.get $d) (i32.const 3)))))
    (i32.store8 (local.get $d) (i32.or (i32.const 0xf0) (i32.shr_u (local.get $u) (i32.const 18))))
    (i32.store8 offset=1 (local.get $d) (call $tail (local.get $u) (i32.const 12)))
    (i32.store8 offset=2 (local.get $d) (call $tail (local.get $u) (i32.const 6)))
    (i32.store8 offset=3 (local.get $d) (call $tail (local.get $u) (i32.const 0)))
    (i32.add (local.get $d) (i32.const 4)))

  ;; tail is a UTF-8 continuation byte: six bits of $u from bit $shift.
  (func $tail (param $u i32) (param $shift i32) (result i32)
    (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $u) (local.get $shift)) (i32.const 0x3f))))

  ;; is reports whether string record $s (0: absent) is exactly the text at $lit.
  (func $is (param $s i32) (param $lit i32) (result i32)
    (local $i i32) (local $c i32)
    (if (i32.eqz (local.get $s)) (then (return (i32.const 0))))
    (loop $next
      (local.set $c (i32.load8_u (i32.add (local.get $lit) (local.get $i))))
      (if (i32.ge_u (local.get $i) (i32.load (local.get $s))) (then (return (i32.eqz (local.get $c)))))
      (if (i32.eqz (local.get $c)) (then (return (i32.const 0))))
      (if (i32.ne (local.get $c) (i32.load8_u offset=4 (i32.add (local.get $s) (local.get $i))))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))
    (i32.const 0))

  ;; starts_with reports whether string record $s begins with the text at $lit.
  (func $starts_with (param $s i32) (param $lit i32) (result i32)
    (local $i i32) (local $c i32)
    (if (i32.eqz (local.get $s)) (then (return (i32.const 0))))
    (loop $next
      (local.set $c (i32.load8_u (i32.add (local.get $lit) (local.get $i))))
      (if (i32.eqz (local.get $c)) (then (return (i32.const 1))))
      (if (i32.ge_u (local.get $i) (i32.load (local.get $s))) (then (return (i32.const 0))))
      (if (i32.ne (local.get $c) (i32.load8_u offset=4 (i32.add (local.get $s) (local.get $i))))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))
    (i32.const 0))

  ;; ---- reader: objects and arrays ---------------------------------------------

  ;; A handler gets one member of an object (its decoded key; the value is
  ;; next in the input) or one element of an array (key 0), and must consume
  ;; the value. The table's order gives each handler its number.
  (type $handler (func (param i32)))
  (table 9 funcref)
  (elem (i32.const 0) $in_request $in_principal $in_actor $in_owner $in_items
                      $in_item $in_permission $in_attributes $in_skipped)
  (global $ON_REQUEST    i32 (i32.const 0))
  (global $ON_PRINCIPAL  i32 (i32.const 1))
  (global $ON_ACTOR      i32 (i32.const 2))
  (global $ON_OWNER      i32 (i32.const 3))
  (global $ON_ITEMS      i32 (i32.const 4))
  (global $ON_ITEM       i32 (i32.const 5))
  (global $ON_PERMISSION i32 (i32.const 6))
  (global $ON_ATTRIBUTES i32 (i32.const 7))
  (global $ON_SKIPPED    i32 (i32.const 8))

  ;; object reads {"key": value, ...}, giving each member to handler $on.
  (func $object (param $on i32)
    (local $key i32)
    (call $expect (i32.const 0x7b))                                        ;; {
    (if (call $eat (i32.const 0x7d)) (then (return)))                      ;; }
    (loop $next
      (local.set $key (call $string))
      (call $expect (i32.const 0x3a))                                      ;; :
      (call_indirect (type $handler) (local.get $key) (local.get $on))
      (br_if $next (call $eat (i32.const 0x2c))))                          ;; ,
    (call $expect (i32.const 0x7d)))                                       ;; }

  ;; array reads [value, ...], giving each element to handler $on.
  (func $array (param $on i32)
    (call $expect (i32.const 0x5b))                                        ;; [
    (if (call $eat (i32.const 0x5d)) (then (return)))                      ;; ]
    (loop $next
      (call_indirect (type $handler) (i32.const 0) (local.get $on))
      (br_if $next (call $eat (i32.const 0x2c))))                          ;; ,
    (call $expect (i32.const 0x5d)))                                       ;; ]

  ;; skip reads any value and forgets it (the arena goes back to where it was).
  (func $skip
    (local $c i32) (local $mark i32)
    (local.set $mark (global.get $heap))
    (local.set $c (call $peek))
    (block $done
      (if (i32.eq (local.get $c) (i32.const 0x22))                         ;; "
        (then (drop (call $string)) (br $done)))
      (if (i32.eq (local.get $c) (i32.const 0x7b))                         ;; {
        (then (call $object (global.get $ON_SKIPPED)) (br $done)))
      (if (i32.eq (local.get $c) (i32.const 0x5b))                         ;; [
        (then (call $array (global.get $ON_SKIPPED)) (br $done)))
      (if (i32.eq (local.get $c) (i32.const 0x74))                         ;; t
        (then (call $word (global.get $TRUE)) (br $done)))
      (if (i32.eq (local.get $c) (i32.const 0x66))                         ;; f
        (then (call $word (global.get $FALSE)) (br $done)))
      (if (i32.eq (local.get $c) (i32.const 0x6e))                         ;; n
        (then (call $word (global.get $NULL)) (br $done)))
      (call $number))
    (global.set $heap (local.get $mark)))

  ;; ---- reader: the request (abi/SPEC.md §6) -----------------------------------

  ;; The principal, as string records (0: absent), and the items.
  (global $ptype (mut i32) (i32.const 0))
  (global $user (mut i32) (i32.const 0))
  (global $subject (mut i32) (i32.const 0))
  (global $actor (mut i32) (i32.const 0))     ;; actor.subject
  (global $owners (mut i32) (i32.const 0))    ;; the first ref; the others follow it
  (global $n_owners (mut i32) (i32.const 0))
  (global $first (mut i32) (i32.const 0))     ;; the first item record
  (global $last (mut i32) (i32.const 0))      ;; the last item record
  (global $it (mut i32) (i32.const 0))        ;; the item being read, or written

  ;; {"principal": {...}, "items": [...]}
  (func $in_request (param $key i32)
    (if (call $is (local.get $key) (global.get $K_PRINCIPAL))
      (then (call $object (global.get $ON_PRINCIPAL)) (return)))
    (if (call $is (local.get $key) (global.get $K_ITEMS))
      (then
        (global.set $first (i32.const 0))
        (global.set $last (i32.const 0))
        (call $array (global.get $ON_ITEMS))
        (return)))
    (call $skip))

  ;; {"type", "userEntityRef", "ownershipEntityRefs", "actor", "subject"}
  (func $in_principal (param $key i32)
    (if (call $is (local.get $key) (global.get $K_TYPE))
      (then (global.set $ptype (call $string)) (return)))
    (if (call $is (local.get $key) (global.get $K_USER))
      (then (global.set $user (call $string)) (return)))
    (if (call $is (local.get $key) (global.get $K_SUBJECT))
      (then (global.set $subject (call $string)) (return)))
    (if (call $is (local.get $key) (global.get $K_OWNERS))
      (then
        ;; the refs are decoded one after the other into the arena
        (global.set $owners (global.get $heap))
        (global.set $n_owners (i32.const 0))
        (call $array (global.get $ON_OWNER))
        (return)))
    (if (call $is (local.get $key) (global.get $K_ACTOR))
      (then (call $object (global.get $ON_ACTOR)) (return)))
    (call $skip))

  ;; one of "ownershipEntityRefs"
  (func $in_owner (param $key i32)
    (drop (call $string))
    (global.set $n_owners (i32.add (global.get $n_owners) (i32.const 1))))

  ;; {"type", "subject"}: only the subject is used
  (func $in_actor (param $key i32)
    (if (call $is (local.get $key) (global.get $K_SUBJECT))
      (then (global.set $actor (call $string)) (return)))
    (call $skip))

  ;; one of "items": a new item record at the end of the list
  (func $in_items (param $key i32)
    (local $it i32)
    (local.set $it (call $alloc (i32.const 28)))
    (if (global.get $last)
      (then (i32.store offset=24 (global.get $last) (local.get $it)))
      (else (global.set $first (local.get $it))))
    (global.set $last (local.get $it))
    (global.set $it (local.get $it))
    (call $object (global.get $ON_ITEM)))

  ;; {"id", "permission", "resourceRef"}
  (func $in_item (param $key i32)
    (if (call $is (local.get $key) (global.get $K_ID))
      (then (i32.store offset=0 (global.get $it) (call $string)) (return)))
    (if (call $is (local.get $key) (global.get $K_PERM))
      (then (call $object (global.get $ON_PERMISSION)) (return)))
    (if (call $is (local.get $key) (global.get $K_REF))
      (then (i32.store offset=20 (global.get $it) (call $string)) (return)))
    (call $skip))

  ;; {"type", "name", "attributes", "resourceType"}
  (func $in_permission (param $key i32)
    (if (call $is (local.get $key) (global.get $K_TYPE))
      (then (i32.store offset=4 (global.get $it) (call $string)) (return)))
    (if (call $is (local.get $key) (global.get $K_NAME))
      (then (i32.store offset=8 (global.get $it) (call $string)) (return)))
    (if (call $is (local.get $key) (global.get $K_ATTRS))
      (then (call $object (global.get $ON_ATTRIBUTES)) (return)))
    (if (call $is (local.get $key) (global.get $K_RTYPE))
      (then (i32.store offset=16 (global.get $it) (call $string)) (return)))
    (call $skip))

  ;; {"action"}
  (func $in_attributes (param $key i32)
    (if (call $is (local.get $key) (global.get $K_ACTION))
      (then (i32.store offset=12 (global.get $it) (call $string)) (return)))
    (call $skip))

  ;; any member or element of a value that is skipped
  (func $in_skipped (param $key i32)
    (call $skip))

  ;; ---- writer -----------------------------------------------------------------

  (global $w (mut i32) (i32.const 0))     ;; the next answer byte
  (global $room (mut i32) (i32.const 0))  ;; the end of memory, as last seen

  ;; begin starts an answer after the arena and returns where it starts.
  (func $begin (result i32)
    (global.set $w (global.get $heap))
    (global.set $room (i32.mul (memory.size) (i32.const 0x10000)))
    (global.get $w))

  ;; packed returns the answer begun at $out as ptr << 32 | len (abi/SPEC.md §5).
  (func $packed (param $out i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
            (i64.extend_i32_u (i32.sub (global.get $w) (local.get $out)))))

  ;; byte appends one byte, growing memory when the answer reaches its end.
  (func $byte (param $c i32)
    (if (i32.ge_u (global.get $w) (global.get $room))
      (then
        (call $need (i32.add (global.get $w) (i32.const 0x10000)))
        (global.set $room (i32.mul (memory.size) (i32.const 0x10000)))))
    (i32.store8 (global.get $w) (local.get $c))
    (global.set $w (i32.add (global.get $w) (i32.const 1))))

  ;; esc appends string record $s (0: nothing) as the inside of a JSON
  ;; string: " and \ escaped, control characters as \u00XX.
  (func $esc (param $s i32)
    (local $i i32) (local $c i32)
    (if (i32.eqz (local.get $s)) (then (return)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.load (local.get $s))))
        (local.set $c (i32.load8_u offset=4 (i32.add (local.get $s) (local.get $i))))
        (if (i32.or (i32.eq (local.get $c) (i32.const 0x22)) (i32.eq (local.get $c) (i32.const 0x5c)))
          (then (call $byte (i32.const 0x5c)) (call $byte (local.get $c)))
          (else
            (if (i32.lt_u (local.get $c) (i32.const 0x20))
              (then
                (call $byte (i32.const 0x5c)) (call $byte (i32.const 0x75))       ;; \u
                (call $byte (i32.const 0x30)) (call $byte (i32.const 0x30))       ;; 00
                (call $byte (i32.load8_u (i32.add (global.get $HEX) (i32.shr_u (local.get $c) (i32.const 4)))))
                (call $byte (i32.load8_u (i32.add (global.get $HEX) (i32.and (local.get $c) (i32.const 15))))))
              (else (call $byte (local.get $c))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; str appends string record $s as a JSON string ("" when absent).
  (func $str (param $s i32)
    (call $byte (i32.const 0x22))
    (call $esc (local.get $s))
    (call $byte (i32.const 0x22)))

  ;; dash appends string record $s escaped, or - when it is absent or empty.
  (func $dash (param $s i32)
    (if (i32.eqz (local.get $s)) (then (call $byte (i32.const 0x2d)) (return)))
    (if (i32.eqz (i32.load (local.get $s))) (then (call $byte (i32.const 0x2d)) (return)))
    (call $esc (local.get $s)))

  ;; refs appends the ownership refs: as a JSON array when $json, else
  ;; escaped and joined by commas (for the Echo string).
  (func $refs (param $json i32)
    (local $s i32) (local $i i32)
    (local.set $s (global.get $owners))
    (if (local.get $json) (then (call $byte (i32.const 0x5b))))            ;; [
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (global.get $n_owners)))
        (if (local.get $i) (then (call $byte (i32.const 0x2c))))           ;; ,
        (if (local.get $json) (then (call $str (local.get $s))) (else (call $esc (local.get $s))))
        (local.set $s (i32.add (local.get $s) (i32.add (i32.const 4) (i32.load (local.get $s)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (if (local.get $json) (then (call $byte (i32.const 0x5d)))))           ;; ]

  ;; tpl appends the template at $t, filling its holes.
  (func $tpl (param $t i32)
    (local $c i32)
    (loop $next
      (local.set $c (i32.load8_u (local.get $t)))
      (if (i32.eqz (local.get $c)) (then (return)))
      (if (i32.lt_u (local.get $c) (i32.const 0x20))
        (then (call $hole (local.get $c)))
        (else (call $byte (local.get $c))))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br $next)))

  ;; hole fills hole $h of a template for item $it.
  (global $cond (mut i32) (i32.const 0))  ;; the criteria template $decide chose
  (func $hole (param $h i32)
    (local $it i32)
    (local.set $it (global.get $it))
    (if (i32.eq (local.get $h) (i32.const 0x01))          ;; id, as a JSON string
      (then (call $str (i32.load offset=0 (local.get $it))) (return)))
    (if (i32.eq (local.get $h) (i32.const 0x02))          ;; resourceType, as a JSON string
      (then (call $str (i32.load offset=16 (local.get $it))) (return)))
    (if (i32.eq (local.get $h) (i32.const 0x03))          ;; ownership refs, as a JSON array
      (then (call $refs (i32.const 1)) (return)))
    (if (i32.eq (local.get $h) (i32.const 0x04))          ;; the item's criteria
      (then (call $tpl (global.get $cond)) (return)))
    (if (i32.eq (local.get $h) (i32.const 0x05))
      (then (call $tpl (global.get $OWNER)) (return)))
    (if (i32.eq (local.get $h) (i32.const 0x06))
      (then (call $tpl (global.get $PUBLIC)) (return)))
    (if (i32.eq (local.get $h) (i32.const 0x07))
      (then (call $tpl (global.get $KIND)) (return)))
    ;; the Echo string's fields, inside a JSON string
    (if (i32.eq (local.get $h) (i32.const 0x08))          ;; name
      (then (call $esc (i32.load offset=8 (local.get $it))) (return)))
    (if (i32.eq (local.get $h) (i32.const 0x09))          ;; type
      (then (call $esc (i32.load offset=4 (local.get $it))) (return)))
    (if (i32.eq (local.get $h) (i32.const 0x0a))          ;; action, or -
      (then (call $dash (i32.load offset=12 (local.get $it))) (return)))
    (if (i32.eq (local.get $h) (i32.const 0x0b))          ;; resourceType, or -
      (then (call $dash (i32.load offset=16 (local.get $it))) (return)))
    (if (i32.eq (local.get $h) (i32.const 0x0c))          ;; resourceRef, - only when absent
      (then
        (if (i32.load offset=20 (local.get $it))
          (then (call $esc (i32.load offset=20 (local.get $it))))
          (else (call $byte (i32.const 0x2d))))
        (return)))
    (if (i32.eq (local.get $h) (i32.const 0x0d))          ;; principal type
      (then (call $esc (global.get $ptype)) (return)))
    (if (i32.eq (local.get $h) (i32.const 0x0e))          ;; userEntityRef, or -
      (then (call $dash (global.get $user)) (return)))
    (if (i32.eq (local.get $h) (i32.const 0x0f))          ;; subject, or -
      (then (call $dash (global.get $subject)) (return)))
    (if (i32.eq (local.get $h) (i32.const 0x10))          ;; actor's subject, or -
      (then (call $dash (global.get $actor)) (return)))
    (call $refs (i32.const 0)))                         ;; 0x11: ownership refs, joined by ,

  ;; ---- policy (abi/SPEC.md §15) -----------------------------------------------

  ;; after returns the address after the NUL of the text at $t.
  (func $after (param $t i32) (result i32)
    (loop $next
      (if (i32.load8_u (local.get $t))
        (then
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br $next))))
    (i32.add (local.get $t) (i32.const 1)))

  ;; lookup finds string record $s among the names of $table and returns the
  ;; template after it, or 0.
  (func $lookup (param $table i32) (param $s i32) (result i32)
    (loop $next
      (if (i32.eqz (i32.load8_u (local.get $table))) (then (return (i32.const 0))))
      (if (call $is (local.get $s) (local.get $table))
        (then (return (call $after (local.get $table)))))
      (local.set $table (call $after (call $after (local.get $table))))
      (br $next))
    (i32.const 0))

  ;; decide returns the answer template for item record $it.
  (func $decide (param $it i32) (result i32)
    (local $name i32) (local $t i32)
    (local.set $name (i32.load offset=8 (local.get $it)))
    (local.set $t (call $lookup (global.get $POLICY) (local.get $name)))
    (if (local.get $t) (then (return (local.get $t))))
    (if (i32.eqz (call $starts_with (local.get $name) (global.get $COND_PREFIX)))
      (then (return (global.get $ABSTAIN))))
    (if (i32.eqz (call $is (i32.load offset=4 (local.get $it)) (global.get $RESOURCE)))
      (then (return (global.get $NEEDS_RESOURCE))))
    (global.set $cond (call $lookup (global.get $CONDITIONS) (local.get $name)))
    (if (i32.eqz (global.get $cond)) (then (return (global.get $ABSTAIN))))
    (global.get $CONDITIONAL))

  ;; ---- exports (abi/SPEC.md §2) -----------------------------------------------

  ;; The marker: its presence says "ABI v1". The host never calls it.
  (func (export "verdict_abi_v1"))

  ;; verdict_alloc(size) -> a buffer at $top, or 0 when it cannot.
  (func (export "verdict_alloc") (param $size i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $top))
    (if (i32.gt_u (local.get $size) (i32.const 0x10000000)) (then (return (i32.const 0))))
    (if (i32.eqz (call $ensure (i32.add (local.get $at) (local.get $size)))) (then (return (i32.const 0))))
    (global.set $top (i32.add (local.get $at) (local.get $size)))
    (local.get $at))

  ;; verdict_free(ptr, size): gives back the last buffer; others are kept.
  (func (export "verdict_free") (param $ptr i32) (param $size i32)
    (if (i32.eq (i32.add (local.get $ptr) (local.get $size)) (global.get $top))
      (then (global.set $top (local.get $ptr)))))

  ;; verdict_describe() -> packed description (abi/SPEC.md §9).
  (func (export "verdict_describe") (result i64)
    (local $out i32)
    (global.set $heap (global.get $top))
    (local.set $out (call $begin))
    (call $tpl (global.get $DESCRIBE))
    (call $packed (local.get $out)))

  ;; verdict_evaluate(ptr, len) -> packed answers (abi/SPEC.md §6, §7).
  (func (export "verdict_evaluate") (param $ptr i32) (param $len i32) (result i64)
    (local $out i32) (local $it i32)
    ;; read the whole request first: "items" may come before "principal"
    (global.set $p (local.get $ptr))
    (global.set $end (i32.add (local.get $ptr) (local.get $len)))
    (global.set $bad (i32.const 0))
    (global.set $heap (global.get $top))
    (global.set $ptype (i32.const 0))
    (global.set $user (i32.const 0))
    (global.set $subject (i32.const 0))
    (global.set $actor (i32.const 0))
    (global.set $n_owners (i32.const 0))
    (global.set $first (i32.const 0))
    (global.set $last (i32.const 0))
    (call $object (global.get $ON_REQUEST))
    (call $ws)
    (if (i32.lt_u (global.get $p) (global.get $end)) (then (call $fail)))  ;; only whitespace may follow
    ;; then answer every item, in order
    (local.set $out (call $begin))
    (if (global.get $bad)
      (then (call $tpl (global.get $BAD_INPUT)))
      (else
        (call $tpl (global.get $ITEMS_OPEN))
        (local.set $it (global.get $first))
        (block $done
          (loop $next
            (br_if $done (i32.eqz (local.get $it)))
            (if (i32.ne (local.get $it) (global.get $first)) (then (call $byte (i32.const 0x2c))))
            (global.set $it (local.get $it))
            (call $tpl (call $decide (local.get $it)))
            (local.set $it (i32.load offset=24 (local.get $it)))
            (br $next)))
        (call $tpl (global.get $ITEMS_CLOSE))))
    (call $packed (local.get $out)))
)
