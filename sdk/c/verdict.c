/*
 * verdict.c: the Verdict C SDK's implementation (ABI v1). See verdict.h.
 *
 * Layout: system allocator (wasi-libc malloc, or a free-list allocator over
 * memory.grow when freestanding) · arenas · strings · JSON values and parser
 * · request decoding · criteria and decisions · JSON writer · exports.
 *
 * Build with __wasi__ defined (clang --target=wasm32-wasi) to use wasi-libc;
 * any other wasm32 target is freestanding. A native build (not __wasm__) is
 * for the SDK's unit tests and fuzzing (sdk/c/test): libc's malloc, plain
 * functions instead of exports, and the answer kept in vd_test_out.
 */
#include "verdict.h"

#ifdef __wasm__
#define EXPORT(name) __attribute__((export_name(name)))
#else
#define EXPORT(name)
#endif

/* Nesting limit of the JSON parser, as in the Go SDK. */
#define MAX_DEPTH 512
/* verdict_alloc refuses (returns 0) buffers over 256 MiB. */
#define MAX_ALLOC (256u << 20)

static void copy_bytes(void *dst, const void *src, size_t n) { __builtin_memcpy(dst, src, n); }
static void zero_bytes(void *dst, size_t n) { __builtin_memset(dst, 0, n); }

/* ---- system allocator --------------------------------------------------- */

#if defined(__wasi__) || !defined(__wasm__)
#include <stdlib.h>
static void *sys_alloc(size_t n) { return malloc(n); }
static void sys_free(void *p) { free(p); }
#else
/* A first-fit free list over memory.grow. Blocks carry their size in an
 * 8-byte header; a freed block at the top of the heap lowers the top, others
 * go on the free list and are reused for requests they can hold. The host
 * allocates few buffers (it reuses one input buffer per instance) and the
 * arenas keep their chunks, so this stays small and does not grow per call. */
extern unsigned char __heap_base;
typedef struct block {
    size_t size; /* usable bytes after the header */
    struct block *next;
} block;
static uintptr_t heap_top;
static block *free_list;

static void *sys_alloc(size_t n) {
    n = (n + 15) & ~(size_t)15;
    block **pp = &free_list;
    for (block *b = free_list; b; pp = &b->next, b = b->next) {
        if (b->size >= n && b->size <= 2 * n + 64) {
            *pp = b->next;
            return (char *)b + 16;
        }
    }
    if (!heap_top) heap_top = ((uintptr_t)&__heap_base + 15) & ~(uintptr_t)15;
    uintptr_t start = heap_top, end = start + 16 + n;
    if (end < start) return NULL;
    size_t have = __builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        size_t pages = (end - have + 65535) / 65536;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return NULL;
    }
    heap_top = end;
    block *b = (block *)start;
    b->size = n;
    return (char *)b + 16;
}

static void sys_free(void *p) {
    if (!p) return;
    block *b = (block *)((char *)p - 16);
    if ((uintptr_t)p + b->size == heap_top) {
        heap_top = (uintptr_t)b;
        return;
    }
    b->next = free_list;
    free_list = b;
}
#endif

/* ---- arenas -------------------------------------------------------------- */

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
} chunk;

typedef struct arena {
    chunk *first, *cur;
} arena;

static arena call_arena;   /* reset at the start of every call */
static arena config_arena; /* never reset: configure's results */
static arena *cur_arena = &call_arena;

#define CHUNK_MIN (64u << 10)

static chunk *new_chunk(size_t size) {
    chunk *c = sys_alloc(sizeof(chunk) + size);
    if (!c) __builtin_trap(); /* out of memory: the host denies the batch */
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

/* arena_reset keeps one chunk as large as everything the last call used, so a
 * steady load allocates nothing from the system. */
static void arena_reset(arena *a) {
    if (!a->first) return;
    if (a->first->next) {
        size_t total = 0;
        for (chunk *c = a->first, *next; c; c = next) {
            next = c->next;
            total += c->size;
            sys_free(c);
        }
        a->first = new_chunk(total);
    }
    a->first->used = 0;
    a->cur = a->first;
}

static void *arena_alloc(arena *a, size_t n) {
    n = (n + 7) & ~(size_t)7;
    if (!a->cur) a->first = a->cur = new_chunk(n > CHUNK_MIN ? n : CHUNK_MIN);
    if (a->cur->size - a->cur->used < n) {
        size_t size = a->cur->size * 2;
        if (size < n) size = n;
        chunk *c = new_chunk(size);
        a->cur->next = c;
        a->cur = c;
    }
    void *p = (char *)(a->cur + 1) + a->cur->used;
    a->cur->used += n;
    zero_bytes(p, n);
    return p;
}

void *vd_alloc(size_t n) { return arena_alloc(cur_arena, n ? n : 1); }

/* ---- strings -------------------------------------------------------------- */

static size_t cstrlen(const char *s) {
    size_t n = 0;
    if (s)
        while (s[n]) n++;
    return n;
}

static int bytes_eq(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

vd_str vd_cstr(const char *s) { return (vd_str){s ? s : "", cstrlen(s)}; }
int vd_str_eq(vd_str a, vd_str b) { return a.len == b.len && bytes_eq(a.ptr, b.ptr, a.len); }
int vd_eq(vd_str s, const char *lit) { return vd_str_eq(s, vd_cstr(lit)); }
int vd_has_prefix(vd_str s, const char *prefix) {
    size_t n = cstrlen(prefix);
    return s.len >= n && bytes_eq(s.ptr, prefix, n);
}

vd_builder vd_builder_new(void) { return (vd_builder){0, 0, 0}; }

static void b_reserve(vd_builder *b, size_t extra) {
    if (b->cap - b->len >= extra) return;
    size_t cap = b->cap ? b->cap * 2 : 64;
    while (cap - b->len < extra) cap *= 2;
    char *buf = vd_alloc(cap);
    if (b->len) copy_bytes(buf, b->buf, b->len);
    b->buf = buf;
    b->cap = cap;
}

static void b_bytes(vd_builder *b, const char *p, size_t n) {
    b_reserve(b, n);
    if (n) copy_bytes(b->buf + b->len, p, n);
    b->len += n;
}

void vd_b_str(vd_builder *b, vd_str s) { b_bytes(b, s.ptr, s.len); }
void vd_b_cstr(vd_builder *b, const char *s) { b_bytes(b, s, cstrlen(s)); }
void vd_b_byte(vd_builder *b, char c) { b_bytes(b, &c, 1); }
vd_str vd_b_done(vd_builder *b) { return (vd_str){b->buf ? b->buf : "", b->len}; }

static vd_str str_copy(vd_str s) {
    char *p = vd_alloc(s.len);
    copy_bytes(p, s.ptr, s.len);
    return (vd_str){p, s.len};
}

/* ---- JSON values --------------------------------------------------------- */

static vd_value *new_value(vd_kind k) {
    vd_value *v = vd_alloc(sizeof *v);
    v->kind = k;
    return v;
}

static const vd_value null_value = {VD_NULL, 0, {"", 0}, 0, 0, 0};
static const vd_value true_value = {VD_BOOL, 1, {"", 0}, 0, 0, 0};
static const vd_value false_value = {VD_BOOL, 0, {"", 0}, 0, 0, 0};

const vd_value *vd_null(void) { return &null_value; }
const vd_value *vd_bool(int b) { return b ? &true_value : &false_value; }

const vd_value *vd_int(int64_t n) {
    char tmp[24];
    size_t i = sizeof tmp;
    uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (n < 0) tmp[--i] = '-';
    vd_value *v = new_value(VD_NUMBER);
    v->str = str_copy((vd_str){tmp + i, sizeof tmp - i});
    return v;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* number_end returns the end of the JSON number starting at p[0], or 0 when
 * there is none. */
static size_t number_end(const char *p, size_t n) {
    size_t i = 0;
    if (i < n && p[i] == '-') i++;
    if (i < n && p[i] == '0') i++;
    else if (i < n && p[i] >= '1' && p[i] <= '9')
        while (i < n && is_digit(p[i])) i++;
    else return 0;
    if (i < n && p[i] == '.') {
        i++;
        if (i >= n || !is_digit(p[i])) return 0;
        while (i < n && is_digit(p[i])) i++;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-')) i++;
        if (i >= n || !is_digit(p[i])) return 0;
        while (i < n && is_digit(p[i])) i++;
    }
    return i;
}

const vd_value *vd_number(const char *lit) {
    size_t n = cstrlen(lit);
    if (!n || number_end(lit, n) != n) return NULL;
    vd_value *v = new_value(VD_NUMBER);
    v->str = str_copy((vd_str){lit, n});
    return v;
}

const vd_value *vd_string(vd_str s) {
    vd_value *v = new_value(VD_STRING);
    v->str = s;
    return v;
}
const vd_value *vd_string_c(const char *s) { return vd_string(vd_cstr(s)); }

const vd_value *vd_array_n(const vd_value *const *items, size_t n) {
    vd_value *v = new_value(VD_ARRAY);
    const vd_value **a = vd_alloc(n * sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = items[i] ? items[i] : &null_value;
    v->items = a;
    v->len = n;
    return v;
}

const vd_value *vd_strings(const vd_str *items, size_t n) {
    vd_value *v = new_value(VD_ARRAY);
    const vd_value **a = vd_alloc(n * sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = vd_string(items[i]);
    v->items = a;
    v->len = n;
    return v;
}

const vd_value *vd_object_n(const vd_member *members, size_t n) {
    vd_value *v = new_value(VD_OBJECT);
    vd_member *m = vd_alloc(n * sizeof *m);
    for (size_t i = 0; i < n; i++) {
        m[i] = members[i];
        if (!m[i].value) m[i].value = &null_value;
    }
    v->members = m;
    v->len = n;
    return v;
}

vd_member vd_field(const char *key, const vd_value *v) { return (vd_member){vd_cstr(key), v}; }

static const vd_value *get(const vd_value *v, vd_str key) {
    if (!v || v->kind != VD_OBJECT) return NULL;
    for (size_t i = v->len; i-- > 0;)
        if (vd_str_eq(v->members[i].key, key)) return v->members[i].value;
    return NULL;
}
const vd_value *vd_get(const vd_value *v, const char *key) { return get(v, vd_cstr(key)); }

/* ---- JSON parser --------------------------------------------------------- */

typedef struct parser {
    const unsigned char *p, *end;
} parser;

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hex4(const unsigned char *p, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return 0;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(unsigned char *out, uint32_t r) {
    unsigned char t[4];
    size_t n;
    if (r < 0x80) { t[0] = (unsigned char)r; n = 1; }
    else if (r < 0x800) { t[0] = 0xC0 | (r >> 6); t[1] = 0x80 | (r & 0x3F); n = 2; }
    else if (r < 0x10000) { t[0] = 0xE0 | (r >> 12); t[1] = 0x80 | ((r >> 6) & 0x3F); t[2] = 0x80 | (r & 0x3F); n = 3; }
    else { t[0] = 0xF0 | (r >> 18); t[1] = 0x80 | ((r >> 12) & 0x3F); t[2] = 0x80 | ((r >> 6) & 0x3F); t[3] = 0x80 | (r & 0x3F); n = 4; }
    if (out) copy_bytes(out, t, n);
    return n;
}

/* utf8_len returns the length of the valid UTF-8 sequence at p (at most n
 * bytes available), or 0 when it is invalid (overlong, surrogate, past
 * U+10FFFF, cut short). */
static size_t utf8_len(const unsigned char *p, size_t n) {
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else return 0;
    if (n < len || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return len;
}

/* scan_string decodes the string whose opening quote is at ps->p into out
 * (when out is not NULL) and returns its decoded length; it moves ps->p past
 * the closing quote. Returns (size_t)-1 on a syntax error. Invalid UTF-8
 * bytes and lone surrogates become U+FFFD, as in Go's encoding/json. */
static size_t scan_string(parser *ps, unsigned char *out) {
    const unsigned char *p = ps->p + 1, *end = ps->end;
    size_t n = 0;
    for (;;) {
        if (p >= end) return (size_t)-1;
        unsigned char c = *p;
        if (c == '"') break;
        if (c < 0x20) return (size_t)-1;
        if (c == '\\') {
            if (p + 1 >= end) return (size_t)-1;
            unsigned char e = p[1];
            uint32_t r;
            p += 2;
            switch (e) {
            case '"': r = '"'; break;
            case '\\': r = '\\'; break;
            case '/': r = '/'; break;
            case 'b': r = '\b'; break;
            case 'f': r = '\f'; break;
            case 'n': r = '\n'; break;
            case 'r': r = '\r'; break;
            case 't': r = '\t'; break;
            case 'u':
                if (end - p < 4 || !hex4(p, &r)) return (size_t)-1;
                p += 4;
                if (r >= 0xD800 && r < 0xDC00) {
                    uint32_t lo;
                    if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' && hex4(p + 2, &lo) && lo >= 0xDC00 &&
                        lo < 0xE000) {
                        r = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
                        p += 6;
                    } else {
                        r = 0xFFFD;
                    }
                } else if (r >= 0xDC00 && r < 0xE000) {
                    r = 0xFFFD;
                }
                break;
            default:
                return (size_t)-1;
            }
            n += put_utf8(out ? out + n : NULL, r);
            continue;
        }
        size_t l = utf8_len(p, (size_t)(end - p));
        if (!l) {
            n += put_utf8(out ? out + n : NULL, 0xFFFD);
            p++;
            continue;
        }
        if (out) copy_bytes(out + n, p, l);
        n += l;
        p += l;
    }
    ps->p = p + 1;
    return n;
}

static int parse_string(parser *ps, vd_str *s) {
    const unsigned char *start = ps->p;
    size_t n = scan_string(ps, NULL);
    if (n == (size_t)-1) return 0;
    unsigned char *buf = vd_alloc(n);
    ps->p = start;
    scan_string(ps, buf);
    *s = (vd_str){(const char *)buf, n};
    return 1;
}

typedef struct node {
    struct node *next;
    vd_member m;
} node;

static const vd_value *parse_value(parser *ps, int depth);

static const vd_value *parse_array(parser *ps, int depth) {
    ps->p++;
    node *head = NULL, **tail = &head;
    size_t n = 0;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
    } else {
        for (;;) {
            const vd_value *v = parse_value(ps, depth + 1);
            if (!v) return NULL;
            node *nd = vd_alloc(sizeof *nd);
            nd->m.value = v;
            *tail = nd;
            tail = &nd->next;
            n++;
            skip_ws(ps);
            if (ps->p >= ps->end) return NULL;
            if (*ps->p == ',') { ps->p++; continue; }
            if (*ps->p == ']') { ps->p++; break; }
            return NULL;
        }
    }
    vd_value *v = new_value(VD_ARRAY);
    const vd_value **items = vd_alloc(n * sizeof *items);
    size_t i = 0;
    for (node *nd = head; nd; nd = nd->next) items[i++] = nd->m.value;
    v->items = items;
    v->len = n;
    return v;
}

static const vd_value *parse_object(parser *ps, int depth) {
    ps->p++;
    node *head = NULL, **tail = &head;
    size_t n = 0;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
    } else {
        for (;;) {
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"') return NULL;
            node *nd = vd_alloc(sizeof *nd);
            if (!parse_string(ps, &nd->m.key)) return NULL;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') return NULL;
            ps->p++;
            nd->m.value = parse_value(ps, depth + 1);
            if (!nd->m.value) return NULL;
            *tail = nd;
            tail = &nd->next;
            n++;
            skip_ws(ps);
            if (ps->p >= ps->end) return NULL;
            if (*ps->p == ',') { ps->p++; continue; }
            if (*ps->p == '}') { ps->p++; break; }
            return NULL;
        }
    }
    vd_value *v = new_value(VD_OBJECT);
    vd_member *members = vd_alloc(n * sizeof *members);
    size_t i = 0;
    for (node *nd = head; nd; nd = nd->next) members[i++] = nd->m;
    v->members = members;
    v->len = n;
    return v;
}

static int literal(parser *ps, const char *lit) {
    size_t n = cstrlen(lit);
    if ((size_t)(ps->end - ps->p) < n || !bytes_eq((const char *)ps->p, lit, n)) return 0;
    ps->p += n;
    return 1;
}

static const vd_value *parse_value(parser *ps, int depth) {
    if (depth > MAX_DEPTH) return NULL;
    skip_ws(ps);
    if (ps->p >= ps->end) return NULL;
    switch (*ps->p) {
    case '{': return parse_object(ps, depth);
    case '[': return parse_array(ps, depth);
    case '"': {
        vd_value *v = new_value(VD_STRING);
        return parse_string(ps, &v->str) ? v : NULL;
    }
    case 't': return literal(ps, "true") ? &true_value : NULL;
    case 'f': return literal(ps, "false") ? &false_value : NULL;
    case 'n': return literal(ps, "null") ? &null_value : NULL;
    default: {
        size_t n = number_end((const char *)ps->p, (size_t)(ps->end - ps->p));
        if (!n) return NULL;
        vd_value *v = new_value(VD_NUMBER);
        v->str = str_copy((vd_str){(const char *)ps->p, n});
        ps->p += n;
        return v;
    }
    }
}

const vd_value *vd_parse(const char *text, size_t len) {
    parser ps = {(const unsigned char *)text, (const unsigned char *)text + len};
    const vd_value *v = parse_value(&ps, 1);
    if (!v) return NULL;
    skip_ws(&ps);
    return ps.p == ps.end ? v : NULL;
}

/* ---- request decoding ---------------------------------------------------- */

/* get_string sets *out to key's string value; absent or null leaves it
 * empty. It returns 0 when the key holds another type. */
static int get_string(const vd_value *obj, const char *key, vd_str *out, int *present) {
    const vd_value *v = vd_get(obj, key);
    if (present) *present = 0;
    if (!v || v->kind == VD_NULL) return 1;
    if (v->kind != VD_STRING) return 0;
    *out = v->str;
    if (present) *present = 1;
    return 1;
}

static const char *decode_principal(const vd_value *v, vd_principal *p) {
    if (!v || v->kind != VD_OBJECT) return "principal is not an object";
    if (!get_string(v, "type", &p->type, NULL) || !get_string(v, "userEntityRef", &p->user_entity_ref, NULL) ||
        !get_string(v, "subject", &p->subject, NULL))
        return "principal: a field is not a string";
    const vd_value *refs = vd_get(v, "ownershipEntityRefs");
    if (refs && refs->kind != VD_NULL) {
        if (refs->kind != VD_ARRAY) return "principal: ownershipEntityRefs is not an array";
        vd_str *out = vd_alloc(refs->len * sizeof *out);
        for (size_t i = 0; i < refs->len; i++) {
            if (refs->items[i]->kind != VD_STRING) return "principal: ownershipEntityRefs holds a non-string";
            out[i] = refs->items[i]->str;
        }
        p->ownership_entity_refs = out;
        p->n_ownership_entity_refs = refs->len;
    }
    const vd_value *actor = vd_get(v, "actor");
    if (actor && actor->kind != VD_NULL) {
        if (actor->kind != VD_OBJECT) return "principal: actor is not an object";
        p->has_actor = 1;
        if (!get_string(actor, "type", &p->actor_type, NULL) || !get_string(actor, "subject", &p->actor_subject, NULL))
            return "principal: actor: a field is not a string";
    }
    return NULL;
}

static const char *decode_item(const vd_value *v, vd_item *it) {
    if (v->kind != VD_OBJECT) return "an item is not an object";
    if (!get_string(v, "id", &it->id, NULL)) return "item id is not a string";
    if (!get_string(v, "resourceRef", &it->resource_ref, &it->has_resource_ref)) return "item resourceRef is not a string";
    const vd_value *perm = vd_get(v, "permission");
    if (perm && perm->kind != VD_NULL) {
        if (perm->kind != VD_OBJECT) return "item permission is not an object";
        vd_permission *pm = &it->permission;
        if (!get_string(perm, "type", &pm->type, NULL) || !get_string(perm, "name", &pm->name, NULL) ||
            !get_string(perm, "resourceType", &pm->resource_type, NULL))
            return "permission: a field is not a string";
        const vd_value *attrs = vd_get(perm, "attributes");
        if (attrs && attrs->kind != VD_NULL) {
            if (attrs->kind != VD_OBJECT) return "permission attributes is not an object";
            if (!get_string(attrs, "action", &pm->action, NULL)) return "permission action is not a string";
        }
    }
    return NULL;
}

int vd_is_resource(const vd_permission *p) { return vd_eq(p->type, "resource"); }

/* ---- criteria and decisions ---------------------------------------------- */

const vd_criteria *vd_condition(const char *rule, vd_str resource_type, const vd_value *params) {
    vd_criteria *c = vd_alloc(sizeof *c);
    c->kind = VD_LEAF;
    c->rule = vd_cstr(rule);
    c->resource_type = resource_type;
    c->params = params;
    return c;
}

static const vd_criteria *op(vd_criteria_kind k, const vd_criteria *const *cs, size_t n) {
    vd_criteria *c = vd_alloc(sizeof *c);
    const vd_criteria **ch = vd_alloc(n * sizeof *ch);
    for (size_t i = 0; i < n; i++) ch[i] = cs[i];
    c->kind = k;
    c->children = ch;
    c->n = n;
    return c;
}
const vd_criteria *vd_all_of_n(const vd_criteria *const *cs, size_t n) { return op(VD_ALL_OF, cs, n); }
const vd_criteria *vd_any_of_n(const vd_criteria *const *cs, size_t n) { return op(VD_ANY_OF, cs, n); }
const vd_criteria *vd_not(const vd_criteria *c) { return op(VD_NOT, &c, 1); }

vd_decision vd_allow(const char *reason) { return (vd_decision){.result = VD_ALLOW, .reason = vd_cstr(reason)}; }
vd_decision vd_deny(const char *reason) { return (vd_decision){.result = VD_DENY, .reason = vd_cstr(reason)}; }
vd_decision vd_abstain(void) { return (vd_decision){.result = VD_ABSTAIN, .reason = {"", 0}}; }
vd_decision vd_with_reason(vd_decision d, vd_str reason) {
    d.reason = reason;
    return d;
}
vd_decision vd_conditional(const vd_item *item, const char *plugin_id, const vd_criteria *conditions) {
    return (vd_decision){.result = VD_CONDITIONAL,
                         .plugin_id = vd_cstr(plugin_id),
                         .resource_type = item->permission.resource_type,
                         .conditions = conditions,
                         .reason = {"", 0}};
}

/* check_criteria applies abi/SPEC.md §8: shapes, resource type, depth 32,
 * 1000 nodes. It returns NULL or what is wrong. */
static const char *check_criteria(const vd_criteria *c, vd_str rt, int depth, size_t *nodes) {
    if (!c) return "a criteria node is missing";
    if (depth > 32) return "criteria deeper than 32";
    if (++*nodes > 1000) return "criteria with more than 1000 nodes";
    switch (c->kind) {
    case VD_LEAF:
        if (!c->rule.len) return "a condition without rule";
        if (!vd_str_eq(c->resource_type, rt)) return "a condition for another resource type";
        if (c->params && c->params->kind != VD_OBJECT) return "condition params that are not an object";
        return NULL;
    case VD_ALL_OF:
    case VD_ANY_OF:
    case VD_NOT:
        if (!c->n || (c->kind == VD_NOT && c->n != 1)) return "an empty allOf or anyOf";
        for (size_t i = 0; i < c->n; i++) {
            const char *e = check_criteria(c->children[i], rt, depth + 1, nodes);
            if (e) return e;
        }
        return NULL;
    }
    return "a criteria node of unknown kind";
}

/* check_decision returns NULL when the host would accept d for it, else why
 * not; the SDK then answers DENY with that reason. */
static const char *check_decision(const vd_decision *d, const vd_item *it) {
    if (d->result == VD_CONDITIONAL) {
        if (!vd_is_resource(&it->permission)) return "conditional needs a resource permission";
        if (!d->plugin_id.len) return "conditional without pluginId";
        if (!vd_str_eq(d->resource_type, it->permission.resource_type)) return "conditional for another resource type";
        size_t nodes = 0;
        return check_criteria(d->conditions, d->resource_type, 1, &nodes);
    }
    if (d->result != VD_ALLOW && d->result != VD_DENY && d->result != VD_ABSTAIN) return "invalid result";
    if (d->plugin_id.len || d->resource_type.len || d->conditions) return "conditional fields on a non-conditional answer";
    return NULL;
}

/* ---- JSON writer ----------------------------------------------------------- */

static void w_string(vd_builder *b, vd_str s) {
    static const char hex[] = "0123456789abcdef";
    b_reserve(b, s.len + 2);
    vd_b_byte(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        b_bytes(b, s.ptr + start, i - start);
        start = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u'; esc[2] = '0'; esc[3] = '0'; esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
            n = 6;
        }
        b_bytes(b, esc, n);
    }
    /* An absent string is {NULL, 0}: no pointer arithmetic on NULL. */
    if (start < s.len) b_bytes(b, s.ptr + start, s.len - start);
    vd_b_byte(b, '"');
}

static void w_value(vd_builder *b, const vd_value *v) {
    switch (v ? v->kind : VD_NULL) {
    case VD_NULL: vd_b_cstr(b, "null"); return;
    case VD_BOOL: vd_b_cstr(b, v->boolean ? "true" : "false"); return;
    case VD_NUMBER: vd_b_str(b, v->str); return;
    case VD_STRING: w_string(b, v->str); return;
    case VD_ARRAY:
        vd_b_byte(b, '[');
        for (size_t i = 0; i < v->len; i++) {
            if (i) vd_b_byte(b, ',');
            w_value(b, v->items[i]);
        }
        vd_b_byte(b, ']');
        return;
    case VD_OBJECT:
        vd_b_byte(b, '{');
        for (size_t i = 0; i < v->len; i++) {
            if (i) vd_b_byte(b, ',');
            w_string(b, v->members[i].key);
            vd_b_byte(b, ':');
            w_value(b, v->members[i].value);
        }
        vd_b_byte(b, '}');
        return;
    }
}

static void w_criteria(vd_builder *b, const vd_criteria *c) {
    switch (c->kind) {
    case VD_LEAF:
        vd_b_cstr(b, "{\"rule\":");
        w_string(b, c->rule);
        vd_b_cstr(b, ",\"resourceType\":");
        w_string(b, c->resource_type);
        if (c->params) {
            vd_b_cstr(b, ",\"params\":");
            w_value(b, c->params);
        }
        vd_b_byte(b, '}');
        return;
    case VD_NOT:
        vd_b_cstr(b, "{\"not\":");
        w_criteria(b, c->children[0]);
        vd_b_byte(b, '}');
        return;
    default:
        vd_b_cstr(b, c->kind == VD_ALL_OF ? "{\"allOf\":[" : "{\"anyOf\":[");
        for (size_t i = 0; i < c->n; i++) {
            if (i) vd_b_byte(b, ',');
            w_criteria(b, c->children[i]);
        }
        vd_b_cstr(b, "]}");
        return;
    }
}

static const char *const result_names[] = {"ABSTAIN", "ALLOW", "DENY", "CONDITIONAL"};

static void w_answer(vd_builder *b, const vd_item *it, const vd_decision *d) {
    vd_b_cstr(b, "{\"id\":");
    w_string(b, it->id);
    vd_b_cstr(b, ",\"result\":\"");
    vd_b_cstr(b, result_names[d->result]);
    vd_b_byte(b, '"');
    if (d->result == VD_CONDITIONAL) {
        vd_b_cstr(b, ",\"pluginId\":");
        w_string(b, d->plugin_id);
        vd_b_cstr(b, ",\"resourceType\":");
        w_string(b, d->resource_type);
        vd_b_cstr(b, ",\"conditions\":");
        w_criteria(b, d->conditions);
    }
    if (d->reason.len) {
        vd_b_cstr(b, ",\"reason\":");
        w_string(b, d->reason);
    }
    vd_b_byte(b, '}');
}

/* ---- logging --------------------------------------------------------------- */

#ifdef __wasm__
__attribute__((import_module("verdict:host/v1"), import_name("log"))) void vd_host_log(int32_t level, const char *ptr,
                                                                                     size_t len);
#else
/* Native builds: the tests define it. */
void vd_host_log(int32_t level, const char *ptr, size_t len);
#endif

void vd_log(int level, vd_str msg) { vd_host_log(level, msg.ptr, msg.len); }

/* ---- exports --------------------------------------------------------------- */

#ifdef __wasm__
static uint64_t pack(vd_str s) { return ((uint64_t)(uintptr_t)s.ptr << 32) | (uint64_t)s.len; }
#else
/* Native builds: a pointer does not fit in 32 bits, so the answer is kept
 * in vd_test_out (valid until the next call) and pack returns its length. */
vd_str vd_test_out;
static uint64_t pack(vd_str s) {
    vd_test_out = s;
    return (uint64_t)s.len;
}
#endif

static uint64_t error_envelope(const char *code, const char *message) {
    vd_builder b = vd_builder_new();
    vd_b_cstr(&b, "{\"error\":{\"code\":");
    w_string(&b, vd_cstr(code));
    vd_b_cstr(&b, ",\"message\":");
    w_string(&b, vd_cstr(message));
    vd_b_cstr(&b, "}}");
    return pack(vd_b_done(&b));
}

static void begin_call(void) {
    cur_arena = &call_arena;
    arena_reset(&call_arena);
}

EXPORT("verdict_abi_v1") void verdict_abi_v1(void) {}

EXPORT("verdict_alloc") void *verdict_alloc(uint32_t size) {
    if (size > MAX_ALLOC) return NULL;
    return sys_alloc(size ? size : 1);
}

EXPORT("verdict_free") void verdict_free(void *ptr, uint32_t size) {
    (void)size;
    sys_free(ptr);
}

static const vd_policy *valid_policy(void) {
    const vd_policy *p = &verdict_policy;
    if (!p->name || !p->version || !p->decide || (!p->claims && !p->claims_fn)) return NULL;
    return p;
}

EXPORT("verdict_evaluate") uint64_t verdict_evaluate(const char *ptr, uint32_t len) {
    begin_call();
    const vd_policy *pol = valid_policy();
    if (!pol) return error_envelope("no_policy", "verdict_policy lacks name, version, claims or decide");
    const vd_value *req = vd_parse(ptr, len);
    if (!req || req->kind != VD_OBJECT) return error_envelope("bad_input", "input is not a JSON object");
    vd_principal principal;
    zero_bytes(&principal, sizeof principal);
    const char *err = decode_principal(vd_get(req, "principal"), &principal);
    if (err) return error_envelope("bad_input", err);
    const vd_value *items = vd_get(req, "items");
    if (!items || items->kind != VD_ARRAY) return error_envelope("bad_input", "items is not an array");
    vd_item *its = vd_alloc(items->len * sizeof *its);
    for (size_t i = 0; i < items->len; i++)
        if ((err = decode_item(items->items[i], &its[i]))) return error_envelope("bad_input", err);

    vd_builder b = vd_builder_new();
    b_reserve(&b, 16 + items->len * 64);
    vd_b_cstr(&b, "{\"items\":[");
    for (size_t i = 0; i < items->len; i++) {
        vd_decision d = pol->decide(&principal, &its[i]);
        const char *bad = check_decision(&d, &its[i]);
        if (bad) {
            vd_builder m = vd_builder_new();
            vd_b_cstr(&m, "verdict: invalid answer for ");
            vd_b_str(&m, its[i].permission.name);
            vd_b_cstr(&m, " became DENY: ");
            vd_b_cstr(&m, bad);
            vd_log(VD_LOG_WARN, vd_b_done(&m));
            d = vd_deny(bad);
        }
        if (i) vd_b_byte(&b, ',');
        w_answer(&b, &its[i], &d);
    }
    vd_b_cstr(&b, "]}");
    return pack(vd_b_done(&b));
}

static const char *const *current_claims(const vd_policy *pol) {
    return pol->claims_fn ? pol->claims_fn() : pol->claims;
}

EXPORT("verdict_describe") uint64_t verdict_describe(void) {
    begin_call();
    const vd_policy *pol = valid_policy();
    if (!pol) return 0;
    const char *const *claims = current_claims(pol);
    if (!claims) return 0;
    vd_builder b = vd_builder_new();
    vd_b_cstr(&b, "{\"abi\":\"1.0\",\"name\":");
    w_string(&b, vd_cstr(pol->name));
    vd_b_cstr(&b, ",\"version\":");
    w_string(&b, vd_cstr(pol->version));
    vd_b_cstr(&b, ",\"sdk\":\"c/" VERDICT_SDK_VERSION "\",\"claims\":[");
    for (size_t i = 0; claims[i]; i++) {
        if (!claims[i][0]) return 0; /* an empty claim is a mistake */
        if (i) vd_b_byte(&b, ',');
        w_string(&b, vd_cstr(claims[i]));
    }
    vd_b_cstr(&b, "]}");
    return pack(vd_b_done(&b));
}

EXPORT("verdict_configure") uint64_t verdict_configure(const char *ptr, uint32_t len) {
    begin_call();
    const vd_policy *pol = valid_policy();
    if (!pol) return error_envelope("no_policy", "verdict_policy lacks name, version, claims or decide");
    /* Parse into the persistent arena: the policy may keep what it gets. */
    cur_arena = &config_arena;
    const vd_value *in = vd_parse(ptr, len);
    vd_settings s;
    zero_bytes(&s, sizeof s);
    const char *bad = NULL;
    if (!in || in->kind != VD_OBJECT) bad = "configure input is not a JSON object";
    const vd_value *settings = vd_get(in, "settings");
    if (settings && settings->kind != VD_NULL) s.value = settings;
    const vd_value *files = vd_get(in, "files");
    if (!bad && files && files->kind != VD_NULL) {
        if (files->kind != VD_OBJECT) bad = "configure files is not an object";
        else {
            vd_file *fs = vd_alloc(files->len * sizeof *fs);
            for (size_t i = 0; i < files->len && !bad; i++) {
                if (files->members[i].value->kind != VD_STRING) bad = "a configure file is not a string";
                fs[i] = (vd_file){files->members[i].key, files->members[i].value->str};
            }
            s.files = fs;
            s.n_files = files->len;
        }
    }
    vd_error e = {0, 0};
    int failed = 0;
    if (!bad) {
        if (pol->configure) failed = pol->configure(&s, &e);
        else if (s.value || s.n_files) e = (vd_error){"invalid_settings", "this policy takes no settings or files"}, failed = 1;
    }
    cur_arena = &call_arena;
    if (bad) return error_envelope("bad_input", bad);
    if (failed) return error_envelope(e.code ? e.code : "invalid_settings", e.message ? e.message : "settings refused");
    static const char ok[] = "{\"ok\":true}";
    return pack((vd_str){ok, sizeof ok - 1});
}
