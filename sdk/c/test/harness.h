/*
 * harness.h: a small assertion harness for the C SDK's native unit tests
 * (sdk/c/test). Each test binary defines its cases with TEST, lists them in
 * main with RUN, and ends with DONE(), which prints "N passed, N failed" and
 * sets the exit status.
 *
 * The SDK is compiled natively (not __wasm__): verdict_evaluate and friends
 * are plain functions, and the answer of the last call is in vd_test_out.
 */
#ifndef VERDICT_TEST_HARNESS_H
#define VERDICT_TEST_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict.h"

/* The SDK's entry points and the native answer slot (verdict.c). */
extern vd_str vd_test_out;
uint64_t verdict_evaluate(const char *ptr, uint32_t len);
uint64_t verdict_describe(void);
uint64_t verdict_configure(const char *ptr, uint32_t len);
void *verdict_alloc(uint32_t size);
void verdict_free(void *ptr, uint32_t size);

static int h_failed_checks, h_passed, h_failed;

/* The host's log: the last line is kept so tests can look at it. */
static char h_last_log[4096];
static int h_last_level = -1;
void vd_host_log(int32_t level, const char *ptr, size_t len) {
    if (len >= sizeof h_last_log) len = sizeof h_last_log - 1;
    memcpy(h_last_log, ptr, len);
    h_last_log[len] = 0;
    h_last_level = level;
}

#define TEST(name) static void name(void)
#define RUN(name)                                                                  \
    do {                                                                           \
        int before = h_failed_checks;                                              \
        name();                                                                    \
        if (h_failed_checks == before) h_passed++;                                 \
        else { h_failed++; fprintf(stderr, "FAIL %s\n", #name); }                  \
    } while (0)
#define DONE()                                                                     \
    do {                                                                           \
        fflush(stderr);                                                            \
        printf("%d passed, %d failed\n", h_passed, h_failed);                     \
        return h_failed ? 1 : 0;                                                   \
    } while (0)

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            h_failed_checks++;                                                     \
        }                                                                          \
    } while (0)

/* h_show prints s with non-printable bytes escaped (for failure messages). */
static inline void h_show(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7f) fputc(c, stderr);
        else fprintf(stderr, "\\x%02x", c);
    }
}

#define CHECK_BYTES(got_ptr, got_len, want_ptr, want_len)                          \
    do {                                                                           \
        size_t gl_ = (got_len), wl_ = (want_len);                                  \
        if (gl_ != wl_ || memcmp((got_ptr), (want_ptr), gl_) != 0) {               \
            fprintf(stderr, "%s:%d: got  ", __FILE__, __LINE__);                   \
            h_show((got_ptr), gl_);                                                \
            fprintf(stderr, "\n%s:%d: want ", __FILE__, __LINE__);                 \
            h_show((want_ptr), wl_);                                               \
            fprintf(stderr, "\n");                                                 \
            h_failed_checks++;                                                     \
        }                                                                          \
    } while (0)
#define CHECK_STR(got, want_lit) CHECK_BYTES((got).ptr, (got).len, (want_lit), sizeof(want_lit) - 1)

/* h_call gives the n bytes at text to fn in a buffer of exactly n bytes (so
 * AddressSanitizer catches any read past the end) and returns the answer. */
static inline vd_str h_call(uint64_t (*fn)(const char *, uint32_t), const char *text, size_t n) {
    char *buf = malloc(n ? n : 1);
    memcpy(buf, text, n);
    vd_test_out = (vd_str){0, 0};
    fn(buf, (uint32_t)n);
    free(buf);
    return vd_test_out;
}
static inline vd_str h_eval_n(const char *text, size_t n) { return h_call(verdict_evaluate, text, n); }
#define h_eval(lit) h_eval_n((lit), sizeof(lit) - 1)
#define h_conf(lit) h_call(verdict_configure, (lit), sizeof(lit) - 1)
#define CHECK_EVAL(input_lit, want_lit) CHECK_STR(h_eval(input_lit), want_lit)

/* h_has reports whether s contains the NUL-terminated needle. */
static inline int h_has(vd_str s, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= s.len; i++)
        if (memcmp(s.ptr + i, needle, n) == 0) return 1;
    return 0;
}

#endif
