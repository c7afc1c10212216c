/*
 * verdict.h: the Verdict C SDK, ABI v1 (see abi/SPEC.md).
 *
 * A policy is one C file that includes this header and defines one constant,
 * `verdict_policy`; the SDK (verdict.c) supplies every export the host needs
 * (verdict_abi_v1, verdict_alloc, verdict_free, verdict_evaluate,
 * verdict_describe, verdict_configure), decodes the host's JSON and encodes
 * the answers. Two builds are supported:
 *
 *   with wasi-libc (a WASI reactor; malloc/free from wasi-libc):
 *     clang --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -mbulk-memory -Os \
 *       -I sdk/c -Wl,--strip-all -o policy.wasm policy.c sdk/c/verdict.c
 *
 *   freestanding (no libc, no imports; the SDK's own allocator):
 *     clang --target=wasm32 -nostdlib -Os -mbulk-memory -I sdk/c \
 *       -Wl,--no-entry -Wl,--export-dynamic -Wl,--strip-all \
 *       -o policy.wasm policy.c sdk/c/verdict.c
 *
 * Memory. Everything the SDK hands to a policy during a call (decoded
 * strings, criteria, values, text built with vd_builder) lives in an arena
 * that is reset at the start of the next call, so a policy never frees and
 * memory does not grow from call to call: it stays at the largest batch seen.
 * What a policy builds inside `configure` lives in a second arena that is
 * never reset (configure runs once per instance), so settings parsed there
 * may be kept in static variables and used by every later call.
 *
 * Strings. vd_str is a pointer and a length, always valid UTF-8 (the decoder
 * replaces invalid bytes and lone surrogates by U+FFFD), NOT NUL-terminated
 * and possibly containing NUL bytes ("\u0000" in JSON is a valid character).
 * Compare with vd_eq / vd_has_prefix, never with strcmp.
 */
#ifndef VERDICT_H
#define VERDICT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VERDICT_SDK_VERSION "0.1.0"

/* ---- strings ---------------------------------------------------------- */

/* vd_str is a UTF-8 string slice: ptr and len bytes, not NUL-terminated. */
typedef struct vd_str {
    const char *ptr;
    size_t len;
} vd_str;

/* VD_STR makes a vd_str from a string literal (its length known at compile
 * time). vd_cstr does the same for any NUL-terminated string. */
#define VD_STR(lit) ((vd_str){(lit), sizeof(lit) - 1})
vd_str vd_cstr(const char *s);

/* vd_eq reports whether s is exactly the NUL-terminated string lit. */
int vd_eq(vd_str s, const char *lit);
/* vd_str_eq reports whether a and b hold the same bytes. */
int vd_str_eq(vd_str a, vd_str b);
/* vd_has_prefix reports whether s starts with the NUL-terminated prefix. */
int vd_has_prefix(vd_str s, const char *prefix);

/* vd_builder builds a string in the current arena:
 *   vd_builder b = vd_builder_new();
 *   vd_b_cstr(&b, "name="); vd_b_str(&b, it->permission.name);
 *   vd_str s = vd_b_done(&b);
 */
typedef struct vd_builder {
    char *buf;
    size_t len, cap;
} vd_builder;
vd_builder vd_builder_new(void);
void vd_b_str(vd_builder *b, vd_str s);
void vd_b_cstr(vd_builder *b, const char *s);
void vd_b_byte(vd_builder *b, char c);
vd_str vd_b_done(vd_builder *b);

/* vd_alloc returns n zeroed bytes from the current arena (reset with the
 * next call; see "Memory" above), or NULL when memory is exhausted. */
void *vd_alloc(size_t n);

/* ---- JSON values (condition params, settings) --------------------------- */

typedef enum vd_kind {
    VD_NULL = 0,
    VD_BOOL,
    VD_NUMBER, /* str holds the number's literal text, e.g. "42" or "-1.5" */
    VD_STRING,
    VD_ARRAY,
    VD_OBJECT
} vd_kind;

typedef struct vd_value vd_value;

/* vd_member is one key of a JSON object. */
typedef struct vd_member {
    vd_str key;
    const vd_value *value;
} vd_member;

/* vd_value is a JSON value. Objects keep their members in input order;
 * a repeated key keeps every occurrence (vd_get returns the last). */
struct vd_value {
    vd_kind kind;
    int boolean;                 /* VD_BOOL */
    vd_str str;                  /* VD_STRING (decoded) or VD_NUMBER (literal) */
    size_t len;                  /* VD_ARRAY items, VD_OBJECT members */
    const vd_value *const *items;
    const vd_member *members;
};

const vd_value *vd_null(void);
const vd_value *vd_bool(int b);
const vd_value *vd_int(int64_t n);
/* vd_number makes a number from its JSON literal text ("-1.5", "1e3"); it
 * returns NULL when lit is not a valid JSON number. */
const vd_value *vd_number(const char *lit);
const vd_value *vd_string(vd_str s);
const vd_value *vd_string_c(const char *s);
const vd_value *vd_array_n(const vd_value *const *items, size_t n);
/* vd_strings makes an array of strings (e.g. a principal's ownership refs). */
const vd_value *vd_strings(const vd_str *items, size_t n);
const vd_value *vd_object_n(const vd_member *members, size_t n);
/* vd_field makes one object member (a condition parameter). */
vd_member vd_field(const char *key, const vd_value *v);

/* vd_array(a, b, ...) and vd_object(vd_field(..), ...): variadic forms. */
#define vd_array(...)                                                         \
    vd_array_n((const vd_value *const[]){__VA_ARGS__},                        \
               sizeof((const vd_value *const[]){__VA_ARGS__}) / sizeof(const vd_value *))
#define vd_object(...)                                                        \
    vd_object_n((const vd_member[]){__VA_ARGS__},                             \
                sizeof((const vd_member[]){__VA_ARGS__}) / sizeof(vd_member))

/* vd_get returns the value of key in an object, or NULL when v is not an
 * object or has no such key. */
const vd_value *vd_get(const vd_value *v, const char *key);

/* vd_parse parses JSON text into the current arena; NULL when invalid. */
const vd_value *vd_parse(const char *text, size_t len);

/* ---- the request ------------------------------------------------------- */

/* vd_principal is who asks. type is "user", "service" or "none". Absent
 * strings are empty (len 0). */
typedef struct vd_principal {
    vd_str type;
    vd_str user_entity_ref;             /* users */
    const vd_str *ownership_entity_refs; /* users; may be empty */
    size_t n_ownership_entity_refs;
    int has_actor;                      /* a service acts for the user */
    vd_str actor_type, actor_subject;
    vd_str subject;                     /* services */
} vd_principal;

/* vd_permission is what is asked. type is "basic" or "resource"; action is
 * "create", "read", "update", "delete" or empty; resource_type is set
 * exactly for resource permissions. */
typedef struct vd_permission {
    vd_str type, name, action, resource_type;
} vd_permission;

/* vd_item is one question of a batch. has_resource_ref tells an absent
 * resourceRef from a present empty one. */
typedef struct vd_item {
    vd_str id;
    vd_permission permission;
    int has_resource_ref;
    vd_str resource_ref;
} vd_item;

/* vd_is_resource reports whether the permission is a resource permission. */
int vd_is_resource(const vd_permission *p);

/* ---- criteria ---------------------------------------------------------- */

typedef enum vd_criteria_kind { VD_LEAF = 1, VD_ALL_OF, VD_ANY_OF, VD_NOT } vd_criteria_kind;

/* vd_criteria is a Backstage permission criteria tree (abi/SPEC.md §8). */
typedef struct vd_criteria vd_criteria;
struct vd_criteria {
    vd_criteria_kind kind;
    vd_str rule, resource_type;    /* VD_LEAF */
    const vd_value *params;        /* VD_LEAF: an object, or NULL for none */
    const vd_criteria *const *children; /* VD_ALL_OF, VD_ANY_OF (n >= 1), VD_NOT (n == 1) */
    size_t n;
};

/* vd_condition makes a leaf; params is an object (vd_object) or NULL. */
const vd_criteria *vd_condition(const char *rule, vd_str resource_type, const vd_value *params);
const vd_criteria *vd_all_of_n(const vd_criteria *const *cs, size_t n);
const vd_criteria *vd_any_of_n(const vd_criteria *const *cs, size_t n);
const vd_criteria *vd_not(const vd_criteria *c);
#define vd_all_of(...)                                                        \
    vd_all_of_n((const vd_criteria *const[]){__VA_ARGS__},                    \
                sizeof((const vd_criteria *const[]){__VA_ARGS__}) / sizeof(const vd_criteria *))
#define vd_any_of(...)                                                        \
    vd_any_of_n((const vd_criteria *const[]){__VA_ARGS__},                    \
                sizeof((const vd_criteria *const[]){__VA_ARGS__}) / sizeof(const vd_criteria *))

/* ---- decisions --------------------------------------------------------- */

typedef enum vd_result {
    VD_ABSTAIN = 0, /* no opinion: other modules or the default decide */
    VD_ALLOW,
    VD_DENY,
    VD_CONDITIONAL
} vd_result;

/* vd_decision is the answer to one item. plugin_id, resource_type and
 * conditions only for VD_CONDITIONAL; reason is optional (empty = none). An
 * answer the host would reject (a CONDITIONAL for a basic permission, without
 * plugin id or conditions, with another resource type or invalid criteria)
 * is turned into DENY with a reason saying why, and logged. */
typedef struct vd_decision {
    vd_result result;
    vd_str plugin_id;
    vd_str resource_type;
    const vd_criteria *conditions;
    vd_str reason;
} vd_decision;

vd_decision vd_allow(const char *reason);  /* reason may be NULL */
vd_decision vd_deny(const char *reason);
vd_decision vd_abstain(void);
vd_decision vd_with_reason(vd_decision d, vd_str reason);
/* vd_conditional answers CONDITIONAL for item's permission: resource_type is
 * the permission's resource type. */
vd_decision vd_conditional(const vd_item *item, const char *plugin_id, const vd_criteria *conditions);

/* ---- configure --------------------------------------------------------- */

/* vd_file is one text file of the module's NAME.d/ directory. */
typedef struct vd_file {
    vd_str name, text;
} vd_file;

/* vd_settings is what configure receives: the settings file as JSON (value
 * is NULL when there is no settings file) and the NAME.d/ files. It lives in
 * the persistent arena: a policy may keep pointers into it. */
typedef struct vd_settings {
    const vd_value *value;
    vd_str raw;
    const vd_file *files;
    size_t n_files;
} vd_settings;

/* vd_error is configure's failure: code and message are shown at load. */
typedef struct vd_error {
    const char *code, *message;
} vd_error;

/* ---- the policy -------------------------------------------------------- */

/* vd_policy describes the module. Every policy defines exactly one:
 *
 *   const vd_policy verdict_policy = {
 *       .name = "catalog-owner", .version = "1.0.0",
 *       .claims = (const char *const[]){"catalog.*", NULL},
 *       .decide = decide,
 *   };
 *
 * name, version, claims (NULL-terminated, at least one) and decide are
 * required. configure is optional: it runs once at load with the settings
 * and returns 0, or fills err and returns non-zero to refuse the module.
 * Without configure, a module refuses any settings file or NAME.d/ files.
 * claims_fn, when set, replaces claims after configure (claims that depend
 * on settings); it returns a NULL-terminated list. */
typedef struct vd_policy {
    const char *name;
    const char *version;
    const char *const *claims;
    vd_decision (*decide)(const vd_principal *p, const vd_item *item);
    int (*configure)(const vd_settings *s, vd_error *err);
    const char *const *(*claims_fn)(void);
} vd_policy;

extern const vd_policy verdict_policy;

/* ---- logging ----------------------------------------------------------- */

enum { VD_LOG_DEBUG = 0, VD_LOG_INFO = 1, VD_LOG_WARN = 2, VD_LOG_ERROR = 3 };
/* vd_log writes to the host's log (verdict:host/v1 log). */
void vd_log(int level, vd_str msg);

#ifdef __cplusplus
}
#endif
#endif /* VERDICT_H */
