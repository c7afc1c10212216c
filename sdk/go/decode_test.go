package verdict

import (
	"strings"
	"testing"
)

func TestDecodeRequest(t *testing.T) {
	var d decoder
	var req request
	cases := []struct {
		name, input string
		check       func(t *testing.T, r *request)
		wantErr     string
	}{
		{name: "unknown fields of every shape are skipped",
			input: `{"zz":{"a":[1,{"b":[null,true,false,-1.5e-3,"\u0041"]}]},"abi":1,"principal":{"x":[],"type":"service","subject":"s"},"items":[{"q":{},"id":"0","permission":{"name":"n","more":{"deep":[[]]}}}]}`,
			check: func(t *testing.T, r *request) {
				if r.abi != 1 || r.principal.Type != "service" || r.principal.Subject != "s" || len(r.items) != 1 || r.items[0].Permission.Name != "n" {
					t.Fatalf("got %+v", r)
				}
			}},
		{name: "escapes and surrogates",
			input: `{"items":[{"id":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800x\udc00"}]}`,
			check: func(t *testing.T, r *request) {
				if want := "\"\\/\b\f\n\r\té😀\uFFFDx\uFFFD"; r.items[0].ID != want {
					t.Fatalf("got %q, want %q", r.items[0].ID, want)
				}
			}},
		{name: "invalid UTF-8 becomes U+FFFD",
			input: "{\"items\":[{\"id\":\"a\xffb\"}]}",
			check: func(t *testing.T, r *request) {
				if r.items[0].ID != "a\uFFFDb" {
					t.Fatalf("got %q", r.items[0].ID)
				}
			}},
		{name: "resourceRef present, empty and absent",
			input: `{"items":[{"resourceRef":"r"},{"resourceRef":""},{},{"resourceRef":null}]}`,
			check: func(t *testing.T, r *request) {
				got := ""
				for _, it := range r.items {
					if it.HasResourceRef {
						got += "[" + it.ResourceRef + "]"
					} else {
						got += "-"
					}
				}
				if got != "[r][]--" {
					t.Fatalf("got %s", got)
				}
			}},
		{name: "null principal and actor", input: `{"principal":null}`,
			check: func(t *testing.T, r *request) {
				if r.principal.Type != "" || r.principal.Actor != nil || r.principal.OwnershipEntityRefs != nil {
					t.Fatalf("got %+v", r.principal)
				}
			}},
		{name: "top-level null", input: ` null `},
		{name: "trailing data", input: `{} {}`, wantErr: "data after the top-level value"},
		{name: "truncated", input: `{"items":[{"id":"0"`, wantErr: "unexpected end of input"},
		{name: "wrong type", input: `{"items":{}}`, wantErr: "want an array"},
		{name: "fraction for abi", input: `{"abi":1.0}`, wantErr: "want an integer"},
		{name: "leading zero", input: `{"abi":01}`, wantErr: "want ',' or '}'"},
		{name: "control character", input: "{\"a\":\"\x01\"}", wantErr: "control character"},
		{name: "bad escape", input: `{"a":"\x"}`, wantErr: "invalid escape"},
		{name: "short unicode escape", input: `{"a":"\u12"}`, wantErr: "invalid \\u escape"},
		{name: "single quotes", input: `{'a':1}`, wantErr: "want a string key"},
		{name: "trailing comma", input: `{"a":1,}`, wantErr: "want a string key"},
		{name: "too deep", input: `{"x":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`, wantErr: "nested too deeply"},
		{name: "empty", input: ``, wantErr: "unexpected end of input"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeRequest(&d, []byte(tc.input), &req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, &req)
			}
		})
	}
}

func TestValue(t *testing.T) {
	v, err := ParseValue([]byte(` {"s":"x","n":-12,"f":0.5,"big":123456789012345678901234567890,"b":true,"z":null,"a":[1,"2"],"s":"last"} `))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := v.Get("s"); s.s != "last" {
		t.Errorf("Get returns the last repeated key, got %q", s.s)
	}
	if n, _ := v.Get("n"); func() bool { i, ok := n.Int64(); return !ok || i != -12 }() {
		t.Errorf("Int64 of -12")
	}
	if f, _ := v.Get("f"); func() bool { _, ok := f.Int64(); return ok }() {
		t.Errorf("Int64 of 0.5 must fail")
	}
	if big, _ := v.Get("big"); func() bool { lit, ok := big.Number(); return !ok || lit != "123456789012345678901234567890" }() {
		t.Errorf("big numbers keep their text")
	}
	if got := string(appendValue(nil, &v)); got != `{"s":"x","n":-12,"f":0.5,"big":123456789012345678901234567890,"b":true,"z":null,"a":[1,"2"],"s":"last"}` {
		t.Errorf("re-encoded %s", got)
	}
	floats := map[float64]string{-1.5: "-1.5", 1e21: "1e+21", 1e-7: "1e-7", 0: "0", 123456789: "123456789"}
	for f, want := range floats {
		if got := Float(f).s; got != want {
			t.Errorf("Float(%v) = %s, want %s", f, got, want)
		}
	}
	for _, bad := range []string{"", "01", "1.", ".5", "+1", "1e", "NaN", "1 "} {
		if _, err := ParseNumber(bad); err == nil {
			t.Errorf("ParseNumber(%q): no error", bad)
		}
	}
	if n, err := ParseNumber("-0.5e+10"); err != nil || n.s != "-0.5e+10" {
		t.Errorf("ParseNumber: %v", err)
	}
}

func TestEncodeString(t *testing.T) {
	cases := map[string]string{
		"plain":           `"plain"`,
		"q\"b\\":          `"q\"b\\"`,
		"\n\r\t\b\f\x00":  `"\n\r\t\b\f\u0000"`,
		"\x1f\x7f":        `"\u001f` + "\x7f" + `"`,
		"ünï ✓ 🙂":         `"ünï ✓ 🙂"`,
		"a\xffb":          `"a\ufffdb"`,
		"\u2028\u2029":    `"\u2028\u2029"`,
		"</script>&<'>\"": `"</script>&<'>\""`,
	}
	for in, want := range cases {
		if got := string(appendString(nil, in)); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	var d decoder
	var req request
	in := []byte(benchInput)
	b.ReportAllocs()
	for b.Loop() {
		if err := decodeRequest(&d, in, &req); err != nil {
			b.Fatal(err)
		}
	}
}
