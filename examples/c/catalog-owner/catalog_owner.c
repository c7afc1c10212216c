/*
 * catalog_owner.c: an example Verdict policy module in C. Users may act on
 * the catalog entities they own: every resource permission on catalog
 * entities gets a CONDITIONAL decision that the catalog plugin evaluates with
 * its IS_ENTITY_OWNER rule; everything else is ABSTAIN.
 *
 *   clang --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -mbulk-memory -Os \
 *     -I ../../../sdk/c -Wl,--strip-all -o catalog-owner.wasm \
 *     catalog_owner.c ../../../sdk/c/verdict.c
 */
#include "verdict.h"

static vd_decision decide(const vd_principal *p, const vd_item *it) {
    if (!vd_is_resource(&it->permission) || !vd_eq(it->permission.resource_type, "catalog-entity"))
        return vd_abstain();
    /* Principals that are not users own nothing: their condition has no
     * claims and matches no entity. */
    return vd_conditional(it, "catalog",
                          vd_condition("IS_ENTITY_OWNER", VD_STR("catalog-entity"),
                                       vd_object(vd_field("claims", vd_strings(p->ownership_entity_refs,
                                                                               p->n_ownership_entity_refs)))));
}

const vd_policy verdict_policy = {
    .name = "catalog-owner",
    .version = "1.0.0",
    .claims = (const char *const[]){"catalog.*", NULL},
    .decide = decide,
};
