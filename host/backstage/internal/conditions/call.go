package conditions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/backstage/internal/upstream"
)

// errBadAnswer is an answer that does not fit the request.
var errBadAnswer = errors.New("malformed answer")

// call sends one body and maps the answer back onto reqs by position.
// An empty token sends no Authorization header.
func (c *Client) call(ctx context.Context, url, token, pluginID string, from int, reqs []Request, body []byte) ([]Result, error) {
	items, err := c.post(ctx, url, token, pluginID, body)
	if err != nil {
		return nil, err
	}
	if len(items) != len(reqs) {
		return nil, fmt.Errorf("%w: plugin %s answered %d items for %d", errBadAnswer, pluginID, len(items), len(reqs))
	}
	out := make([]Result, len(reqs))
	for i := range reqs {
		out[i] = mapAnswer(pluginID, &reqs[i], strconv.Itoa(from+i), items[i].ID, items[i].Result)
	}
	return out, nil
}

// answerItem is one item of an apply-conditions answer.
type answerItem struct {
	ID     string          `json:"id"`
	Result json.RawMessage `json:"result"`
}

// post sends body to url, bounded by the configured timeout, and returns
// the items of a successful answer.
func (c *Client) post(ctx context.Context, url, token, pluginID string, body []byte) ([]answerItem, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer upstream.Drain(resp)
	if err := upstream.Redirect("plugin "+pluginID, resp); err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, upstream.FromResponse("apply-conditions of plugin "+pluginID, resp)
	}
	var ans struct {
		Items []answerItem `json:"items"`
	}
	if err := upstream.ReadJSON(resp, c.cfg.MaxAnswerBytes, &ans); err != nil {
		return nil, fmt.Errorf("%w from plugin %s: %w", errBadAnswer, pluginID, err)
	}
	return ans.Items, nil
}

// mapAnswer turns one answered item into a Result; anything unexpected is
// DENY with a reason.
func mapAnswer(pluginID string, r *Request, sent, id string, raw json.RawMessage) Result {
	var res []abi.Result
	var why string
	if id != sent {
		why = "answered id " + strconv.Quote(id) + " where " + strconv.Quote(sent) + " was sent"
	} else {
		res, why = answerResults(r, raw)
	}
	if why != "" {
		return Result{Results: denyAll(len(r.Refs)), Reason: "cannot resolve conditions: plugin " + pluginID + " " + why}
	}
	return Result{Results: res}
}

// answerResults reads raw, the answer for r: one result per ref, or why
// the answer does not fit r.
func answerResults(r *Request, raw json.RawMessage) ([]abi.Result, string) {
	var one abi.Result
	if json.Unmarshal(raw, &one) == nil {
		return scalarResults(r, one)
	}
	var many []abi.Result
	if json.Unmarshal(raw, &many) != nil {
		return nil, "answered a result that is neither a string nor a list"
	}
	return listResults(r, many)
}

// scalarResults reads a single answered result. For an array of refs it
// is the same answer for every ref, as Backstage's client reads it.
func scalarResults(r *Request, one abi.Result) ([]abi.Result, string) {
	if !decided(one) {
		return nil, "answered result " + strconv.Quote(string(one))
	}
	if !r.Array {
		return []abi.Result{one}, ""
	}
	res := make([]abi.Result, len(r.Refs))
	for i := range res {
		res[i] = one
	}
	return res, ""
}

// listResults reads a list of answered results, one per ref of an array.
func listResults(r *Request, many []abi.Result) ([]abi.Result, string) {
	if !r.Array {
		return nil, "answered a list for a single resourceRef"
	}
	if len(many) != len(r.Refs) {
		return nil, fmt.Sprintf("answered %d results for %d resourceRefs", len(many), len(r.Refs))
	}
	for _, x := range many {
		if !decided(x) {
			return nil, "answered result " + strconv.Quote(string(x))
		}
	}
	return many, ""
}

// decided reports whether x is a definitive answer, ALLOW or DENY.
func decided(x abi.Result) bool { return x == abi.Allow || x == abi.Deny }
