/*
 * conformance.c: ABI v1's reference conformance policy (abi/SPEC.md §15) with
 * the C SDK. Its answer is a pure function of the permission name and, for
 * the owner condition and the echoed reason, of the decoded inputs; the
 * shared corpus in abi/testdata/conformance checks it through the real host.
 *
 *   make sdks    builds build/sdk/c/conformance.wasm (wasi-libc) and
 *                build/sdk/c/conformance-freestanding.wasm
 */
#include "verdict.h"

/* dash is s, or "-" when s is empty. */
static vd_str dash(vd_str s) { return s.len ? s : VD_STR("-"); }

/* echo is the reason of conf.reason: the decoded inputs, space separated. */
static vd_str echo(const vd_principal *p, const vd_item *it) {
    vd_builder b = vd_builder_new();
    vd_b_cstr(&b, "name=");
    vd_b_str(&b, it->permission.name);
    vd_b_cstr(&b, " type=");
    vd_b_str(&b, it->permission.type);
    vd_b_cstr(&b, " action=");
    vd_b_str(&b, dash(it->permission.action));
    vd_b_cstr(&b, " resourceType=");
    vd_b_str(&b, dash(it->permission.resource_type));
    vd_b_cstr(&b, " ref=");
    vd_b_str(&b, it->has_resource_ref ? it->resource_ref : VD_STR("-"));
    vd_b_cstr(&b, " principal=");
    vd_b_str(&b, p->type);
    vd_b_cstr(&b, " user=");
    vd_b_str(&b, dash(p->user_entity_ref));
    vd_b_cstr(&b, " subject=");
    vd_b_str(&b, dash(p->subject));
    vd_b_cstr(&b, " actor=");
    vd_b_str(&b, p->has_actor ? dash(p->actor_subject) : VD_STR("-"));
    vd_b_cstr(&b, " owners=");
    for (size_t i = 0; i < p->n_ownership_entity_refs; i++) {
        if (i) vd_b_byte(&b, ',');
        vd_b_str(&b, p->ownership_entity_refs[i]);
    }
    return vd_b_done(&b);
}

/* conditions returns the criteria named by a conf.cond.* name, or NULL. */
static const vd_criteria *conditions(vd_str name, const vd_principal *p, vd_str rt) {
    const vd_criteria *owner = vd_condition(
        "IS_OWNER", rt, vd_object(vd_field("claims", vd_strings(p->ownership_entity_refs, p->n_ownership_entity_refs))));
    const vd_criteria *pub = vd_condition("IS_PUBLIC", rt, NULL);
    const vd_criteria *kind = vd_condition(
        "IS_KIND", rt, vd_object(vd_field("kinds", vd_array(vd_string_c("Group"), vd_string_c("User")))));
    if (vd_eq(name, "conf.cond.owner")) return owner;
    if (vd_eq(name, "conf.cond.noparams")) return pub;
    if (vd_eq(name, "conf.cond.params"))
        return vd_condition("HAS_VALUES", rt,
                            vd_object(vd_field("s", vd_string_c("text \"quoted\" \\ ünïcødé ✓")),
                                      vd_field("n", vd_int(42)), vd_field("f", vd_number("-1.5")),
                                      vd_field("t", vd_bool(1)), vd_field("no", vd_bool(0)), vd_field("z", vd_null()),
                                      vd_field("list", vd_array(vd_string_c("a"), vd_int(1), vd_bool(1), vd_null()))));
    if (vd_eq(name, "conf.cond.not")) return vd_not(kind);
    if (vd_eq(name, "conf.cond.allof")) return vd_all_of(owner, pub);
    if (vd_eq(name, "conf.cond.anyof")) return vd_any_of(owner, vd_not(kind));
    if (vd_eq(name, "conf.cond.nested"))
        return vd_any_of(vd_all_of(owner, vd_not(vd_any_of(kind, pub))), vd_not(vd_not(pub)));
    return NULL;
}

static vd_decision decide(const vd_principal *p, const vd_item *it) {
    vd_str name = it->permission.name;
    if (vd_eq(name, "conf.allow")) return vd_allow(NULL);
    if (vd_eq(name, "conf.deny")) return vd_deny(NULL);
    if (vd_eq(name, "conf.abstain")) return vd_abstain();
    if (vd_eq(name, "conf.allow.reason")) return vd_allow("allowed by conformance policy");
    if (vd_eq(name, "conf.deny.reason")) return vd_deny("denied by conformance policy");
    if (vd_eq(name, "conf.reason")) return vd_with_reason(vd_allow(NULL), echo(p, it));
    if (!vd_has_prefix(name, "conf.cond.")) return vd_abstain();
    if (!vd_is_resource(&it->permission)) return vd_deny("conditional needs a resource permission");
    const vd_criteria *c = conditions(name, p, it->permission.resource_type);
    if (!c) return vd_abstain();
    return vd_conditional(it, "conf", c);
}

const vd_policy verdict_policy = {
    .name = "conformance",
    .version = VERDICT_SDK_VERSION,
    .claims = (const char *const[]){"conf.*", NULL},
    .decide = decide,
};
