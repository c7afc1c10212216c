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
		Items []struct {
			ID     string          `json:"id"`
			Result json.RawMessage `json:"result"`
		} `json:"items"`
	}
	if err := upstream.ReadJSON(resp, c.cfg.MaxAnswerBytes, &ans); err != nil {
		return nil, fmt.Errorf("%w from plugin %s: %v", errBadAnswer, pluginID, err)
	}
	if len(ans.Items) != len(reqs) {
		return nil, fmt.Errorf("%w: plugin %s answered %d items for %d", errBadAnswer, pluginID, len(ans.Items), len(reqs))
	}
	out := make([]Result, len(reqs))
	for i := range reqs {
		out[i] = mapAnswer(pluginID, &reqs[i], strconv.Itoa(from+i), ans.Items[i].ID, ans.Items[i].Result)
	}
	return out, nil
}

// mapAnswer turns one answered item into a Result; anything unexpected is
// DENY with a reason.
func mapAnswer(pluginID string, r *Request, sent, id string, raw json.RawMessage) Result {
	bad := func(why string) Result {
		return Result{Results: denyAll(len(r.Refs)), Reason: "cannot resolve conditions: plugin " + pluginID + " " + why}
	}
	if id != sent {
		return bad("answered id " + strconv.Quote(id) + " where " + strconv.Quote(sent) + " was sent")
	}
	var one abi.Result
	if json.Unmarshal(raw, &one) == nil {
		if one != abi.Allow && one != abi.Deny {
			return bad("answered result " + strconv.Quote(string(one)))
		}
		if !r.Array {
			return Result{Results: []abi.Result{one}}
		}
		// A scalar for an array: the same answer for every ref, as
		// Backstage's client reads it.
		res := make([]abi.Result, len(r.Refs))
		for i := range res {
			res[i] = one
		}
		return Result{Results: res}
	}
	var many []abi.Result
	if json.Unmarshal(raw, &many) != nil {
		return bad("answered a result that is neither a string nor a list")
	}
	if !r.Array {
		return bad("answered a list for a single resourceRef")
	}
	if len(many) != len(r.Refs) {
		return bad(fmt.Sprintf("answered %d results for %d resourceRefs", len(many), len(r.Refs)))
	}
	for _, x := range many {
		if x != abi.Allow && x != abi.Deny {
			return bad("answered result " + strconv.Quote(string(x)))
		}
	}
	return Result{Results: many}
}

// encodeItem appends one apply-conditions item. Like Backstage's, it
// carries the decision's result and pluginId too (plugins strip them).
func encodeItem(b []byte, id, pluginID string, r *Request) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"resourceRef":`...)
	if r.Array {
		b = append(b, '[')
		for i, ref := range r.Refs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, ref)
		}
		b = append(b, ']')
	} else {
		b = appendJSONString(b, r.Refs[0])
	}
	b = append(b, `,"result":"CONDITIONAL","pluginId":`...)
	b = appendJSONString(b, pluginID)
	b = append(b, `,"resourceType":`...)
	b = appendJSONString(b, r.ResourceType)
	b = append(b, `,"conditions":`...)
	b = append(b, r.Conditions...)
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}
