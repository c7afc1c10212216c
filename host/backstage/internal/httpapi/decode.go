package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/verdictpdp/verdict/internal/wire"
)

// isJSON reports whether the request's content type is application/json,
// the only type Backstage's express.json() parses. A charset other than
// UTF-8 is an error (415), as in body-parser.
func isJSON(r *http.Request) (bool, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return false, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false, nil
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return true, newError(nameUnsupportedMedia, `unsupported charset "`+strings.ToUpper(cs)+`"`)
	}
	return true, nil
}

// unwrapWriter returns the http.ResponseWriter that w wraps, through any
// number of Unwrap methods (http.ResponseController's convention).
func unwrapWriter(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

// readJSON reads r's body (at most Limits.BodyBytes, else 413), checks its
// nesting depth (400) and decodes it (400 SyntaxError when malformed, worded
// as JSON.parse words it; 400 InputError when a parser could read it two
// ways: see strictjson.go). Like body-parser in strict mode, the top level
// must be an object or an array, and an empty body is {}. Like
// express.json(), it inflates Content-Encoding gzip and deflate (the limit
// counts inflated bytes; other encodings are 415, see inflate.go), drops a
// leading BOM, and reads numbers past float64's range as ±Inf.
func (s *server) readJSON(w http.ResponseWriter, r *http.Request) (any, error) {
	limit := s.cfg.Limits.BodyBytes
	// MaxBytesReader gets net/http's own writer, not our wrappers: only
	// that one learns that the limit was hit, and then answers with
	// "Connection: close" instead of reading on to reuse the connection.
	// It yields at most limit bytes, then an error.
	rw := unwrapWriter(w)
	body, err := decodeContent(r, http.MaxBytesReader(rw, r.Body, limit), limit)
	if err != nil {
		return nil, err
	}
	sizeHint := r.ContentLength
	if _, inflating := body.(*inflater); inflating {
		sizeHint = -1 // the inflated size is unknown
	}
	if r.ContentLength > limit {
		return nil, &apiError{name: namePayloadTooLarge, message: "request entity too large",
			tooLarge: &tooLarge{limit: limit, length: r.ContentLength}}
	}
	// Waiting for body budget is bounded by the request timeout.
	b, err := readBody(r.Context(), body, sizeHint, limit, s.bodies, s.cfg.Limits.RequestTimeout)
	if err != nil {
		if errors.Is(err, errBodyBudget) {
			// Not read to the end: close the connection rather than
			// drain the rest.
			_ = http.NewResponseController(rw).SetReadDeadline(time.Now())
			return nil, newError(nameServiceUnavailable, "too many large request bodies in flight "+
				"(server.limits.bodyBytesInFlight); retry later")
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || errors.Is(err, errInflatedTooLarge) {
			// Read no more of this body. After the handler, net/http
			// drains up to 256 KiB of a chunked body hoping to reuse the
			// connection, waiting for a client that may trickle it until
			// ReadTimeout. (Not supported by test recorders: ignored.)
			_ = http.NewResponseController(rw).SetReadDeadline(time.Now())
			return nil, &apiError{name: namePayloadTooLarge, message: "request entity too large",
				tooLarge: &tooLarge{limit: limit, length: -1}}
		}
		var ae *apiError
		if errors.As(err, &ae) {
			// Not inflatable: read no more of it.
			_ = http.NewResponseController(rw).SetReadDeadline(time.Now())
			return nil, ae
		}
		return nil, &apiError{name: nameBadRequest, message: "request aborted"}
	}
	defer b.release()
	return parseBody(b.data, s.cfg.Limits.JSONDepth)
}

// parseBody decodes a request body read in full: the top level must be an
// object or an array (an empty body is {}), nested at most maxDepth levels,
// valid JSON, and unambiguous (see checkUnambiguous). Decoded values do not
// alias body.
func parseBody(body []byte, maxDepth int) (any, error) {
	// body-parser decodes the body with iconv-lite, which drops a BOM.
	body = bytes.TrimPrefix(body, utf8BOM)
	if len(body) == 0 {
		return map[string]any{}, nil
	}
	data := bytes.TrimLeft(body, " \t\r\n")
	if len(data) == 0 || data[0] != '{' && data[0] != '[' {
		return nil, newError(nameSyntax, jsStrictMessage(body))
	}
	// One strict pass decodes every body that is valid, within the depth
	// and unambiguous (the common case); any other body takes the
	// reference path below, which finds the same failure and words it.
	if v, err := wire.DecodeValue(data, maxDepth); err == nil {
		return v, nil
	}
	v, err := parseBodyReference(data, maxDepth)
	var ae *apiError
	if errors.As(err, &ae) && ae.name == nameSyntax {
		// Positions count from the start of the body, as JSON.parse's.
		if msg := jsSyntaxMessage(body); msg != "" {
			ae.message = msg
		}
	}
	return v, err
}

// utf8BOM is the byte order mark body-parser drops from a body.
var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// parseBodyReference is parseBody by encoding/json and separate checks of
// depth and ambiguity: slower, and the source of every refusal's wording.
// wire.DecodeValue accepts exactly the bodies it accepts, with deeply equal
// values (FuzzParseBodyFastPath).
func parseBodyReference(data []byte, maxDepth int) (any, error) {
	if err := wire.CheckDepth(data, maxDepth); err != nil {
		return nil, newError(nameInput, "request body is nested more than "+
			strconv.Itoa(maxDepth)+" levels deep")
	}
	// Numbers as text first: JSON.parse reads a number past float64's
	// range as ±Infinity (and a field nobody reads may hold one), where
	// encoding/json refuses the whole body.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil && dec.InputOffset() != int64(len(data)) {
		// Only blanks may follow the value.
		if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
			err = &json.SyntaxError{Offset: int64(len(data) - len(rest))}
		}
	}
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, newError(nameSyntax, se.Error()+" at position "+strconv.FormatInt(se.Offset, 10))
		}
		return nil, newError(nameSyntax, err.Error())
	}
	if err := checkUnambiguous(data); err != nil {
		return nil, err
	}
	return jsNumbers(v), nil
}

// jsNumbers replaces the json.Numbers in v by the float64 JSON.parse
// reads: the nearest value, ±Inf past float64's range.
func jsNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		f, _ := strconv.ParseFloat(string(v), 64) // ±Inf with ErrRange past the range
		return f
	case []any:
		for i := range v {
			v[i] = jsNumbers(v[i])
		}
	case map[string]any:
		for k, e := range v {
			v[k] = jsNumbers(e)
		}
	}
	return v
}
