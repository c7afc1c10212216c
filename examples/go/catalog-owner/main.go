// Command catalog-owner is an example Verdict policy module: users may act
// on the catalog entities they own. It answers every resource permission on
// catalog entities with a CONDITIONAL decision that the catalog plugin
// evaluates with its IS_ENTITY_OWNER rule, and abstains on everything else.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o catalog-owner.wasm .
package main

import verdict "github.com/verdictpdp/verdict/sdk/go"

// The catalog's resource type, plugin id and ownership rule, as Backstage's
// catalog plugin names them.
const (
	resourceType = "catalog-entity"
	pluginID     = "catalog"
	ownerRule    = "IS_ENTITY_OWNER"
)

func policy() verdict.Policy {
	return verdict.Policy{
		Name:    "catalog-owner",
		Version: "1.0.0",
		Claims:  []string{"catalog.*"},
		Decide:  decide,
	}
}

// decide gives a CONDITIONAL "is owned by one of the principal's ownership
// refs" for catalog-entity resource permissions. Principals that are not
// users own nothing: their condition has no claims and matches no entity.
func decide(p *verdict.Principal, it *verdict.Item) verdict.Decision {
	if !it.Permission.IsResource() || it.Permission.ResourceType != resourceType {
		return verdict.Abstained()
	}
	return verdict.Conditionally(pluginID, verdict.Condition(ownerRule, resourceType,
		verdict.Param("claims", verdict.Strings(p.OwnershipEntityRefs...))))
}

func init() { verdict.Register(policy()) }

// main is never run in a c-shared (reactor) module.
func main() {}
