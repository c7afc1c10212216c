package verdict

import "errors"

// SDKVersion is this SDK's version; verdict_describe reports it as
// "go/<SDKVersion>".
const SDKVersion = "0.1.0"

// ABIVersion is the ABI version this SDK speaks, as reported by
// verdict_describe: major 1 (the verdict_abi_v1 marker), minor 0.
const ABIVersion = "1.0"

// Policy is a policy module: its identity, the permissions it claims, and
// the functions that configure it and decide. Give it to Register from an
// init function of your main package.
type Policy struct {
	// Name identifies the policy in the host's /v1/policies and logs.
	// Required.
	Name string
	// Version is the policy's own version, e.g. "1.2.0". Required.
	Version string
	// Claims are the permission-name patterns this policy answers for
	// ("*" matches any run of characters, dots included; everything else is
	// literal and case-sensitive). Items it does not claim never reach it.
	Claims []string
	// ClaimsFunc, when set, is called instead of reading Claims, after
	// Configure: use it when the claims depend on the settings.
	ClaimsFunc func() []string
	// Decide answers one item. The principal and item are valid for the
	// call only. Exactly one of Decide and DecideBatch must be set.
	Decide func(p *Principal, it *Item) Decision
	// DecideBatch answers a whole batch at once: out[i] answers items[i]
	// (out has len(items) zero Decisions on entry; a zero Decision left in
	// out becomes DENY). Use it when work can be shared between items.
	DecideBatch func(p *Principal, items []Item, out []Decision)
	// Configure is called once when the host loads the module, before it
	// asks for the claims, with the module's settings (Settings.Raw is nil
	// when there is no settings file). Return an error to refuse the
	// settings: the host then refuses to load the module and shows the
	// message. When Configure is nil, the module refuses any settings or
	// files.
	Configure func(s *Settings) error
}

// Settings is what the operator gave the module: the settings file beside
// the .wasm and the text files of its NAME.d directory.
type Settings struct {
	// Raw is the settings file as JSON text, or nil when there is none (or
	// it is JSON null). Decode it however you like: Configure is not on the
	// hot path.
	Raw []byte
	// Value is the settings parsed into a Value (null when Raw is nil).
	Value Value
	// Files maps the base names of the files in NAME.d to their text. It is
	// never nil.
	Files map[string]string
}

// validate checks that p can be run.
func (p *Policy) validate() error {
	switch {
	case p.Name == "":
		return errors.New("verdict: Policy.Name is required")
	case p.Version == "":
		return errors.New("verdict: Policy.Version is required")
	case (p.Decide == nil) == (p.DecideBatch == nil):
		return errors.New("verdict: policy " + p.Name + ": set exactly one of Decide and DecideBatch")
	}
	for _, c := range p.Claims {
		if c == "" {
			return errors.New("verdict: policy " + p.Name + ": empty claim")
		}
	}
	return nil
}

// The registration state. It is set during package initialisation only (a
// c-shared Wasm module runs init functions in _initialize and never runs
// main, which is why the SDK uses registration at all).
var (
	registerCalls int
	registered    *Runner
	registerErr   error
)

// Register makes p the policy this module runs. Call it exactly once, from
// an init function of your main package: a module built with
// -buildmode=c-shared runs init functions when the host calls _initialize
// and never runs main. An invalid policy, or a second call, makes the
// module fail to load with a message saying why.
func Register(p Policy) {
	registerCalls++
	if registerCalls > 1 {
		registered, registerErr = nil, errors.New("verdict: Register called more than once")
		return
	}
	registered, registerErr = NewRunner(p)
}

// registeredRunner returns the registered policy's Runner, or why there is
// none.
func registeredRunner() (*Runner, error) {
	if registerCalls == 0 {
		return nil, errors.New("verdict: no policy registered: call verdict.Register from an init function")
	}
	return registered, registerErr
}
