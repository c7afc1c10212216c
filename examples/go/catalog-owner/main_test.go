package main

import (
	"testing"

	verdict "github.com/verdictpdp/verdict/sdk/go"
)

func TestDecide(t *testing.T) {
	r, err := verdict.NewRunner(policy())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, input, want string }{
		{
			name:  "catalog entity resource permission",
			input: `{"abi":1,"principal":{"type":"user","userEntityRef":"user:default/jane","ownershipEntityRefs":["user:default/jane","group:default/team-a"]},"items":[{"id":"0","permission":{"type":"resource","name":"catalog.entity.delete","attributes":{"action":"delete"},"resourceType":"catalog-entity"}}]}`,
			want:  `{"items":[{"id":"0","result":"CONDITIONAL","pluginId":"catalog","resourceType":"catalog-entity","conditions":{"rule":"IS_ENTITY_OWNER","resourceType":"catalog-entity","params":{"claims":["user:default/jane","group:default/team-a"]}}}]}`,
		},
		{
			name:  "anonymous owns nothing",
			input: `{"abi":1,"principal":{"type":"none"},"items":[{"id":"0","permission":{"type":"resource","name":"catalog.entity.read","attributes":{"action":"read"},"resourceType":"catalog-entity"}}]}`,
			want:  `{"items":[{"id":"0","result":"CONDITIONAL","pluginId":"catalog","resourceType":"catalog-entity","conditions":{"rule":"IS_ENTITY_OWNER","resourceType":"catalog-entity","params":{"claims":[]}}}]}`,
		},
		{
			name:  "basic permission and other resource type abstain",
			input: `{"abi":1,"principal":{"type":"user","ownershipEntityRefs":[]},"items":[{"id":"0","permission":{"type":"basic","name":"catalog.entity.create","attributes":{"action":"create"}}},{"id":"1","permission":{"type":"resource","name":"catalog.location.read","attributes":{},"resourceType":"catalog-location"}}]}`,
			want:  `{"items":[{"id":"0","result":"ABSTAIN"},{"id":"1","result":"ABSTAIN"}]}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(r.Evaluate([]byte(tc.input))); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
