package host

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/abi/conformance"
)

// The hand-written WAT conformance module (abi/SPEC.md §18) decides inputs
// beyond the corpus exactly as the Go reference does: keys spelled with
// escapes, lone surrogates, duplicate keys, deep unknown values.
func TestByolConformanceMatchesReference(t *testing.T) {
	m := loadGuest(t, guest(t, "abi/byol/conformance.wasm"), "")
	deep := strings.Repeat(`{"a":[`, 200) + `1` + strings.Repeat(`]}`, 200)
	user := `"principal":{"type":"user","userEntityRef":"user:default/a","ownershipEntityRefs":["group:default/x"]}`
	reason := func(ref string) string {
		return `{"abi":1,` + user + `,"items":[{"id":"0","permission":{"type":"resource","name":"conf.reason","attributes":{},"resourceType":"t"},"resourceRef":"` + ref + `"}]}`
	}
	tests := []struct{ name, input string }{
		{"escaped keys", `{"\u0061bi":1,"pr\u0069ncipal":{"\u0074ype":"service","subject":"plugin:x"},"it\u0065ms":[{"\u0069d":"0","permission":{"t\u0079pe":"basic","n\u0061me":"conf.reason","\u0061ttributes":{"\u0061ction":"create"}}}]}`},
		{"lone high surrogate, then an escape", reason(`a\ud83d\u0041b`)},
		{"lone high surrogate, then a byte", reason(`a\ud83dxb`)},
		{"lone high surrogate at the end", reason(`a\ud83d`)},
		{"lone low surrogate", reason(`a\ude00b`)},
		{"two high surrogates, then a low one", reason(`\ud83d\ud83d\ude00`)},
		{"upper-case hex", reason(`\u00E9\uD83D\uDE00`)},
		{"every control character", reason(`\u0000\u0001\u001f\b\f\n\r\t\"\\\/`)},
		{"duplicate keys: the last wins", `{"abi":1,"principal":{"type":"none"},"items":[{"id":"0","permission":{"type":"basic","name":"conf.allow","name":"conf.deny","attributes":{}}}]}`},
		{"duplicate permission objects merge", `{"abi":1,"principal":{"type":"none"},"items":[{"id":"0","permission":{"type":"resource","name":"conf.cond.owner","resourceType":"t"},"permission":{"attributes":{}}}]}`},
		{"deep unknown value", `{"abi":1,"x":` + deep + `,"principal":{"type":"none","y":` + deep + `},"items":[{"id":"0","z":` + deep + `,"permission":{"type":"basic","name":"conf.allow","attributes":{}}}]}`},
		{"no items key", `{"abi":1,"principal":{"type":"none"}}`},
		{"empty strings", `{"abi":1,"principal":{"type":"user","userEntityRef":"","ownershipEntityRefs":[""],"actor":{"type":"service","subject":""}},"items":[{"id":"","permission":{"type":"resource","name":"conf.reason","attributes":{"action":""},"resourceType":""},"resourceRef":""}]}`},
		{"numbers of every shape", `{"abi":1,"n":[-0,0.5,1E+2,-3e-4,1.0e0],"principal":{"type":"none"},"items":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := conformance.Reference(context.Background(), []byte(tt.input))
			require.NoError(t, err)
			var resp abi.Response
			require.NoError(t, json.Unmarshal(want, &resp))
			c := conformance.Case{Name: tt.name, InputText: tt.input, Want: resp.Items}
			require.NoError(t, conformance.Check(context.Background(), m.EvaluateRaw, c))
		})
	}
}

// Input that is not a request gets the bad_input error envelope, never a
// trap or an answer.
func TestByolConformanceRefusesMalformedInput(t *testing.T) {
	m := loadGuest(t, guest(t, "abi/byol/conformance.wasm"), "")
	item := `{"id":"0","permission":{"type":"basic","name":"conf.allow","attributes":{}}}`
	tests := []struct{ name, input string }{
		{"empty", ` `},
		{"not an object", `[]`},
		{"cut short", `{"abi":1,"principal":{"type":"none"},"items":[` + item},
		{"cut inside a string", `{"abi":1,"principal":{"type":"no`},
		{"trailing bytes", `{"abi":1,"principal":{"type":"none"},"items":[]} x`},
		{"two documents", `{"items":[]}{"items":[]}`},
		{"unknown escape", `{"abi":1,"principal":{"type":"n\x"},"items":[]}`},
		{"short unicode escape", `{"abi":1,"principal":{"type":"\u00"},"items":[]}`},
		{"bad hex digit", `{"abi":1,"principal":{"type":"\u00g0"},"items":[]}`},
		{"raw control character", "{\"abi\":1,\"principal\":{\"type\":\"a\nb\"},\"items\":[]}"},
		{"id not a string", `{"abi":1,"principal":{"type":"none"},"items":[{"id":0}]}`},
		{"items not an array", `{"abi":1,"principal":{"type":"none"},"items":{}}`},
		{"missing colon", `{"abi" 1}`},
		{"missing comma", `{"abi":1 "items":[]}`},
		{"trailing comma", `{"abi":1,"items":[],}`},
		{"bad word", `{"abi":nul,"items":[]}`},
		{"no value", `{"abi":,"items":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := m.EvaluateRaw(context.Background(), []byte(tt.input))
			require.NoError(t, err)
			var resp abi.Response
			require.NoError(t, json.Unmarshal(out, &resp), "%s", out)
			require.NotNil(t, resp.Error, "%s", out)
			require.Equal(t, "bad_input", resp.Error.Code)
			require.Empty(t, resp.Items)
		})
	}
	require.Zero(t, m.Counters().Traps)
}
