package verdict

import "testing"

const benchInput = `{"abi":1,"principal":{"type":"user","userEntityRef":"user:default/jane","ownershipEntityRefs":["user:default/jane","group:default/team-a"]},"items":[{"id":"0","permission":{"type":"resource","name":"catalog.entity.read","attributes":{"action":"read"},"resourceType":"catalog-entity"},"resourceRef":"component:default/x"}]}`

// BenchmarkEvaluate measures one single-item call through the wire format
// with a policy that answers CONDITIONAL with the principal's refs.
func BenchmarkEvaluate(b *testing.B) {
	r, err := NewRunner(Policy{Name: "b", Version: "1", Decide: func(p *Principal, it *Item) Decision {
		return Conditionally("catalog", Condition("IS_ENTITY_OWNER", it.Permission.ResourceType,
			Param("claims", Strings(p.OwnershipEntityRefs...))))
	}})
	if err != nil {
		b.Fatal(err)
	}
	in := []byte(benchInput)
	b.ReportAllocs()
	for b.Loop() {
		if out := r.Evaluate(in); len(out) == 0 {
			b.Fatal("no output")
		}
	}
}
