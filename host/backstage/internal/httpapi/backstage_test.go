package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
)

const (
	authorizePath = "/api/permission/authorize"
	basicAllow    = `{"id":"a","permission":{"type":"basic","name":"x.allow","attributes":{}}}`
	validBody     = `{"items":[` + basicAllow + `]}`
)

func depthBomb(n int) string {
	return `{"items":[` + strings.Repeat("[", n) + strings.Repeat("]", n) + `]}`
}

func bigBody(size int) string {
	pad := strings.Repeat("x", size)
	return `{"items":[],"pad":"` + pad + `"}`
}

func manyItems(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = basicAllow
	}
	return `{"items":[` + strings.Join(parts, ",") + `]}`
}

// TestAuthorizeErrors covers Backstage's error table (DESIGN.md,
// "Backstage's error table") and its order of checks (the package doc).
func TestAuthorizeErrors(t *testing.T) {
	tests := []struct {
		name   string
		dev    bool
		req    req
		status int
		errNm  string
		msg    string // exact message, when set
	}{
		{name: "no token", req: req{body: validBody}, status: 401, errNm: "AuthenticationError", msg: "Missing credentials"},
		{name: "no token and bad body", req: req{body: `{not json`}, status: 401, errNm: "AuthenticationError", msg: "Missing credentials"},
		{name: "no token and oversized body", req: req{body: bigBody(2 << 20)}, status: 401, errNm: "AuthenticationError"},
		{name: "not a bearer header", req: req{body: validBody, header: map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}}, status: 401, errNm: "AuthenticationError", msg: "Missing credentials"},
		{name: "bearer with two tokens", req: req{body: validBody, header: map[string]string{"Authorization": "Bearer a b"}}, status: 401, errNm: "AuthenticationError", msg: "Missing credentials"},
		{name: "unknown token", req: req{body: validBody, token: "nope-nope-nope"}, status: 401, errNm: "AuthenticationError", msg: "Illegal token"},
		{name: "unknown token in dev mode", dev: true, req: req{body: validBody, token: "nope-nope-nope"}, status: 401, errNm: "AuthenticationError", msg: "Illegal token"},
		{name: "service token", req: req{body: validBody, token: serviceToken}, status: 403, errNm: "NotAllowedError", msg: "This endpoint does not allow 'service' credentials"},
		{name: "service token lower-case scheme", req: req{body: validBody, header: map[string]string{"Authorization": "bearer   " + serviceToken}}, status: 403, errNm: "NotAllowedError"},
		{name: "service token and oversized body", req: req{body: bigBody(2 << 20), token: serviceToken}, status: 413, errNm: "PayloadTooLargeError", msg: "request entity too large"},
		{name: "service token and oversized chunked body", req: req{body: bigBody(2 << 20), token: serviceToken, chunked: true}, status: 413, errNm: "PayloadTooLargeError", msg: "request entity too large"},
		{name: "service token and malformed JSON", req: req{body: `{"items":[}`, token: serviceToken}, status: 400, errNm: "SyntaxError"},
		{name: "service token and depth bomb", req: req{body: depthBomb(40), token: serviceToken}, status: 400, errNm: "InputError"},
		{name: "service token and bad body", req: req{body: `{}`, token: serviceToken}, status: 403, errNm: "NotAllowedError"},
		{name: "service token and text body", req: req{body: validBody, token: serviceToken, contentType: "text/plain"}, status: 403, errNm: "NotAllowedError"},
		{name: "depth bomb", dev: true, req: req{body: depthBomb(33)}, status: 400, errNm: "InputError", msg: "request body is nested more than 32 levels deep"},
		{name: "malformed JSON", dev: true, req: req{body: `{"items":`}, status: 400, errNm: "SyntaxError"},
		{name: "trailing garbage", dev: true, req: req{body: validBody + `x`}, status: 400, errNm: "SyntaxError"},
		{name: "top-level string", dev: true, req: req{body: `"items"`}, status: 400, errNm: "SyntaxError"},
		{name: "oversized body", dev: true, req: req{body: bigBody(1 << 20)}, status: 413, errNm: "PayloadTooLargeError"},
		{name: "batch over limit", dev: true, req: req{body: manyItems(1001)}, status: 400, errNm: "InputError", msg: "too many items: 1001 (the limit is 1000)"},
		{name: "unsupported charset", dev: true, req: req{body: validBody, contentType: "application/json; charset=latin1"}, status: 415, errNm: "UnsupportedMediaTypeError", msg: `unsupported charset "LATIN1"`},
		{name: "direct user, resource permission without ref", req: req{token: userToken,
			body: `{"items":[{"id":"a","permission":{"type":"resource","name":"x.cond","attributes":{},"resourceType":"catalog-entity"}}]}`},
			status: 400, errNm: "InputError", msg: "Resource permissions require a resourceRef to be set. Direct user requests without a resourceRef are not allowed."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, f := newTestServerWithUsers(t, testConfig(tc.dev))
			tc.req.path = authorizePath
			r := do(t, h, tc.req)
			e := requireEnvelope(t, r, tc.status, tc.errNm, "/authorize")
			require.Equal(t, "POST", e.Request.Method)
			if tc.msg != "" {
				require.Equal(t, tc.msg, e.Error.Message)
			}
			if tc.status == 413 {
				require.Equal(t, int64(1<<20), e.Error.Limit)
			}
			require.Zero(t, f.numCalls(), "Decide must not be called on an error path")
		})
	}
}

// TestAuthorizeZodIssues checks the 400 messages against zod's issues for
// the spec's examples.
func TestAuthorizeZodIssues(t *testing.T) {
	item := func(s string) string { return `{"items":[` + s + `]}` }
	tests := []struct {
		name        string
		body        string
		contentType string
		want        string
	}{
		{name: "empty object", body: `{}`,
			want: `[{"code":"invalid_type","expected":"array","received":"undefined","path":["items"],"message":"Required"}]`},
		{name: "empty body", body: ``, contentType: "application/json",
			want: `[{"code":"invalid_type","expected":"array","received":"undefined","path":["items"],"message":"Required"}]`},
		{name: "not JSON content type", body: validBody, contentType: "text/plain",
			want: `[{"code":"invalid_type","expected":"array","received":"undefined","path":["items"],"message":"Required"}]`},
		{name: "no content type", body: validBody, contentType: "-",
			want: `[{"code":"invalid_type","expected":"array","received":"undefined","path":["items"],"message":"Required"}]`},
		{name: "top-level array", body: `[]`,
			want: `[{"code":"invalid_type","expected":"object","received":"array","path":[],"message":"Expected object, received array"}]`},
		{name: "items null", body: `{"items":null}`,
			want: `[{"code":"invalid_type","expected":"array","received":"null","path":["items"],"message":"Expected array, received null"}]`},
		{name: "basic with resourceRef",
			body: item(`{"id":"a","resourceRef":"component:default/x","permission":{"type":"basic","name":"n","attributes":{}}}`),
			want: `[{"code":"invalid_union","unionErrors":[
				{"issues":[{"code":"invalid_type","expected":"undefined","received":"string","path":["items",0,"resourceRef"],"message":"Expected undefined, received string"}],"name":"ZodError"},
				{"issues":[{"received":"basic","code":"invalid_literal","expected":"resource","path":["items",0,"permission","type"],"message":"Invalid literal value, expected \"resource\""},
				           {"code":"invalid_type","expected":"string","received":"undefined","path":["items",0,"permission","resourceType"],"message":"Required"}],"name":"ZodError"}],
				"path":["items",0],"message":"Invalid input"}]`},
		{name: "action use",
			body: item(`{"id":"a","permission":{"type":"basic","name":"n","attributes":{"action":"use"}}}`),
			want: `[{"code":"invalid_union","unionErrors":[
				{"issues":[{"code":"invalid_union","unionErrors":[
					{"issues":[{"received":"use","code":"invalid_literal","expected":"create","path":["items",0,"permission","attributes","action"],"message":"Invalid literal value, expected \"create\""}],"name":"ZodError"},
					{"issues":[{"received":"use","code":"invalid_literal","expected":"read","path":["items",0,"permission","attributes","action"],"message":"Invalid literal value, expected \"read\""}],"name":"ZodError"},
					{"issues":[{"received":"use","code":"invalid_literal","expected":"update","path":["items",0,"permission","attributes","action"],"message":"Invalid literal value, expected \"update\""}],"name":"ZodError"},
					{"issues":[{"received":"use","code":"invalid_literal","expected":"delete","path":["items",0,"permission","attributes","action"],"message":"Invalid literal value, expected \"delete\""}],"name":"ZodError"}],
					"path":["items",0,"permission","attributes","action"],"message":"Invalid input"}],"name":"ZodError"},
				{"issues":[{"received":"basic","code":"invalid_literal","expected":"resource","path":["items",0,"permission","type"],"message":"Invalid literal value, expected \"resource\""},
					{"code":"invalid_union","unionErrors":[
					{"issues":[{"received":"use","code":"invalid_literal","expected":"create","path":["items",0,"permission","attributes","action"],"message":"Invalid literal value, expected \"create\""}],"name":"ZodError"},
					{"issues":[{"received":"use","code":"invalid_literal","expected":"read","path":["items",0,"permission","attributes","action"],"message":"Invalid literal value, expected \"read\""}],"name":"ZodError"},
					{"issues":[{"received":"use","code":"invalid_literal","expected":"update","path":["items",0,"permission","attributes","action"],"message":"Invalid literal value, expected \"update\""}],"name":"ZodError"},
					{"issues":[{"received":"use","code":"invalid_literal","expected":"delete","path":["items",0,"permission","attributes","action"],"message":"Invalid literal value, expected \"delete\""}],"name":"ZodError"}],
					"path":["items",0,"permission","attributes","action"],"message":"Invalid input"},
					{"code":"invalid_type","expected":"string","received":"undefined","path":["items",0,"permission","resourceType"],"message":"Required"}],"name":"ZodError"}],
				"path":["items",0],"message":"Invalid input"}]`},
		{name: "resourceRef empty array",
			body: item(`{"id":"a","resourceRef":[],"permission":{"type":"resource","name":"n","attributes":{},"resourceType":"t"}}`),
			want: `[{"code":"too_small","minimum":1,"type":"array","inclusive":true,"exact":false,"message":"Array must contain at least 1 element(s)","path":["items",0,"resourceRef"]}]`},
		{name: "id missing on second item",
			body: item(basicAllow + `,{"permission":{"type":"basic","name":"n","attributes":{}}}`),
			want: `[{"code":"invalid_union","unionErrors":[
				{"issues":[{"code":"invalid_type","expected":"string","received":"undefined","path":["items",1,"id"],"message":"Required"}],"name":"ZodError"},
				{"issues":[{"code":"invalid_type","expected":"string","received":"undefined","path":["items",1,"id"],"message":"Required"},
				           {"received":"basic","code":"invalid_literal","expected":"resource","path":["items",1,"permission","type"],"message":"Invalid literal value, expected \"resource\""},
				           {"code":"invalid_type","expected":"string","received":"undefined","path":["items",1,"permission","resourceType"],"message":"Required"}],"name":"ZodError"}],
				"path":["items",1],"message":"Invalid input"}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, f := newTestServer(t, testConfig(true))
			r := do(t, h, req{path: authorizePath, body: tc.body, contentType: tc.contentType})
			e := requireEnvelope(t, r, 400, "InputError", "/authorize")
			require.JSONEq(t, tc.want, e.Error.Message)
			require.Zero(t, f.numCalls())
		})
	}
}

// TestZodMessageFormat checks the message is indented like
// JSON.stringify(issues, null, 2), which is what ZodError.toString gives.
func TestZodMessageFormat(t *testing.T) {
	h, _ := newTestServer(t, testConfig(true))
	r := do(t, h, req{path: authorizePath, body: `{}`})
	var e envelope
	require.NoError(t, json.Unmarshal([]byte(r.body), &e))
	want := "[\n  {\n    \"code\": \"invalid_type\",\n    \"expected\": \"array\",\n    \"received\": \"undefined\",\n" +
		"    \"path\": [\n      \"items\"\n    ],\n    \"message\": \"Required\"\n  }\n]"
	require.Equal(t, want, e.Error.Message)
}

type wireItem struct {
	ID           string          `json:"id"`
	Result       json.RawMessage `json:"result"`
	PluginID     string          `json:"pluginId"`
	ResourceType string          `json:"resourceType"`
	Conditions   json.RawMessage `json:"conditions"`
	Reason       string          `json:"reason"`
}

type wireAnswer struct {
	Generation *uint64    `json:"generation"`
	Items      []wireItem `json:"items"`
}

func TestAuthorizeAnswers(t *testing.T) {
	res := func(name, typ, ref string) string {
		s := `{"id":"%ID%","permission":{"type":"` + typ + `","name":"` + name + `","attributes":{"action":"read"}`
		if typ == "resource" {
			s += `,"resourceType":"catalog-entity"`
		}
		s += `}`
		if ref != "" {
			s += `,"resourceRef":` + ref
		}
		return s + `}`
	}
	withID := func(id, s string) string { return strings.Replace(s, "%ID%", id, 1) }
	tests := []struct {
		name  string
		token string
		items []string
		want  []wireItem
		// queries is the number of host queries expected.
		queries int
	}{
		{name: "empty batch", items: nil, want: []wireItem{}},
		{name: "order and duplicate ids",
			items: []string{
				withID("b", res("x.deny", "basic", "")),
				withID("a", res("x.allow", "basic", "")),
				withID("b", res("x.allow", "basic", "")),
			},
			want: []wireItem{
				{ID: "b", Result: json.RawMessage(`"DENY"`), Reason: "unclaimed"},
				{ID: "a", Result: json.RawMessage(`"ALLOW"`)},
				{ID: "b", Result: json.RawMessage(`"ALLOW"`)},
			}, queries: 3},
		{name: "array resourceRef regrouped",
			items: []string{
				withID("1", res("x.allow", "basic", "")),
				withID("2", res("c.byref", "resource", `["component:default/owned","user:default/bob","group:default/owned-too"]`)),
				withID("3", res("c.byref", "resource", `"component:default/owned"`)),
			},
			want: []wireItem{
				{ID: "1", Result: json.RawMessage(`"ALLOW"`)},
				{ID: "2", Result: json.RawMessage(`["ALLOW","DENY","ALLOW"]`)},
				{ID: "3", Result: json.RawMessage(`"ALLOW"`)},
			}, queries: 5},
		{name: "array whose refs all get the same definitive answer is a scalar, as in Backstage",
			items: []string{withID("1", res("c.byref", "resource", `["component:default/owned","group:default/owned-too"]`))},
			want:  []wireItem{{ID: "1", Result: json.RawMessage(`"ALLOW"`)}}, queries: 2},
		{name: "array with one ref and a definitive answer is a scalar",
			items: []string{withID("1", res("c.byref", "resource", `["component:default/owned"]`))},
			want:  []wireItem{{ID: "1", Result: json.RawMessage(`"ALLOW"`)}}, queries: 1},
		{name: "CONDITIONAL with a ref becomes DENY",
			items: []string{withID("1", res("c.cond", "resource", `"component:default/x"`))},
			want:  []wireItem{{ID: "1", Result: json.RawMessage(`"DENY"`), Reason: reasonNoResolver + "; owner rule"}}, queries: 1},
		{name: "CONDITIONAL with an array ref becomes DENY per ref",
			items: []string{withID("1", res("c.cond", "resource", `["a","b"]`))},
			want:  []wireItem{{ID: "1", Result: json.RawMessage(`["DENY","DENY"]`), Reason: reasonNoResolver + "; owner rule"}}, queries: 2},
		{name: "CONDITIONAL without a ref passes through", token: oboToken,
			items: []string{withID("1", res("c.cond", "resource", ""))},
			want: []wireItem{{ID: "1", Result: json.RawMessage(`"CONDITIONAL"`), PluginID: "catalog", ResourceType: "catalog-entity",
				Conditions: json.RawMessage(`{"rule":"IS_ENTITY_OWNER","resourceType":"catalog-entity","params":{"claims":["user:default/alice"]}}`),
				Reason:     "owner rule"}}, queries: 1},
		{name: "unexpected result from the host is DENY",
			items: []string{withID("1", res("x.bogus", "basic", ""))},
			want:  []wireItem{{ID: "1", Result: json.RawMessage(`"DENY"`), Reason: "host returned an unexpected result ABSTAIN"}}, queries: 1},
		{name: "ids with odd characters are echoed", token: userToken,
			items: []string{withID(`<&>\"\u2028é`, res("x.allow", "basic", ""))},
			want:  []wireItem{{ID: "<&>\"\u2028é", Result: json.RawMessage(`"ALLOW"`)}}, queries: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, f := newTestServerWithUsers(t, testConfig(true))
			body := `{"items":[` + strings.Join(tc.items, ",") + `]}`
			r := do(t, h, req{path: authorizePath, body: body, token: tc.token})
			require.Equal(t, http.StatusOK, r.status, r.body)
			require.Equal(t, contentTypeJSON, r.header.Get("Content-Type"))
			var got wireAnswer
			require.NoError(t, json.Unmarshal([]byte(r.body), &got), r.body)
			require.Nil(t, got.Generation, "the Backstage answer carries items only")
			require.NotNil(t, got.Items, r.body)
			require.Len(t, got.Items, len(tc.want))
			for i := range tc.want {
				require.Equal(t, tc.want[i].ID, got.Items[i].ID)
				require.JSONEq(t, string(tc.want[i].Result), string(got.Items[i].Result))
				require.Equal(t, tc.want[i].PluginID, got.Items[i].PluginID)
				require.Equal(t, tc.want[i].ResourceType, got.Items[i].ResourceType)
				if tc.want[i].Conditions != nil {
					require.JSONEq(t, string(tc.want[i].Conditions), string(got.Items[i].Conditions))
				} else {
					require.Nil(t, got.Items[i].Conditions)
				}
				require.Equal(t, tc.want[i].Reason, got.Items[i].Reason)
			}
			if tc.queries > 0 {
				c := f.lastCall(t)
				require.Len(t, c.queries, tc.queries)
				require.True(t, c.deadline, "Decide must run under the request deadline")
			}
		})
	}
}

func TestAuthorizeDecodedQueries(t *testing.T) {
	h, f := newTestServer(t, testConfig(true))
	body := `{"items":[
		{"id":"a","extra":1,"permission":{"type":"basic","name":"x.allow","attributes":{"action":"create","junk":true},"resourceType":"stripped"}},
		{"id":"b","permission":{"type":"resource","name":"c.byref","attributes":{},"resourceType":"catalog-entity"},"resourceRef":["r1","r2"]}]}`
	r := do(t, h, req{path: authorizePath, body: body})
	require.Equal(t, 200, r.status, r.body)
	c := f.lastCall(t)
	require.Equal(t, abi.Principal{Type: abi.PrincipalNone}, c.principal)
	require.Len(t, c.queries, 3)
	require.Equal(t, abi.Permission{Type: "basic", Name: "x.allow", Attributes: abi.Attributes{Action: "create"}}, c.queries[0].Permission)
	require.Nil(t, c.queries[0].ResourceRef)
	require.Equal(t, "r1", *c.queries[1].ResourceRef)
	require.Equal(t, "r2", *c.queries[2].ResourceRef)
	require.Equal(t, "catalog-entity", c.queries[2].Permission.ResourceType)
}

func TestAuthorizeDeciderFailures(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		short  bool
		status int
		errNm  string
	}{
		{name: "no snapshot", err: host.ErrNoSnapshot, status: 503, errNm: "ServiceUnavailableError"},
		{name: "closed", err: host.ErrClosed, status: 503, errNm: "ServiceUnavailableError"},
		{name: "deadline", err: errDeadline(), status: 503, errNm: "ServiceUnavailableError"},
		{name: "unknown error is 500 without detail", err: errSecret, status: 500, errNm: "Error"},
		{name: "missing decisions is 500", short: true, status: 500, errNm: "Error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, f := newTestServer(t, testConfig(true))
			f.err, f.short = tc.err, tc.short
			r := do(t, h, req{path: authorizePath, body: validBody})
			e := requireEnvelope(t, r, tc.status, tc.errNm, "/authorize")
			require.NotContains(t, r.body, "secret")
			if tc.status == 500 {
				require.Equal(t, "internal error", e.Error.Message)
			}
		})
	}
}
