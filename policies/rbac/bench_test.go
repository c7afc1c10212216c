package main

import (
	"encoding/json"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"

	verdict "github.com/verdictpdp/verdict/sdk/go"
)

var update = flag.Bool("update", false, "rewrite testdata/bench from the generator")

// benchFiles generates the benchmark's policy: 50 roles with 20 lines each,
// 100 groups bound to 2 roles each, every tenth of 1,000 users bound to a
// role directly, and conditional policies for 10 roles. Users themselves
// are not in the files: user i's ownership refs name groups g(i%100) and
// g((i*7)%100) (see benchPrincipals).
func benchFiles() (csv, conds string) {
	var b strings.Builder
	acts := []string{"read", "update", "delete", "create", "use"}
	for r := 0; r < 50; r++ {
		seen := map[string]bool{}
		for j := 0; j < 20; j++ {
			var obj string
			switch j % 3 {
			case 0:
				obj = "type-" + strconv.Itoa((r+j)%10)
			case 1:
				obj = "perm." + strconv.Itoa((r+j)%25)
			default:
				obj = "plugin" + strconv.Itoa(j%10) + ".entity." + strconv.Itoa((r*j)%50)
			}
			act := acts[(r+j)%len(acts)]
			if seen[obj+act] {
				continue
			}
			seen[obj+act] = true
			eff := "allow"
			if (r+j)%7 == 0 {
				eff = "deny"
			}
			b.WriteString("p, role:default/r" + strconv.Itoa(r) + ", " + obj + ", " + act + ", " + eff + "\n")
		}
	}
	for g := 0; g < 100; g++ {
		b.WriteString("g, group:default/g" + strconv.Itoa(g) + ", role:default/r" + strconv.Itoa(g%50) + "\n")
		b.WriteString("g, group:default/g" + strconv.Itoa(g) + ", role:default/r" + strconv.Itoa((g*3+1)%50) + "\n")
	}
	for u := 0; u < 1000; u += 10 {
		b.WriteString("g, user:default/u" + strconv.Itoa(u) + ", role:default/r" + strconv.Itoa(u%50) + "\n")
	}
	var c strings.Builder
	for r := 0; r < 10; r++ {
		c.WriteString("---\nresult: CONDITIONAL\nroleEntityRef: role:default/r" + strconv.Itoa(r) +
			"\npluginId: plugin" + strconv.Itoa(r) + "\nresourceType: type-" + strconv.Itoa(r) +
			"\npermissionMapping:\n  - read\n  - update\nconditions:\n  anyOf:\n    - rule: IS_ENTITY_OWNER\n      resourceType: type-" + strconv.Itoa(r) +
			"\n      params:\n        claims: [$ownerRefs]\n    - rule: HAS_LABEL\n      resourceType: type-" + strconv.Itoa(r) + "\n      params: {label: public}\n")
	}
	return b.String(), c.String()
}

// TestBenchFiles keeps testdata/bench in step with the generator (which the
// host's benchmark reads too): go test -run TestBenchFiles -update.
func TestBenchFiles(t *testing.T) {
	csv, conds := benchFiles()
	for name, text := range map[string]string{"testdata/bench/bench.csv": csv, "testdata/bench/bench-conditions.yaml": conds} {
		if *update {
			if err := os.MkdirAll("testdata/bench", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		b, err := os.ReadFile(name)
		if err != nil || string(b) != text {
			t.Fatalf("%s is stale: go test -run TestBenchFiles -update", name)
		}
	}
}

// benchRequests returns one 50-item request per user.
func benchRequests() [][]byte {
	acts := []string{"read", "update", "delete", "create", ""}
	var items []any
	for i := 0; i < 50; i++ {
		a := acts[i%len(acts)]
		attrs := map[string]any{}
		if a != "" {
			attrs["action"] = a
		}
		perm := map[string]any{"type": "basic", "name": "perm." + strconv.Itoa(i%25), "attributes": attrs}
		if i%2 == 0 {
			perm = map[string]any{"type": "resource", "name": "plugin" + strconv.Itoa(i%10) + ".entity." + strconv.Itoa(i),
				"resourceType": "type-" + strconv.Itoa((i/2)%10), "attributes": attrs}
		}
		items = append(items, map[string]any{"id": strconv.Itoa(i), "permission": perm})
	}
	var reqs [][]byte
	for u := 0; u < 1000; u++ {
		ref := "user:default/u" + strconv.Itoa(u)
		b, _ := json.Marshal(map[string]any{"abi": 1, "items": items, "principal": map[string]any{"type": "user", "userEntityRef": ref,
			"ownershipEntityRefs": []string{ref, "group:default/g" + strconv.Itoa(u%100), "group:default/g" + strconv.Itoa((u*7)%100)}}})
		reqs = append(reqs, b)
	}
	return reqs
}

func benchRunner(b *testing.B) *verdict.Runner {
	csv, conds := benchFiles()
	in, _ := json.Marshal(map[string]any{"settings": map[string]any{"policies-csv-file": "bench.csv", "conditionalPoliciesFile": "c.yaml"},
		"files": map[string]string{"bench.csv": csv, "c.yaml": conds}})
	r, _ := verdict.NewRunner(rbacPolicy())
	if out := string(r.Configure(in)); out != `{"ok":true}` {
		b.Fatal(out)
	}
	return r
}

// BenchmarkDecide: 50-item batches natively, through the SDK's wire format
// (decode, decide, encode), for 1,000 users in 100 groups and 50 roles.
func BenchmarkDecide(b *testing.B) {
	r := benchRunner(b)
	reqs := benchRequests()
	results := map[string]int{}
	for _, item := range strings.Split(string(r.Evaluate(reqs[3])), `"result":"`)[1:] {
		results[item[:strings.IndexByte(item, '"')]]++
	}
	b.Logf("one batch answers %v", results)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Evaluate(reqs[i%len(reqs)])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*50), "ns/decision")
}

// BenchmarkConfigure: parsing and indexing the benchmark's policy.
func BenchmarkConfigure(b *testing.B) {
	for i := 0; i < b.N; i++ {
		benchRunner(b)
	}
}
