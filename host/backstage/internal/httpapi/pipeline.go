package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
)

// This file is the answer pipeline both authorize endpoints end with, once
// the body is valid and the principal known: decide the batch's queries,
// settle each query's final answer (apply-conditions included), write the
// response, and record what was answered.

// respond decides b under ctx (the request deadline), settles its answers,
// writes them in request order and records them with the metrics and the
// decision log. url is the request URL as the error envelope shows it.
func (s *server) respond(ctx context.Context, w http.ResponseWriter, r *http.Request, url string, b *batch) {
	b.start = time.Now()
	err := s.decide(ctx, b)
	if err == nil {
		err = s.settle(ctx, b)
	}
	var body []byte
	if err == nil {
		body, err = b.response()
	}
	if err != nil {
		s.writeError(w, r, url, err)
		return
	}
	writeJSON(w, http.StatusOK, body)
	if s.decisions != nil || s.observer != nil {
		s.record(b)
	}
}

// decide asks the Decider about b's queries: one Decision per query, or an
// error.
func (s *server) decide(ctx context.Context, b *batch) error {
	ds, err := s.d.Decide(ctx, b.principal, b.queries)
	if err != nil {
		return err
	}
	if ds == nil || len(ds.Items) != len(b.queries) {
		got := 0
		if ds != nil {
			got = len(ds.Items)
		}
		return fmt.Errorf("decider answered %d decisions for %d queries", got, len(b.queries))
	}
	b.decisions = ds
	return nil
}

// answer is the final answer to one query, the same in the response, the
// metrics and the decision log.
type answer struct {
	result abi.Result
	// note explains what changed the host's answer ("" when nothing did).
	note string
	// reason is note then the host's reason, joined by "; ".
	reason string
}

// Reasons for a CONDITIONAL decision turned into DENY.
const (
	// reasonConditionalRef: a CONDITIONAL decision for a resource that was
	// not resolved (an incomplete decision, which the host never gives).
	reasonConditionalRef = "conditional decision for a resourceRef could not be resolved"
	// reasonNoResolver: apply-conditions is not set up.
	reasonNoResolver = "conditional decision for a resourceRef not resolved: apply-conditions is not configured"
	// reasonResolverFailed: the plugin could not be asked (logged).
	reasonResolverFailed = "conditional decision not resolved: internal error"
)

// settle computes every query's final answer once: the host's decision,
// unless it is CONDITIONAL for a resource (then the owning plugin's answer
// through apply-conditions, see applyConditions) or incomplete or
// unexpected (DENY).
func (s *server) settle(ctx context.Context, b *batch) error {
	ds := b.decisions.Items
	b.answers = make([]answer, len(ds))
	for k := range ds {
		b.answers[k] = outcome(&b.queries[k], &ds[k])
	}
	if err := s.applyConditions(ctx, b); err != nil {
		return err
	}
	for k := range b.answers {
		b.answers[k].reason = joinReason(b.answers[k].note, ds[k].Reason)
	}
	return nil
}

// outcome is the answer to q when its decision d is not resolved through
// apply-conditions: d's result, but DENY for a CONDITIONAL decision for a
// resource (applyConditions replaces it when the plugin answers), and for
// an incomplete or unexpected decision.
func outcome(q *host.Query, d *host.Decision) answer {
	switch d.Result {
	case abi.Allow, abi.Deny:
		return answer{result: d.Result}
	case abi.Conditional:
		switch {
		case q.ResourceRef != nil:
			return answer{result: abi.Deny, note: reasonConditionalRef}
		case d.Conditions == nil || d.PluginID == "":
			return answer{result: abi.Deny, note: "host returned an incomplete CONDITIONAL decision"}
		}
		return answer{result: abi.Conditional}
	}
	return answer{result: abi.Deny, note: "host returned an unexpected result " + string(d.Result)}
}

// joinReason joins two reasons with "; ", leaving out an empty one.
func joinReason(a, b string) string {
	if b == "" {
		return a
	}
	if a == "" {
		return b
	}
	return a + "; " + b
}
