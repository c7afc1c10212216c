package module

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/testing/reliability"
)

// loadFailing are the fixtures that must never load (README.md,
// "Reliability", row 12), with what the refusal says.
var loadFailing = []struct{ fixture, message string }{
	{"missing-marker", `missing export "verdict_abi_v1": not an ABI v1 module`},
	{"missing-evaluate", "missing exports verdict_evaluate"},
	{"missing-describe", "missing exports verdict_describe"},
	{"wrong-signature", `export "verdict_evaluate" has signature (i32) -> (i32), want (i32, i32) -> (i64)`},
	{"bad-import", `import "env"."abort" is not allowed`},
	{"init-loop", "_initialize: timeout"},
	{"init-trap", "_initialize: trap"},
	{"bigmin", "not a valid WebAssembly module"},
	{"describe-garbage", "verdict_describe: output is not a description"},
	{"describe-abi2", `verdict_describe: abi "2.0" is not supported`},
	{"configure-error", "the module refused its settings: bad-settings"},
	{"configure-zero", "verdict_configure: bad output: the guest returned 0"},
	{"not-wasm", "not a valid WebAssembly module"},
	{"invalid-global", "global 0 of a module with 0 globals: invalid module"},
	{"invalid-local", "local 2 of a function with 2 locals: invalid module"},
	{"invalid-scratch", "local 2 of a function with 2 locals: invalid module"},
	{"invalid-export", `export "leak" of global 0 in a module with 0 globals: invalid module`},
}

// TestWrongABIRefusedAtLoad loads every wrong-ABI fixture: each is refused
// by Load, with a message naming the file and the problem, and no module
// comes back to route requests to. (host's TestLoadFailures checks the
// same fixtures in a directory: they show ERROR and a healthy neighbour
// keeps serving.)
func TestWrongABIRefusedAtLoad(t *testing.T) {
	opts := testOptions(t)
	opts.LoadTimeout = time.Second
	refused := 0
	for _, tt := range loadFailing {
		t.Run(tt.fixture, func(t *testing.T) {
			wasm, err := os.ReadFile(filepath.Join(fixturesDir, tt.fixture+".wasm"))
			require.NoError(t, err)
			file := tt.fixture + ".wasm"
			m, err := Load(context.Background(), Source{Name: tt.fixture, File: file, Wasm: wasm}, opts)
			require.Nil(t, m)
			require.ErrorContains(t, err, file+": ")
			require.ErrorContains(t, err, tt.message)
			refused++
		})
	}
	reliability.Record(t, 12, "wrong-ABI fixtures given to Load (missing exports, wrong signature, foreign import, looping or trapping _initialize, memory over the limit, bad describe or configure, not Wasm)",
		"%d of %d refused at load with a message naming the file; 0 modules returned to route to", refused, len(loadFailing))
}

// FuzzLoadModule loads mutations of every fixture and of the small built
// guests (under build/, at most 1 MiB each, when they were built). Load
// must return an error or a module that answers a batch with one valid
// decision per item (a CONDITIONAL only for a resource permission of its
// type); nothing panics, and a module whose _initialize or evaluate runs
// away is stopped by its fuel or the load and call deadlines.
func FuzzLoadModule(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{
		filepath.Join(fixturesDir, "*.wasm"),
		filepath.Join("..", "..", "..", "build", "abi", "byol", "*.wasm"),
		filepath.Join("..", "..", "..", "build", "sdk", "*", "*.wasm"),
		filepath.Join("..", "..", "..", "build", "examples", "*", "*.wasm"),
	} {
		paths, err := filepath.Glob(pattern)
		require.NoError(f, err)
		seeds = append(seeds, paths...)
	}
	for _, p := range seeds {
		if st, err := os.Stat(p); err != nil || st.Size() > 1<<20 {
			continue
		}
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(b)
	}
	opts := testOptions(f)
	opts.LoadTimeout = time.Second
	opts.CallTimeout = time.Second
	opts.Fuel = 10_000_000 // enough for every seed; runaways stop sooner
	opts.MemoryPages = 4 * 16
	items := guestItems(3, basicPerm, resourcePerm)
	f.Fuzz(func(t *testing.T, wasm []byte) {
		ctx := context.Background()
		m, err := Load(ctx, Source{Name: "fuzz", File: "fuzz.wasm", Wasm: wasm}, opts)
		if err != nil {
			if m != nil || !strings.HasPrefix(err.Error(), "fuzz.wasm: ") {
				t.Fatalf("a refused module: %v, %v", m, err)
			}
			return
		}
		defer m.Close(ctx)
		batch := append([]abi.Item(nil), items...)
		answers := m.Evaluate(ctx, abi.Principal{Type: abi.PrincipalNone}, batch)
		if len(answers) != len(batch) {
			t.Fatalf("%d answers for %d items", len(answers), len(batch))
		}
		for i, a := range answers {
			perm := batch[i].Permission
			if !a.Result.Valid() {
				t.Fatalf("answer %d: result %q", i, a.Result)
			}
			if a.Result == abi.Conditional && (!perm.IsResource() || a.ResourceType != perm.ResourceType || a.Conditions == nil) {
				t.Fatalf("answer %d: CONDITIONAL %+v for %+v", i, a, perm)
			}
		}
	})
}
