package main

// The configuration keys: every key Verdict knows, and the setters that check
// and apply each value.

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
)

// field is one configuration key: its name as written in files, and how
// its value is applied to settings.
type field struct {
	key  string
	set  func(s *settings, v any) error
	flag string // the flag that sets it, if any
}

// fields lists every key Verdict knows. Keys are camelCase; the
// environment matches them case-insensitively.
var fields = []field{
	{key: "server.listen", flag: "listen", set: str(func(s *settings, v string) { s.Listen = v })},
	{key: "server.basePath", set: str(func(s *settings, v string) { s.HTTP.BasePath = v })},
	{key: "server.cors.origins", set: strs(func(s *settings, v []string) { s.HTTP.CORS.Origins = v })},
	{key: "server.cors.credentials", set: boolean(func(s *settings, v bool) { s.HTTP.CORS.Credentials = v })},
	{key: "server.trustedSubjects", set: strs(func(s *settings, v []string) { s.HTTP.TrustedSubjects = v })},
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
	{key: "backstage.discovery.endpoints", set: setEndpoints},
	{key: "backstage.timeout", set: duration(func(s *settings, v time.Duration) {
		s.Backstage.Identity.Timeout = v
		s.Backstage.Conditions.Timeout = v
	})},
	{key: "backstage.applyConditions.token", set: str(func(s *settings, v string) { s.Backstage.Conditions.Token = v })},
	{key: "backstage.applyConditions.maxBodyBytes", set: integer(func(s *settings, v int) { s.Backstage.Conditions.MaxBodyBytes = v })},
	{key: "backstage.applyConditions.auth", set: enum([]string{authAuto, authStatic, authPluginToken},
		func(s *settings, v string) { s.Backstage.ConditionsAuth = v })},
	{key: "backstage.auth.externalAccess", set: setExternalAccess},
	{key: "backstage.auth.pluginKeyStore.type", set: enum([]string{keyStoreMemory, keyStoreStatic},
		func(s *settings, v string) { s.Backstage.KeyStoreType = v })},
	{key: "backstage.auth.pluginKeyStore.static.keys", set: setPluginKeys},
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

func fieldByKey(key string) (field, bool) {
	for _, f := range fields {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

// Value converters: each returns a setter that checks the raw value's type
// and reports a one-line error naming the value.

func str(apply func(*settings, string)) func(*settings, any) error {
	return func(s *settings, v any) error {
		switch x := v.(type) {
		case string:
			apply(s, x)
		case nil:
			apply(s, "")
		default:
			return fmt.Errorf("%v is not a string", v)
		}
		return nil
	}
}

func enum(values []string, apply func(*settings, string)) func(*settings, any) error {
	return func(s *settings, v any) error {
		x, ok := v.(string)
		if !ok || !slices.Contains(values, x) {
			return fmt.Errorf("%s is not one of %s", quote(v), strings.Join(values, ", "))
		}
		apply(s, x)
		return nil
	}
}

func duration(apply func(*settings, time.Duration)) func(*settings, any) error {
	return func(s *settings, v any) error {
		x, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s is not a duration (write it with a unit, e.g. 500ms or 2s)", quote(v))
		}
		d, err := time.ParseDuration(x)
		if err != nil {
			return fmt.Errorf("%s is not a duration (write it with a unit, e.g. 500ms or 2s)", quote(v))
		}
		apply(s, d)
		return nil
	}
}

func integer(apply func(*settings, int)) func(*settings, any) error {
	return func(s *settings, v any) error {
		var n int
		switch x := v.(type) {
		case int:
			n = x
		case int64:
			n = int(x)
		case uint64:
			if x > math.MaxInt {
				return fmt.Errorf("%v is too large", x)
			}
			n = int(x)
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return fmt.Errorf("%v is not an integer", x)
			}
			n = int(x)
		case string:
			i, err := strconv.Atoi(strings.TrimSpace(x))
			if err != nil {
				return fmt.Errorf("%q is not an integer", x)
			}
			n = i
		default:
			return fmt.Errorf("%s is not an integer", quote(v))
		}
		apply(s, n)
		return nil
	}
}

func boolean(apply func(*settings, bool)) func(*settings, any) error {
	return func(s *settings, v any) error {
		switch x := v.(type) {
		case bool:
			apply(s, x)
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return fmt.Errorf("%q is not true or false", x)
			}
			apply(s, b)
		default:
			return fmt.Errorf("%s is not true or false", quote(v))
		}
		return nil
	}
}

func strs(apply func(*settings, []string)) func(*settings, any) error {
	return func(s *settings, v any) error {
		if v == nil {
			apply(s, nil)
			return nil
		}
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s is not a list of strings", quote(v))
		}
		var out []string
		for i, e := range list {
			x, ok := e.(string)
			if !ok {
				return fmt.Errorf("[%d]: %s is not a string", i, quote(e))
			}
			out = append(out, x)
		}
		apply(s, out)
		return nil
	}
}

func quote(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%v", v)
}
