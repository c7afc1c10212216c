package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func yamlJSON(t *testing.T, text string) string {
	t.Helper()
	docs, err := parseYAML(text)
	if err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	var out []json.RawMessage
	for _, d := range docs {
		b, err := d.n.value().MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func TestYAMLSubset(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"map", "a: 1\nb: x\n", `[{"a":1,"b":"x"}]`},
		{"nested", "a:\n  b:\n    c: true\n", `[{"a":{"b":{"c":true}}}]`},
		{"list indented", "a:\n  - x\n  - y\n", `[{"a":["x","y"]}]`},
		{"list at key indentation", "a:\n- x\n- y\nb: 2\n", `[{"a":["x","y"],"b":2}]`},
		{"list of maps", "- a: 1\n  b: 2\n- a: 3\n", `[[{"a":1,"b":2},{"a":3}]]`},
		{"documents", "---\na: 1\n---\nb: 2\n...\n", `[{"a":1},{"b":2}]`},
		{"empty documents skipped", "---\n# only a comment\n---\na: 1\n", `[{"a":1}]`},
		{"comments", "a: x # note\n# full line\nb: 'y # not a comment'\n", `[{"a":"x","b":"y # not a comment"}]`},
		{"quotes", `a: 'it''s'` + "\n" + `b: "tab\there \u00e9"` + "\n", `[{"a":"it's","b":"tab\there é"}]`},
		{"scalars", "a: null\nb: ~\nc: false\nd: -1.5e3\ne: 012\nf: 1.2.3\ng:\n", `[{"a":null,"b":null,"c":false,"d":-1.5e3,"e":"012","f":"1.2.3","g":null}]`},
		{"refs stay strings", "a: user:default/x\nb: $ownerRefs\n", `[{"a":"user:default/x","b":"$ownerRefs"}]`},
		{"flow", "a: [x, 'y', {k: v, \"q\": [1, 2]}]\n", `[{"a":["x","y",{"k":"v","q":[1,2]}]}]`},
		{"flow over lines", "a: [\n  x,\n  y\n]\nb: 1\n", `[{"a":["x","y"],"b":1}]`},
		{"json", "{\n  \"a\": [\"x\"],\n  \"b\": {\"c\": null}\n}\n", `[{"a":["x"],"b":{"c":null}}]`},
		{"crlf", "a: 1\r\nb: 2\r\n", `[{"a":1,"b":2}]`},
		{"dash item with nested list", "- - a\n  - b\n", `[[["a","b"]]]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := yamlJSON(t, c.in); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestYAMLRefusals(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"block scalar", "a: |\n  x\n", "line 1: block scalars"},
		{"anchor", "a: &x 1\n", "line 1: anchors"},
		{"alias", "a: *x\n", "line 1: anchors"},
		{"tag", "a: !!str 1\n", "line 1: anchors"},
		{"tab", "a:\n\tb: 1\n", "line 2: a tab"},
		{"repeated key", "a: 1\na: 2\n", "line 2: key \"a\" is repeated"},
		{"bad indentation", "a: 1\n   b: 2\n", "line 2: unexpected indentation"},
		{"multi-line plain", "a: x\n  y\n", "line 2: unexpected indentation"},
		{"unterminated quote", "a: 'x\n", "line 1: unterminated"},
		{"unclosed flow", "a: [x, y\n", "line 1: expected"},
		{"colon in plain", "a: b: c\n", "line 1: a plain value cannot contain"},
		{"complex key", "? a\n: b\n", "line 1: complex keys"},
		{"directive", "%YAML 1.2\n---\na: 1\n", "line 1: YAML directives"},
		{"list then key", "- a\nb: 1\n", "line 2: unexpected content"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseYAML(c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// FuzzParseYAML: the reader never panics, on any input.
func FuzzParseYAML(f *testing.F) {
	for _, s := range []string{"a: 1\n", "---\n- a: [x, {y: z}]\n", "a: 'q''s'\n", "{\"a\": [1, 2]}", "a:\n- b\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { _, _ = parseYAML(s) })
}
