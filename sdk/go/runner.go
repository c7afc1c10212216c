package verdict

import (
	"errors"
	"strconv"
)

// Error codes of the error envelopes the SDK returns.
const (
	// CodeBadInput: the host's input could not be decoded.
	CodeBadInput = "bad_input"
	// CodePanic: the policy panicked; the host denies the whole batch.
	CodePanic = "panic"
	// CodeInvalidSettings: Configure refused the settings.
	CodeInvalidSettings = "invalid_settings"
	// CodeNoPolicy: no valid policy was registered.
	CodeNoPolicy = "no_policy"
)

// Runner drives a Policy through ABI v1's JSON wire format. The exported Wasm
// functions use one for the registered policy; tests use NewRunner to run a
// policy natively, byte for byte as the host would see it.
//
// A Runner is not safe for concurrent use (a Wasm instance is single
// threaded). The slices its methods return are its own and stay valid until
// the next call.
type Runner struct {
	policy    Policy
	dec       decoder
	req       request
	decisions []Decision
	out       []byte
}

// NewRunner returns a Runner for p, or an error when p is incomplete (no
// Name or Version, not exactly one of Decide and DecideBatch, an empty
// claim).
func NewRunner(p Policy) (*Runner, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &Runner{policy: p}, nil
}

// Configure runs verdict_configure: input is
// {"settings": <JSON or null>, "files": {"name": "text"}} and the result is
// {"ok":true} or an error envelope.
func (r *Runner) Configure(input []byte) (out []byte) {
	defer r.recoverInto(&out)
	s, err := decodeConfigure(input)
	if err != nil {
		return r.fail(CodeBadInput, "configure input: "+err.Error())
	}
	if r.policy.Configure == nil {
		if s.Raw != nil || len(s.Files) > 0 {
			return r.fail(CodeInvalidSettings, "policy "+strconv.Quote(r.policy.Name)+" takes no settings or files")
		}
	} else if err := r.policy.Configure(&s); err != nil {
		return r.fail(CodeInvalidSettings, err.Error())
	}
	r.out = append(r.out[:0], `{"ok":true}`...)
	return r.out
}

// Describe runs verdict_describe: it returns
// {"abi":"1.0","name","version","sdk":"go/<SDKVersion>","claims":[...]},
// or nil (a failure for the host) when ClaimsFunc panics or returns an
// empty claim.
func (r *Runner) Describe() (out []byte) {
	defer func() {
		if v := recover(); v != nil {
			LogError("verdict: describe: " + panicMessage(v))
			out = nil
		}
	}()
	claims := r.policy.Claims
	if r.policy.ClaimsFunc != nil {
		claims = r.policy.ClaimsFunc()
	}
	b := append(r.out[:0], `{"abi":`...)
	b = appendString(b, ABIVersion)
	b = append(b, `,"name":`...)
	b = appendString(b, r.policy.Name)
	b = append(b, `,"version":`...)
	b = appendString(b, r.policy.Version)
	b = append(b, `,"sdk":`...)
	b = appendString(b, "go/"+SDKVersion)
	b = append(b, `,"claims":[`...)
	for i, c := range claims {
		if c == "" {
			LogError("verdict: describe: empty claim")
			return nil
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, c)
	}
	r.out = append(b, ']', '}')
	return r.out
}

// Evaluate runs verdict_evaluate: input is
// {"abi":1,"principal":{...},"items":[...]} and the result is
// {"items":[...]} with one answer per item, or an error envelope when the
// input cannot be decoded or the policy panics.
func (r *Runner) Evaluate(input []byte) (out []byte) {
	defer r.recoverInto(&out)
	if err := decodeRequest(&r.dec, input, &r.req); err != nil {
		return r.fail(CodeBadInput, "evaluate input: "+err.Error())
	}
	items := r.req.items
	ds := r.decisions[:0]
	if cap(ds) < len(items) {
		ds = make([]Decision, 0, len(items))
	}
	ds = ds[:len(items)]
	clear(ds)
	r.decisions = ds
	p := &r.req.principal
	if r.policy.DecideBatch != nil {
		r.policy.DecideBatch(p, items, ds)
	} else {
		for i := range items {
			ds[i] = r.policy.Decide(p, &items[i])
		}
	}
	b := append(r.out[:0], `{"items":[`...)
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		checkDecision(&ds[i], &items[i].Permission)
		b = appendAnswer(b, items[i].ID, &ds[i])
	}
	r.out = append(b, ']', '}')
	clear(ds) // drop references to the policy's data until the next call
	return r.out
}

// fail sets the output to an error envelope and returns it.
func (r *Runner) fail(code, message string) []byte {
	r.out = appendError(r.out[:0], code, message)
	return r.out
}

// recoverInto turns a panic into a CodePanic envelope in *out. It must be
// deferred directly.
func (r *Runner) recoverInto(out *[]byte) {
	if v := recover(); v != nil {
		msg := "policy " + strconv.Quote(r.policy.Name) + " panicked: " + panicMessage(v)
		LogError(msg)
		*out = r.fail(CodePanic, msg)
	}
}

// panicMessage describes a recovered panic value without fmt.
func panicMessage(v any) string {
	switch v := v.(type) {
	case error:
		return v.Error()
	case string:
		return v
	case interface{ String() string }:
		return v.String()
	}
	return "a non-error value"
}

// errDecision prefixes the reasons of decisions the SDK turned into DENY.
var errDecision = errors.New("verdict: invalid decision")

// checkDecision replaces d by DENY with a reason when it is not a valid
// answer for a permission p, and fills a Conditional answer's empty
// ResourceType from p. The host would deny such answers too; doing it here
// gives the author a precise reason.
func checkDecision(d *Decision, p *Permission) {
	why := ""
	switch {
	case !d.Result.Valid():
		why = "result " + strconv.Quote(string(d.Result)) + " is not ALLOW, DENY, CONDITIONAL or ABSTAIN"
	case d.Result != Conditional:
		if d.PluginID != "" || d.ResourceType != "" || !d.Conditions.IsZero() {
			why = string(d.Result) + " with pluginId, resourceType or conditions"
		}
	case !p.IsResource():
		why = "CONDITIONAL for basic permission " + strconv.Quote(p.Name)
	case d.PluginID == "":
		why = "CONDITIONAL without pluginId"
	default:
		if d.ResourceType == "" {
			d.ResourceType = p.ResourceType
		}
		if d.ResourceType != p.ResourceType {
			why = "CONDITIONAL resourceType " + strconv.Quote(d.ResourceType) +
				" is not the permission's " + strconv.Quote(p.ResourceType)
		} else if err := d.Conditions.Validate(p.ResourceType); err != nil {
			why = err.Error()
		}
	}
	if why != "" {
		msg := errDecision.Error() + " for " + strconv.Quote(p.Name) + ": " + why
		LogWarn(msg)
		*d = Decision{Result: Deny, Reason: msg}
	}
}
