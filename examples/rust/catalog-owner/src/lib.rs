//! catalog-owner: an example Verdict policy module in Rust. Users may act on
//! the catalog entities they own: every resource permission on catalog
//! entities gets a CONDITIONAL decision that the catalog plugin evaluates
//! with its IS_ENTITY_OWNER rule; everything else is ABSTAIN. See README.md.

use verdict::{condition, export_policy, json, Decision, Item, Policy, Principal};

/// The catalog's resource type, plugin id and ownership rule, as Backstage's
/// catalog plugin names them.
const RESOURCE_TYPE: &str = "catalog-entity";
const PLUGIN_ID: &str = "catalog";
const OWNER_RULE: &str = "IS_ENTITY_OWNER";

/// decide: principals that are not users own nothing, so their condition has
/// no claims and matches no entity.
fn decide(p: &Principal, it: &Item) -> Decision {
    if !it.permission.is_resource() || it.permission.resource_type != RESOURCE_TYPE {
        return Decision::abstain();
    }
    Decision::conditional(
        PLUGIN_ID,
        condition(OWNER_RULE, RESOURCE_TYPE, json!({"claims": p.ownership_entity_refs})),
    )
}

export_policy!(Policy::new("catalog-owner", "1.0.0", &["catalog.*"], decide));
