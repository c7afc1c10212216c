package host

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/abi/conformance"
	"github.com/verdictpdp/verdict/host/internal/module"
	"github.com/verdictpdp/verdict/internal/wire"
)

// sdkConformanceModules are the conformance modules of every SDK that
// FuzzSDKConformance compares with the Go reference policy.
var sdkConformanceModules = []string{
	"sdk/conformance.wasm",
	"sdk/c/conformance.wasm",
	"sdk/c/conformance-freestanding.wasm",
	"sdk/assemblyscript/conformance.wasm",
	"sdk/rust/conformance.wasm",
}

// optionalConformanceModules are compared too when they are built.
var optionalConformanceModules = []string{"abi/byol/conformance.wasm"}

// fuzzMaxInput bounds a fuzzed request: the echoed reason of conf.reason
// then stays far below the host's output limit (64 KiB for the batch), so
// that limit never turns an answer into DENY.
const fuzzMaxInput = 8 << 10

// FuzzSDKConformance is differential fuzzing of the SDKs' JSON readers and
// writers through the real host: a mutated request (seeded from the
// conformance corpus) that the host could send is encoded by the host
// (wire.AppendRequest, in Module.Evaluate) and decided by every SDK's
// conformance module; each answer must equal the Go reference policy's
// (conformance.Decide) for the request as the modules receive it, and no
// module may ALLOW where the reference does not.
func FuzzSDKConformance(f *testing.F) {
	for _, c := range corpus(f) {
		if len(c.Bytes()) <= fuzzMaxInput {
			f.Add(c.Bytes())
		}
	}
	mods := loadConformanceModules(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkModules(t, mods, raw)
	})
}

// loadConformanceModules loads every built conformance module (a missing
// required one skips, or fails under VERDICT_REQUIRE_GUESTS).
// checkModules decodes raw as the host would and, if it is a request the
// host accepts, asks every module in mods and compares each answer with
// the reference policy's.
func checkModules(t *testing.T, mods []*module.Module, raw []byte) {
	t.Helper()
	req, ok := hostRequest(raw)
	if !ok {
		return
	}
	want := referenceAnswers(t, req)
	for _, m := range mods {
		got := m.Evaluate(context.Background(), req.Principal, append([]abi.Item(nil), req.Items...))
		require.Len(t, got, len(want))
		for i := range want {
			compareAnswers(t, m.File(), raw, want[i], got[i])
		}
	}
}

// Quarantine is off for them: every failure already fails the target on its
// input, and a quarantine would make the fuzzer's minimisation of that input
// report "quarantined" for whatever it tries next instead of the failure.
func loadConformanceModules(t testing.TB) []*module.Module {
	var mods []*module.Module
	noQuarantine := func(c *Config) {
		c.CallTimeout = 10 * time.Second
		c.QuarantineFailures = math.MaxInt
	}
	for _, rel := range sdkConformanceModules {
		mods = append(mods, loadGuestCfg(t, guest(t, rel), "", noQuarantine))
	}
	for _, rel := range optionalConformanceModules {
		p := filepath.Join(buildDir, rel)
		if _, err := os.Stat(p); err == nil {
			mods = append(mods, loadGuestCfg(t, p, "", noQuarantine))
		}
	}
	return mods
}

// hostRequest decodes raw as a request and keeps it only when the host could
// send it: a known principal type, valid permissions (abi.Permission's
// Validate), a bounded size.
func hostRequest(raw []byte) (abi.Request, bool) {
	var req abi.Request
	if len(raw) > fuzzMaxInput || json.Unmarshal(raw, &req) != nil || len(req.Items) > 100 {
		return req, false
	}
	switch req.Principal.Type {
	case abi.PrincipalUser, abi.PrincipalService, abi.PrincipalNone:
	default:
		return req, false
	}
	for _, it := range req.Items {
		if it.Permission.Validate() != nil {
			return req, false
		}
	}
	return req, true
}

// referenceAnswers decides req with the Go reference policy exactly as the
// modules see it: the bytes the host writes (canonical principal, item ids
// "0".."n-1", invalid UTF-8 replaced), decoded again.
func referenceAnswers(t *testing.T, req abi.Request) []abi.Answer {
	t.Helper()
	items := append([]abi.Item(nil), req.Items...)
	for i := range items {
		items[i].ID = strconv.Itoa(i)
	}
	wire := wire.AppendRequest(nil, &abi.Request{ABI: abi.Version, Principal: req.Principal, Items: items})
	var seen abi.Request
	require.NoError(t, json.Unmarshal(wire, &seen), "the host's own encoding")
	out := make([]abi.Answer, len(seen.Items))
	for i, it := range seen.Items {
		out[i] = conformance.Decide(seen.Principal, it)
	}
	return out
}

// compareAnswers fails t when got differs from the reference want.
func compareAnswers(t *testing.T, module string, raw []byte, want, got abi.Answer) {
	t.Helper()
	if got.Result == abi.Allow && want.Result != abi.Allow {
		t.Fatalf("%s ALLOWs item %s where the reference answers %s (%q)\ninput %q",
			module, got.ID, want.Result, want.Reason, raw)
	}
	if want.ID != got.ID || want.Result != got.Result || want.PluginID != got.PluginID ||
		want.ResourceType != got.ResourceType || want.Reason != got.Reason ||
		!sameCriteria(t, want.Conditions, got.Conditions) {
		w, _ := json.Marshal(want)
		g, _ := json.Marshal(got)
		t.Fatalf("%s differs from the reference\ninput %q\n got %s\nwant %s", module, raw, g, w)
	}
}

// sameCriteria compares two criteria by JSON meaning (key order and number
// spelling aside).
func sameCriteria(t *testing.T, a, b *abi.Criteria) bool {
	t.Helper()
	norm := func(c *abi.Criteria) any {
		raw, err := json.Marshal(c)
		require.NoError(t, err)
		var v any
		require.NoError(t, json.Unmarshal(raw, &v))
		return v
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// FuzzSDKEcho is FuzzSDKConformance with the request built from fuzzed
// strings, so that every input reaches the modules: conf.reason echoes each
// decoded string back (escapes, control characters, Unicode, invalid UTF-8
// that the host replaces), conf.cond.owner writes the ownership refs into a
// condition, and a fuzzed permission name probes the name matching.
func FuzzSDKEcho(f *testing.F) {
	f.Add(uint8(0), "user:default/a", "group:default/g", "", "", true, "plugin:x", "conf.allow", uint8(1), "catalog-entity", "component:default/c", true)
	f.Add(uint8(0), "a\"b\\c/\b\f\n\r\t\x00\x01\x1f\x7f", "<>&\u2028\u2029", "é😀\uffff", "", false, "", "conf.cond.nested", uint8(0), "t\x00", "", true)
	f.Add(uint8(1), "", "", "", "plugin:\xff\xfe\xed\xa0\x80", true, "x\xc3", "conf.reason ", uint8(4), "r\u00e9", "ref\xed\xa0\x80", false)
	f.Add(uint8(2), "u", "r", "", "", false, "", "conf.cond.", uint8(5), "-", "-", true)
	mods := loadConformanceModules(f)
	actions := []string{"", "create", "read", "update", "delete"}
	f.Fuzz(func(t *testing.T, ptype uint8, user, ref0, ref1, subject string, hasActor bool, actorSubject,
		name string, action uint8, rt, ref string, hasRef bool) {
		p := abi.Principal{Type: []string{abi.PrincipalUser, abi.PrincipalService, abi.PrincipalNone}[ptype%3],
			UserEntityRef: user, OwnershipEntityRefs: []string{ref0, ref1}, Subject: subject}
		if ref1 == "" {
			p.OwnershipEntityRefs = p.OwnershipEntityRefs[:1]
		}
		if hasActor {
			p.Actor = &abi.Actor{Type: "service", Subject: actorSubject}
		}
		if rt == "" {
			rt = "t"
		}
		act := actions[int(action)%len(actions)]
		var refp *string
		if hasRef {
			refp = &ref
		}
		var items []abi.Item
		for _, n := range []string{"conf.reason", "conf.cond.owner", "conf.cond.params", name} {
			items = append(items,
				abi.Item{Permission: abi.Permission{Type: abi.PermissionBasic, Name: n, Attributes: abi.Attributes{Action: act}}, ResourceRef: refp},
				abi.Item{Permission: abi.Permission{Type: abi.PermissionResource, Name: n, Attributes: abi.Attributes{Action: act}, ResourceType: rt}, ResourceRef: refp})
		}
		// Through JSON once, as a request reaches the host over HTTP: invalid
		// UTF-8 becomes U+FFFD (the host compares a CONDITIONAL's
		// resourceType with the permission's as given, so a raw invalid
		// byte there would make every SDK's answer DENY).
		raw, err := json.Marshal(abi.Request{Principal: p, Items: items})
		require.NoError(t, err)
		checkModules(t, mods, raw)
	})
}
