package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "verdict.yaml")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func load(t *testing.T, args []string, environ []string) (*settings, error) {
	t.Helper()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	addConfigFlags(fs)
	require.NoError(t, fs.Parse(args))
	return loadSettings(fs, environ)
}

func TestDefaults(t *testing.T) {
	s, err := load(t, nil, nil)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:7008", s.Listen)
	require.Equal(t, "policies", s.PoliciesDir)
	require.Equal(t, backstage.DefaultConfig().HTTP, s.HTTP)
	require.Equal(t, host.DefaultConfig(), s.Host, "defaults.yaml must agree with host.DefaultConfig")
	require.Equal(t, serverTimeouts{ReadHeader: 5 * time.Second, Read: 10 * time.Second, Write: 15 * time.Second,
		Idle: 60 * time.Second, Shutdown: 10 * time.Second}, s.Timeouts)
	require.Equal(t, 65536, s.MaxHeaderBytes)
	require.Equal(t, "text", s.LogFormat)
}

// TestDefaultsDocumentEveryKey keeps defaults.yaml and the key table in
// step.
func TestDefaultsDocumentEveryKey(t *testing.T) {
	k := koanf.New(".")
	require.NoError(t, k.Load(rawbytes.Provider(defaultsYAML), yaml.Parser()))
	inYAML := k.Keys()
	for _, key := range inYAML {
		_, ok := fieldByKey(key)
		require.True(t, ok, "defaults.yaml has %q, which no field handles", key)
	}
	for _, f := range fields {
		if slices.Contains(optionalKeys, f.key) {
			require.NotContains(t, inYAML, f.key)
			continue
		}
		require.Contains(t, inYAML, f.key, "defaults.yaml does not document %q", f.key)
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, "server:\n  listen: file:1\n  limits:\n    batchItems: 10\n")
	tests := []struct {
		name    string
		args    []string
		environ []string
		listen  string
		batch   int
	}{
		{name: "defaults", listen: "127.0.0.1:7008", batch: 1000},
		{name: "file over defaults", args: []string{"--config", file}, listen: "file:1", batch: 10},
		{name: "VERDICT_CONFIG names the file", environ: []string{"VERDICT_CONFIG=" + file}, listen: "file:1", batch: 10},
		{name: "env over file", args: []string{"--config", file},
			environ: []string{"VERDICT_SERVER__LISTEN=env:2"}, listen: "env:2", batch: 10},
		{name: "flag over env", args: []string{"--config", file, "--listen", "flag:3"},
			environ: []string{"VERDICT_SERVER__LISTEN=env:2", "VERDICT_SERVER__LIMITS__BATCHITEMS=20"}, listen: "flag:3", batch: 20},
		{name: "--config over VERDICT_CONFIG", args: []string{"--config", file},
			environ: []string{"VERDICT_CONFIG=/does/not/exist"}, listen: "file:1", batch: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := load(t, tc.args, tc.environ)
			require.NoError(t, err)
			require.Equal(t, tc.listen, s.Listen)
			require.Equal(t, tc.batch, s.HTTP.Limits.BatchItems)
		})
	}
}

func TestEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		check   func(*testing.T, *settings)
		err     string
	}{
		{name: "case-insensitive levels", environ: []string{"VERDICT_server__Listen=x:1", "VERDICT_BACKSTAGE__AUTH__DANGEROUSLYDISABLEDEFAULTAUTHPOLICY=true"},
			check: func(t *testing.T, s *settings) {
				require.Equal(t, "x:1", s.Listen)
				require.True(t, s.HTTP.DevMode)
			}},
		{name: "durations and ints", environ: []string{"VERDICT_POLICIES__LIMITS__CALLTIMEOUT=250ms", "VERDICT_POLICIES__LIMITS__INSTANCES=3"},
			check: func(t *testing.T, s *settings) {
				require.Equal(t, 250*time.Millisecond, s.Host.CallTimeout)
				require.Equal(t, 3, s.Host.Instances)
			}},
		{name: "trusted subjects as a comma list", environ: []string{"VERDICT_SERVER__TRUSTEDSUBJECTS=a, b,,c"},
			check: func(t *testing.T, s *settings) { require.Equal(t, []string{"a", "b", "c"}, s.HTTP.TrustedSubjects) }},
		{name: "external access as a YAML list", environ: []string{
			`VERDICT_BACKSTAGE__AUTH__EXTERNALACCESS=[{type: static, options: {token: abcdefgh123, subject: gw}}]`},
			check: func(t *testing.T, s *settings) {
				require.Equal(t, []backstage.StaticToken{{Token: "abcdefgh123", Subject: "gw"}}, s.HTTP.StaticTokens)
			}},
		{name: "variables without __ are ignored", environ: []string{"VERDICT_SERVICE_HOST=10.0.0.1", "VERDICT_PORT=tcp://10.0.0.1:80", "OTHER__X=1"},
			check: func(t *testing.T, s *settings) { require.Equal(t, "127.0.0.1:7008", s.Listen) }},
		{name: "unknown key", environ: []string{"VERDICT_SERVER__LISEN=x"}, err: "VERDICT_SERVER__LISEN names no configuration key"},
		{name: "bad duration", environ: []string{"VERDICT_SERVER__LIMITS__REQUESTTIMEOUT=soon"},
			err: `server.limits.requestTimeout: "soon" is not a duration`},
		{name: "bad int", environ: []string{"VERDICT_SERVER__LIMITS__BODYBYTES=1MB"}, err: `server.limits.bodyBytes: "1MB" is not an integer`},
		{name: "bad bool", environ: []string{"VERDICT_BACKSTAGE__AUTH__DANGEROUSLYDISABLEDEFAULTAUTHPOLICY=yes please"},
			err: `backstage.auth.dangerouslyDisableDefaultAuthPolicy: "yes please" is not true or false`},
		{name: "bad enum", environ: []string{"VERDICT_POLICIES__DEFAULT=MAYBE"}, err: `policies.default: "MAYBE" is not one of DENY, ALLOW`},
		{name: "zero limit", environ: []string{"VERDICT_SERVER__LIMITS__BATCHITEMS=0"}, err: "server.limits.batchItems: must be positive"},
		{name: "zero host limit", environ: []string{"VERDICT_POLICIES__LIMITS__INSTANCES=0"}, err: "policies.limits.instances: must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := load(t, nil, tc.environ)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			tc.check(t, s)
		})
	}
}

func TestConfigFile(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		environ []string
		check   func(*testing.T, *settings)
		err     string
	}{
		{name: "full example", environ: []string{"CATALOG_TOKEN=catalog-secret-1"},
			file: `
server:
  trustedSubjects: [gateway]
  limits: {requestTimeout: 2s}
policies:
  dir: /srv/policies
  default: ALLOW
  combine: first-applicable
  cacheDir: /tmp/cache
backstage:
  baseUrl: http://localhost:7007
  discovery:
    endpoints:
      - target: http://catalog:7007/api/{{pluginId}}
        plugins: [catalog]
  auth:
    externalAccess:
      - type: static
        options: { token: "${CATALOG_TOKEN}", subject: catalog-service }
log: {level: debug, format: json}
`,
			check: func(t *testing.T, s *settings) {
				require.Equal(t, []string{"gateway"}, s.HTTP.TrustedSubjects)
				require.Equal(t, 2*time.Second, s.HTTP.Limits.RequestTimeout)
				require.Equal(t, "/srv/policies", s.PoliciesDir)
				require.Equal(t, abi.Allow, s.Host.Default)
				require.Equal(t, host.FirstApplicable, s.Host.Combine)
				require.Equal(t, "/tmp/cache", s.Host.CacheDir)
				require.Equal(t, []backstage.StaticToken{{Token: "catalog-secret-1", Subject: "catalog-service"}}, s.HTTP.StaticTokens)
				require.Equal(t, "http://localhost:7007", s.Backstage.Discovery.BaseURL)
				require.Len(t, s.Backstage.Discovery.Endpoints, 1)
				require.Equal(t, "json", s.LogFormat)
			}},
		{name: "variable inside a string", environ: []string{"PORT=9000"}, file: "server:\n  listen: 0.0.0.0:${PORT}\n",
			check: func(t *testing.T, s *settings) { require.Equal(t, "0.0.0.0:9000", s.Listen) }},
		{name: "unset variable", file: "server:\n  listen: ${NOPE_NOT_SET}\n", err: "NOPE_NOT_SET is not set"},
		{name: "unknown key", file: "server:\n  lisen: x\n", err: `unknown key "server.lisen"`},
		{name: "wrong case", file: "server:\n  basepath: /x\n", err: `unknown key "server.basepath" (did you mean "server.basePath"?)`},
		{name: "unknown section", file: "metrics:\n  enabled: true\n", err: `unknown key "metrics.enabled"`},
		{name: "bad duration", file: "policies:\n  limits:\n    callTimeout: 100\n", err: "policies.limits.callTimeout: 100 is not a duration"},
		{name: "unknown external access type", file: "backstage:\n  auth:\n    externalAccess:\n      - type: oidc\n        options: {url: http://x}\n",
			err: `externalAccess[0]: type "oidc" is not one of static, legacy, jwks`},
		{name: "external access of every type", file: `backstage:
  baseUrl: http://backstage:7007
  discovery:
    endpoints:
      - target: {internal: "http://catalog:7007/api/{{pluginId}}", external: "https://bs.example.com/api/{{pluginId}}"}
        plugins: [catalog]
  timeout: 2s
  applyConditions: {token: outbound-token-1, maxBodyBytes: 50000}
  auth:
    externalAccess:
      - type: static
        options: {token: static-token-1, subject: ci}
      - type: legacy
        options: {secret: c2VjcmV0LXNlY3JldA==, subject: old-caller}
      - type: jwks
        options: {url: "https://idp/jwks", issuer: https://idp, audience: [verdict, backstage], subjectPrefix: idp}
`, check: func(t *testing.T, s *settings) {
			require.Equal(t, []backstage.Endpoint{{Target: "http://catalog:7007/api/{{pluginId}}", Plugins: []string{"catalog"}}}, s.Backstage.Discovery.Endpoints)
			require.Equal(t, []backstage.LegacyAccess{{Secret: "c2VjcmV0LXNlY3JldA==", Subject: "old-caller"}}, s.Backstage.Identity.Legacy)
			require.Equal(t, []backstage.JWKSAccess{{URL: "https://idp/jwks", Issuers: []string{"https://idp"},
				Audiences: []string{"verdict", "backstage"}, SubjectPrefix: "idp"}}, s.Backstage.Identity.JWKS)
			require.Equal(t, "outbound-token-1", s.Backstage.Conditions.Token)
			require.Equal(t, 50000, s.Backstage.Conditions.MaxBodyBytes)
			require.Equal(t, 2*time.Second, s.Backstage.Conditions.Timeout)
			require.Equal(t, 2*time.Second, s.Backstage.Identity.Timeout)
		}},
		{name: "bad legacy secret", file: "backstage:\n  auth:\n    externalAccess:\n      - type: legacy\n        options: {secret: '!!', subject: s}\n",
			err: "backstage.auth.externalAccess (legacy[0]): secret must be a valid base64 string"},
		{name: "short outbound token", file: "backstage:\n  applyConditions: {token: short}\n",
			err: "backstage.applyConditions.token: must be at least 8 characters"},
		{name: "relative base URL", file: "backstage:\n  baseUrl: backstage:7007\n", err: "backstage.baseUrl"},
		{name: "access restrictions refused", file: "backstage:\n  auth:\n    externalAccess:\n      - type: static\n        options: {token: abcdefgh1, subject: s}\n        accessRestrictions: [{plugin: catalog}]\n",
			err: "accessRestrictions are not supported yet"},
		{name: "short static token", file: "backstage:\n  auth:\n    externalAccess:\n      - type: static\n        options: {token: short, subject: s}\n",
			err: "backstage.auth.externalAccess[0]: token must be at least 8 characters"},
		{name: "drop-in directory keys", file: `
policies:
  requireSeal: true
  debounce: 1s
  quarantine: {failures: 5, window: 2m}
  claims:
    - module: rbac
      claims: ["catalog.*", "scaffolder.*"]
`, check: func(t *testing.T, s *settings) {
			require.True(t, s.Host.RequireSeal)
			require.Equal(t, time.Second, s.Host.Debounce)
			require.Equal(t, 5, s.Host.QuarantineFailures)
			require.Equal(t, 2*time.Minute, s.Host.QuarantineWindow)
			require.Equal(t, map[string][]string{"rbac": {"catalog.*", "scaffolder.*"}}, s.Host.Claims)
		}},
		{name: "claims without a module", file: "policies:\n  claims:\n    - claims: [x]\n", err: "policies.claims: [0]: module must be a module name"},
		{name: "empty claims", file: "policies:\n  claims:\n    - {module: m, claims: []}\n", err: "claims must be a non-empty list"},
		{name: "zero quarantine", file: "policies:\n  quarantine: {failures: 0}\n", err: "policies.quarantine.failures: must be positive"},
		{name: "bad YAML", file: "server: [", err: "verdict.yaml"},
		{name: "empty file", file: "", check: func(t *testing.T, s *settings) { require.Equal(t, "127.0.0.1:7008", s.Listen) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := load(t, []string{"--config", writeFile(t, tc.file)}, tc.environ)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.NotContains(t, err.Error(), "catalog-secret-1")
				return
			}
			require.NoError(t, err)
			tc.check(t, s)
		})
	}
}

func TestFlags(t *testing.T) {
	s, err := load(t, []string{"--listen", "127.0.0.1:0", "--policies", "/p", "--dev", "--log-level", "debug", "--log-format", "json"}, nil)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:0", s.Listen)
	require.Equal(t, "/p", s.PoliciesDir)
	require.True(t, s.HTTP.DevMode)
	require.Equal(t, "json", s.LogFormat)
	require.Equal(t, "DEBUG", s.LogLevel.String())

	_, err = load(t, []string{"--log-format", "xml"}, nil)
	require.ErrorContains(t, err, `log.format: "xml" is not one of text, json`)
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		environ []string
		code    int
		stdout  string
		stderr  string
	}{
		{name: "no arguments", code: exitUsage, stderr: "Usage:"},
		{name: "--help", args: []string{"--help"}, code: exitOK, stdout: "Commands:"},
		{name: "help serve", args: []string{"help", "serve"}, code: exitOK, stdout: "Usage: verdict serve"},
		{name: "serve --help", args: []string{"serve", "--help"}, code: exitOK, stdout: "--policies"},
		{name: "version", args: []string{"version"}, code: exitOK, stdout: "verdict dev (go"},
		{name: "unknown command", args: []string{"frobnicate"}, code: exitUsage, stderr: `unknown command "frobnicate"`},
		{name: "unknown flag", args: []string{"serve", "--nope"}, code: exitUsage, stderr: "unknown flag: --nope"},
		{name: "stray argument", args: []string{"serve", "extra"}, code: exitUsage, stderr: `unexpected argument "extra"`},
		{name: "bad config", args: []string{"serve"}, environ: []string{"VERDICT_SERVER__LISEN=x"}, code: exitUsage, stderr: "verdict: config:"},
		{name: "missing config file", args: []string{"serve", "--config", "/does/not/exist.yaml"}, code: exitUsage, stderr: "/does/not/exist.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr, tc.environ)
			require.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
			if tc.stdout != "" {
				require.Contains(t, stdout.String(), tc.stdout)
			}
			if tc.stderr != "" {
				require.Contains(t, stderr.String(), tc.stderr)
			}
		})
	}
}
