package backstage

// The parts of Config that a ConfigError names.
const (
	PartEngine     = "engine"
	PartHTTP       = "http"
	PartDiscovery  = "discovery"
	PartIdentity   = "identity"
	PartConditions = "conditions"
	PartPluginKeys = "pluginKeys"
)

// ConfigError is a part of Config that New or Validate refused: Part is
// one of the Part constants, Err the part's own error.
type ConfigError struct {
	Part string
	Err  error
}

// Error returns "part: err".
func (e *ConfigError) Error() string { return e.Part + ": " + e.Err.Error() }

// Unwrap returns the part's own error.
func (e *ConfigError) Unwrap() error { return e.Err }
