package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/verdictpdp/verdict/abi"
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

// bodyPool recycles request body buffers; decoded values copy what they
// keep, so a buffer is free again once the body is decoded. Buffers that
// grew past maxPooledBuffer are dropped rather than kept alive.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxPooledBuffer = 64 << 10

func getBody() *[]byte { return bodyPool.Get().(*[]byte) }

func putBody(b *[]byte) {
	if cap(*b) > maxPooledBuffer {
		return
	}
	*b = (*b)[:0]
	bodyPool.Put(b)
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
// nesting depth (400) and decodes it (400 SyntaxError when malformed, 400
// InputError when a parser could read it two ways: see strictjson.go). Like
// body-parser in strict mode, the top level must be an object or an array,
// and an empty body is {}.
func (s *server) readJSON(w http.ResponseWriter, r *http.Request) (any, error) {
	limit := s.cfg.Limits.BodyBytes
	if r.ContentLength > limit {
		return nil, &apiError{name: namePayloadTooLarge, message: "request entity too large",
			tooLarge: &tooLarge{limit: limit, length: r.ContentLength}}
	}
	// MaxBytesReader gets net/http's own writer, not our wrappers: only
	// that one learns that the limit was hit, and then answers with
	// "Connection: close" instead of reading on to reuse the connection.
	// It yields at most limit bytes, then an error. Waiting for body
	// budget is bounded by the request timeout.
	rw := unwrapWriter(w)
	b, err := readBody(r.Context(), http.MaxBytesReader(rw, r.Body, limit), r.ContentLength, limit,
		s.bodies, s.cfg.Limits.RequestTimeout)
	if err != nil {
		if errors.Is(err, errBodyBudget) {
			// Not read to the end: close the connection rather than
			// drain the rest.
			_ = http.NewResponseController(rw).SetReadDeadline(time.Now())
			return nil, newError(nameServiceUnavailable, "too many large request bodies in flight "+
				"(server.limits.bodyBytesInFlight); retry later")
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			// Read no more of this body. After the handler, net/http
			// drains up to 256 KiB of a chunked body hoping to reuse the
			// connection, waiting for a client that may trickle it until
			// ReadTimeout. (Not supported by test recorders: ignored.)
			_ = http.NewResponseController(rw).SetReadDeadline(time.Now())
			return nil, &apiError{name: namePayloadTooLarge, message: "request entity too large",
				tooLarge: &tooLarge{limit: limit, length: -1}}
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
	data := bytes.TrimLeft(body, " \t\r\n")
	if len(data) == 0 {
		return map[string]any{}, nil
	}
	if data[0] != '{' && data[0] != '[' {
		return nil, newError(nameSyntax, "Unexpected token "+strconv.QuoteRune(rune(data[0]))+
			", the body must be a JSON object or array")
	}
	// One strict pass decodes every body that is valid, within the depth
	// and unambiguous (the common case); any other body takes the
	// reference path below, which finds the same failure and words it.
	if v, err := abi.DecodeValue(data, maxDepth); err == nil {
		return v, nil
	}
	return parseBodyReference(data, maxDepth)
}

// parseBodyReference is parseBody by encoding/json and separate checks of
// depth and ambiguity: slower, and the source of every refusal's wording.
// abi.DecodeValue accepts exactly the bodies it accepts, with deeply equal
// values (FuzzParseBodyFastPath).
func parseBodyReference(data []byte, maxDepth int) (any, error) {
	if err := abi.CheckDepth(data, maxDepth); err != nil {
		return nil, newError(nameInput, "request body is nested more than "+
			strconv.Itoa(maxDepth)+" levels deep")
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, newError(nameSyntax, se.Error()+" at position "+strconv.FormatInt(se.Offset, 10))
		}
		return nil, newError(nameSyntax, err.Error())
	}
	if err := checkUnambiguous(data); err != nil {
		return nil, err
	}
	return v, nil
}
