package main

// The configuration keys: every key Verdict knows, the flag that sets it
// and the setter that checks and applies its value (setters.go,
// configlists.go). defaults.yaml gives each key its default and documents
// it.

import (
	"time"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
)

// field is one configuration key: its name as written in files, and how
// its value is applied to settings.
type field struct {
	key  string
	set  setter
	flag string  // the flag that sets it, if any
	env  envList // how the environment writes it, when it is a list
}

// envList says how an environment variable writes a list-valued key.
type envList int

const (
	// envString: the variable's value is given to the setter as a string.
	envString envList = iota
	// envYAMLList: a YAML flow sequence, "[...]".
	envYAMLList
	// envStringList: a YAML flow sequence, or comma-separated strings.
	envStringList
)

// fields lists every key Verdict knows. Keys are camelCase; the
// environment matches them case-insensitively.
var fields = []field{
	{key: "server.listen", flag: "listen", set: str(func(s *settings, v string) { s.Listen = v })},
	{key: "server.basePath", set: str(func(s *settings, v string) { s.HTTP.BasePath = v })},
	{key: "server.cors.origins", set: strs(func(s *settings, v []string) { s.HTTP.CORS.Origins = v })},
	{key: "server.cors.credentials", set: boolean(func(s *settings, v bool) { s.HTTP.CORS.Credentials = v })},
	{key: "server.trustedSubjects", env: envStringList, set: strs(func(s *settings, v []string) { s.HTTP.TrustedSubjects = v })},
	{key: "server.limits.bodyBytes", set: integer(func(s *settings, v int) { s.HTTP.Limits.BodyBytes = int64(v) })},
	{key: "server.limits.bodyBytesInFlight", set: integer(func(s *settings, v int) { s.HTTP.Limits.BodyBytesInFlight = int64(v) })},
	{key: "server.limits.batchItems", set: integer(func(s *settings, v int) { s.HTTP.Limits.BatchItems = v })},
	{key: "server.limits.resourceRefs", set: integer(func(s *settings, v int) { s.HTTP.Limits.ResourceRefs = v })},
	{key: "server.limits.jsonDepth", set: integer(func(s *settings, v int) { s.HTTP.Limits.JSONDepth = v })},
	{key: "server.limits.requestTimeout", set: duration(func(s *settings, v time.Duration) { s.HTTP.Limits.RequestTimeout = v })},
	{key: "server.timeouts.readHeader", set: duration(func(s *settings, v time.Duration) { s.Timeouts.ReadHeader = v })},
	{key: "server.timeouts.read", set: duration(func(s *settings, v time.Duration) { s.Timeouts.Read = v })},
	{key: "server.timeouts.write", set: duration(func(s *settings, v time.Duration) { s.Timeouts.Write = v })},
	{key: "server.timeouts.idle", set: duration(func(s *settings, v time.Duration) { s.Timeouts.Idle = v })},
	{key: "server.timeouts.shutdown", set: duration(func(s *settings, v time.Duration) { s.Timeouts.Shutdown = v })},
	{key: "server.maxHeaderBytes", set: integer(func(s *settings, v int) { s.MaxHeaderBytes = v })},
	{key: "policies.dir", flag: "policies", set: str(func(s *settings, v string) { s.PoliciesDir = v })},
	{key: "policies.combine", set: enum([]string{"deny-overrides", "permit-overrides", "first-applicable"},
		func(s *settings, v string) { s.Host.Combine = host.Combine(v) })},
	{key: "policies.default", set: enum([]string{"DENY", "ALLOW"},
		func(s *settings, v string) { s.Host.Default = abi.Result(v) })},
	{key: "policies.cacheDir", set: str(func(s *settings, v string) {
		if v != "" {
			s.Host.CacheDir = v
		}
	})},
	{key: "policies.limits.callTimeout", set: duration(func(s *settings, v time.Duration) { s.Host.CallTimeout = v })},
	{key: "policies.limits.fuel", set: integer(func(s *settings, v int) { s.Host.Fuel = int64(v) })},
	{key: "policies.limits.fuelPerItem", set: integer(func(s *settings, v int) { s.Host.FuelPerItem = int64(v) })},
	{key: "policies.limits.fuelPerInputByte", set: integer(func(s *settings, v int) { s.Host.FuelPerInputByte = int64(v) })},
	{key: "policies.limits.itemsPerCall", set: integer(func(s *settings, v int) { s.Host.ItemsPerCall = v })},
	{key: "policies.limits.inputBytesPerCall", set: integer(func(s *settings, v int) { s.Host.InputBytesPerCall = v })},
	{key: "policies.limits.concurrentCalls", set: integer(func(s *settings, v int) { s.Host.ConcurrentCalls = v })},
	{key: "policies.limits.loadTimeout", set: duration(func(s *settings, v time.Duration) { s.Host.LoadTimeout = v })},
	{key: "policies.limits.loadDirTimeout", set: duration(func(s *settings, v time.Duration) { s.Host.LoadDirTimeout = v })},
	{key: "policies.limits.memoryMiB", set: integer(func(s *settings, v int) { s.Host.MemoryMiB = v })},
	{key: "policies.limits.outputBytes", set: integer(func(s *settings, v int) { s.Host.OutputBytes = v })},
	{key: "policies.limits.outputBytesPerItem", set: integer(func(s *settings, v int) { s.Host.OutputBytesPerItem = v })},
	{key: "policies.limits.instances", set: integer(func(s *settings, v int) { s.Host.Instances = v })},
	{key: "policies.limits.stdioBytes", set: integer(func(s *settings, v int) { s.Host.StdioBytes = v })},
	{key: "policies.limits.logBytes", set: integer(func(s *settings, v int) { s.Host.LogBytes = v })},
	{key: "policies.limits.logMessages", set: integer(func(s *settings, v int) { s.Host.LogMessages = v })},
	{key: "policies.limits.logBytesPerCall", set: integer(func(s *settings, v int) { s.Host.LogBytesPerCall = v })},
	{key: "policies.limits.randomBytes", set: integer(func(s *settings, v int) { s.Host.RandomBytes = v })},
	{key: "policies.requireSeal", set: boolean(func(s *settings, v bool) { s.Host.RequireSeal = v })},
	{key: "policies.debounce", set: duration(func(s *settings, v time.Duration) { s.Host.Debounce = v })},
	{key: "policies.debounceMax", set: duration(func(s *settings, v time.Duration) { s.Host.DebounceMax = v })},
	{key: "policies.quarantine.failures", set: integer(func(s *settings, v int) { s.Host.QuarantineFailures = v })},
	{key: "policies.quarantine.window", set: duration(func(s *settings, v time.Duration) { s.Host.QuarantineWindow = v })},
	{key: "policies.claims", set: setClaims},
	{key: "backstage.baseUrl", set: str(func(s *settings, v string) { s.Backstage.Discovery.BaseURL = v })},
	{key: "backstage.discovery.endpoints", env: envYAMLList, set: setEndpoints},
	{key: "backstage.timeout", set: duration(func(s *settings, v time.Duration) {
		s.Backstage.Identity.Timeout = v
		s.Backstage.Conditions.Timeout = v
	})},
	{key: "backstage.applyConditions.token", set: str(func(s *settings, v string) { s.Backstage.Conditions.Token = v })},
	{key: "backstage.applyConditions.maxBodyBytes", set: integer(func(s *settings, v int) { s.Backstage.Conditions.MaxBodyBytes = v })},
	{key: "backstage.applyConditions.auth", set: enum([]string{authAuto, authStatic, authPluginToken},
		func(s *settings, v string) { s.Backstage.ConditionsAuth = v })},
	{key: "backstage.auth.externalAccess", env: envYAMLList, set: setExternalAccess},
	{key: "backstage.auth.pluginKeyStore.type", set: enum([]string{keyStoreMemory, keyStoreStatic},
		func(s *settings, v string) { s.Backstage.KeyStoreType = v })},
	{key: "backstage.auth.pluginKeyStore.static.keys", env: envYAMLList, set: setPluginKeys},
	{key: "backstage.auth.dangerouslyDisableDefaultAuthPolicy", flag: "dev",
		set: boolean(func(s *settings, v bool) { s.HTTP.DevMode = v })},
	{key: "decisionLog.sink", set: str(func(s *settings, v string) { s.DecisionLog.Sink = v })},
	{key: "decisionLog.buffer", set: integer(func(s *settings, v int) { s.DecisionLog.Buffer = v })},
	{key: "log.level", flag: "log-level", set: enum([]string{"debug", "info", "warn", "error"},
		func(s *settings, v string) { _ = s.LogLevel.UnmarshalText([]byte(v)) })},
	{key: "log.format", flag: "log-format", set: enum([]string{"text", "json"},
		func(s *settings, v string) { s.LogFormat = v })},
}

// optionalKeys may be absent from defaults.yaml: absent means "use the
// library default".
var optionalKeys = []string{"policies.limits.instances", "policies.limits.concurrentCalls"}

// fieldByKey returns the field of key, spelled exactly.
func fieldByKey(key string) (field, bool) {
	for _, f := range fields {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}
