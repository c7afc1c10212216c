package host_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
)

// This example embeds the engine: it loads a policy directory of two
// modules, asks about a batch of three permissions and prints each
// decision with its reason. The modules are the test fixtures allow-one
// and deny-one (host/testdata/fixtures: WebAssembly text with fixed
// answers); a real directory holds modules built with an SDK (sdk/) and
// their settings files.
func ExampleNew() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "policies")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{"allow-one", "deny-one"} {
		copyFile(filepath.Join("testdata", "fixtures", name+".wasm"), filepath.Join(dir, name+".wasm"))
	}

	cfg := host.DefaultConfig()
	cfg.CacheDir = "" // compile in memory: write nothing outside dir
	// A module is asked about the permissions it claims. These modules
	// claim "*"; the configuration narrows each to one permission.
	cfg.Claims = map[string][]string{
		"allow-one": {"catalog.entity.read"},
		"deny-one":  {"catalog.entity.delete"},
	}
	h, err := host.New(ctx, cfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)
	// LoadDir compiles, checks and configures every module, then activates
	// them as one snapshot; Watch would also reload on every change.
	if err := h.LoadDir(ctx, dir); err != nil {
		log.Fatal(err)
	}

	alice := abi.Principal{Type: abi.PrincipalUser, UserEntityRef: "user:default/alice",
		OwnershipEntityRefs: []string{"user:default/alice"}}
	ref := "component:default/web"
	queries := []host.Query{
		{Permission: abi.Permission{Type: abi.PermissionResource, Name: "catalog.entity.read",
			Attributes: abi.Attributes{Action: "read"}, ResourceType: "catalog-entity"}, ResourceRef: &ref},
		{Permission: abi.Permission{Type: abi.PermissionResource, Name: "catalog.entity.delete",
			Attributes: abi.Attributes{Action: "delete"}, ResourceType: "catalog-entity"}, ResourceRef: &ref},
		{Permission: abi.Permission{Type: abi.PermissionBasic, Name: "scaffolder.action.execute"}},
	}
	ds, err := h.Decide(ctx, alice, queries)
	if err != nil {
		log.Fatal(err) // only when no snapshot is loaded, or h is closed
	}
	fmt.Println("generation", ds.Generation)
	for i, d := range ds.Items {
		fmt.Printf("%s: %s (%s)\n", queries[i].Permission.Name, d.Result, d.Reason)
	}
	// Output:
	// generation 1
	// catalog.entity.read: ALLOW (allow-one: wat says yes)
	// catalog.entity.delete: DENY (deny-one: wat says no)
	// scaffolder.action.execute: DENY (no module claims this permission; default DENY)
}

// copyFile copies the file src to dst.
func copyFile(src, dst string) {
	b, err := os.ReadFile(src)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		log.Fatal(err)
	}
}
