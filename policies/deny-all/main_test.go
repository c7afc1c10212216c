package main

import (
	"testing"

	verdict "github.com/verdictpdp/verdict/sdk/go"
)

func TestEveryItemGetsTheSameAnswer(t *testing.T) {
	r, err := verdict.NewRunner(policy())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(r.Configure([]byte(`{"settings":null,"files":{}}`))); got != `{"ok":true}` {
		t.Fatalf("configure: %s", got)
	}
	if got := string(r.Configure([]byte(`{"settings":{"x":1},"files":{}}`))); got == `{"ok":true}` {
		t.Fatalf("settings must be refused")
	}
	in := `{"abi":1,"principal":{"type":"none"},"items":[` +
		`{"id":"0","permission":{"type":"basic","name":"a","attributes":{}}},` +
		`{"id":"1","permission":{"type":"resource","name":"b","attributes":{"action":"read"},"resourceType":"r"},"resourceRef":"x"}]}`
	want := `{"items":[{"id":"0","result":"DENY","reason":"deny-all policy"},{"id":"1","result":"DENY","reason":"deny-all policy"}]}`
	if got := string(r.Evaluate([]byte(in))); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
