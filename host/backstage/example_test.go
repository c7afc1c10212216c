package backstage_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/verdictpdp/verdict/host/backstage"
)

// batch asks about three permissions, in Backstage's wire format.
const batch = `{"items":[
 {"id":"a","permission":{"type":"resource","name":"catalog.entity.read","attributes":{"action":"read"},"resourceType":"catalog-entity"}},
 {"id":"b","permission":{"type":"resource","name":"catalog.entity.delete","attributes":{"action":"delete"},"resourceType":"catalog-entity"}},
 {"id":"c","permission":{"type":"basic","name":"scaffolder.action.execute","attributes":{}}}]}`

// This example serves Backstage's permission API with a static token for a
// backend service. Backstage's POST {basePath}/authorize refuses service
// principals, as Backstage's own permission backend does; a service whose
// subject is trusted asks on the native POST /v1/authorize instead, naming
// the principal in the body. Users and plugins call {basePath}/authorize
// with their Backstage tokens, which the server verifies through the auth
// plugin that Config.Discovery names.
func ExampleNew() {
	ctx := context.Background()
	cfg := exampleConfig()
	cfg.HTTP.StaticTokens = []backstage.StaticToken{{Token: "catalog-secret-token", Subject: "catalog-backend"}}
	cfg.HTTP.TrustedSubjects = []string{"catalog-backend"}
	s, err := backstage.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)
	dir := examplePolicies()
	defer os.RemoveAll(dir)
	if err := s.Host().LoadDir(ctx, dir); err != nil {
		log.Fatal(err)
	}

	post(s, "/api/permission/authorize", "catalog-secret-token", batch)
	native := `{"principal":{"type":"user","userEntityRef":"user:default/alice","ownershipEntityRefs":["user:default/alice"]},` +
		strings.TrimPrefix(batch, "{")
	post(s, "/v1/authorize", "catalog-secret-token", native)
	// Output:
	// 403 {"error":{"name":"NotAllowedError","message":"This endpoint does not allow 'service' credentials"},"request":{"method":"POST","url":"/authorize"},"response":{"statusCode":403}}
	// 200 {"generation":1,"items":[{"id":"a","result":"ALLOW","reason":"allow-one: wat says yes"},{"id":"b","result":"DENY","reason":"deny-one: wat says no"},{"id":"c","result":"DENY","reason":"no module claims this permission; default DENY"}]}
}

// This example serves Backstage's POST {basePath}/authorize in dev mode
// (backstage.auth.dangerouslyDisableDefaultAuthPolicy, what `make run`
// uses): a request without a token is decided for principal "none". Never
// in production: dev mode drops identity and opens /v1/*.
func ExampleNew_devMode() {
	ctx := context.Background()
	cfg := exampleConfig()
	cfg.HTTP.DevMode = true
	s, err := backstage.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)
	dir := examplePolicies()
	defer os.RemoveAll(dir)
	if err := s.Host().LoadDir(ctx, dir); err != nil {
		log.Fatal(err)
	}

	post(s, "/api/permission/authorize", "", batch)
	// Output:
	// 200 {"items":[{"id":"a","result":"ALLOW","reason":"allow-one: wat says yes"},{"id":"b","result":"DENY","reason":"deny-one: wat says no"},{"id":"c","result":"DENY","reason":"no module claims this permission; default DENY"}]}
}

// exampleConfig is the default configuration with the engine compiling in
// memory and two modules' claims narrowed to one permission each.
func exampleConfig() backstage.Config {
	cfg := backstage.DefaultConfig()
	cfg.Engine.CacheDir = "" // compile in memory: write nothing outside the policy directory
	cfg.Engine.Claims = map[string][]string{
		"allow-one": {"catalog.entity.read"},
		"deny-one":  {"catalog.entity.delete"},
	}
	return cfg
}

// examplePolicies returns a new policy directory holding the fixed-answer
// test fixtures allow-one and deny-one (host/testdata/fixtures).
func examplePolicies() string {
	dir, err := os.MkdirTemp("", "policies")
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"allow-one", "deny-one"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "fixtures", name+".wasm"))
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".wasm"), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	return dir
}

// post sends body to path with the bearer token (none when empty) and
// prints the status and the response body.
func post(h http.Handler, path, token, body string) {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
}
