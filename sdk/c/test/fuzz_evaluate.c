/*
 * fuzz_evaluate.c: a libFuzzer target for the C SDK's reader and writer. Any
 * bytes go to verdict_evaluate of the conformance policy; the answer must be
 * a JSON object (answers or an error envelope) that the SDK's own parser
 * reads back. AddressSanitizer and UBSan catch out-of-bounds reads and
 * undefined behaviour. Seeds are in corpus/.
 *
 *   make sdk-c-fuzz SDK_C_FUZZTIME=60     runs it for 60 seconds
 */
#include <stdint.h>
#include <stdlib.h>

#include "verdict.h"

extern vd_str vd_test_out;
uint64_t verdict_evaluate(const char *ptr, uint32_t len);

void vd_host_log(int32_t level, const char *ptr, size_t len) {
    (void)level;
    (void)ptr;
    (void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    vd_test_out = (vd_str){0, 0};
    verdict_evaluate((const char *)data, (uint32_t)size);
    vd_str out = vd_test_out;
    const vd_value *v = vd_parse(out.ptr, out.len);
    if (!v || v->kind != VD_OBJECT) abort();
    const vd_value *items = vd_get(v, "items"), *err = vd_get(v, "error");
    if (!(items && items->kind == VD_ARRAY) && !(err && err->kind == VD_OBJECT)) abort();
    return 0;
}
