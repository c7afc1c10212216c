// catalog-owner: an example Verdict policy module in AssemblyScript. Users may
// act on the catalog entities they own: every resource permission on catalog
// entities gets a CONDITIONAL decision that the catalog plugin evaluates with
// its IS_ENTITY_OWNER rule; everything else is ABSTAIN. See README.md.
import {
  Decision, Item, Policy, Principal, abstain, condition, conditional, param, register, strings,
} from "../../../sdk/assemblyscript/assembly";
export * from "../../../sdk/assemblyscript/assembly/exports";

// The catalog's resource type, plugin id and ownership rule, as Backstage's
// catalog plugin names them.
const RESOURCE_TYPE = "catalog-entity";
const PLUGIN_ID = "catalog";
const OWNER_RULE = "IS_ENTITY_OWNER";

class CatalogOwner extends Policy {
  constructor() {
    super();
    this.name = "catalog-owner";
    this.version = "1.0.0";
    this.claims = ["catalog.*"];
  }

  // Principals that are not users own nothing: their condition has no claims
  // and matches no entity.
  decide(p: Principal, it: Item): Decision {
    if (!it.permission.isResource() || it.permission.resourceType != RESOURCE_TYPE) return abstain();
    return conditional(PLUGIN_ID, condition(OWNER_RULE, RESOURCE_TYPE, [param("claims", strings(p.ownershipEntityRefs))]));
  }
}

register(new CatalogOwner());
