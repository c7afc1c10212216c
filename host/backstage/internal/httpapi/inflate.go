package httpapi

import (
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"strings"
)

// Request bodies with a Content-Encoding, as express.json() (body-parser)
// reads them in Backstage: "identity" (or none) as is, "gzip" and
// "deflate" (a zlib stream, Node's createInflate) inflated, anything else
// 415 UnsupportedMediaTypeError. The limit applies to the inflated bytes,
// as body-parser's does, and to the bytes on the wire: an inflater never
// produces more than the limit plus one byte, so a decompression bomb
// costs at most that much memory and CPU before its 413.

// errInflatedTooLarge is a compressed body that inflates past the limit.
var errInflatedTooLarge = errors.New("inflated body larger than the limit")

// contentEncoding returns the body's Content-Encoding as body-parser
// sees it: every header's value joined with ", ", lowercased; "identity"
// when there is none.
func contentEncoding(r *http.Request) string {
	vs := r.Header.Values("Content-Encoding")
	if len(vs) == 0 {
		return "identity"
	}
	return strings.ToLower(strings.Join(vs, ", "))
}

// decodeContent returns body read through the request's content encoding,
// yielding at most limit bytes before an error; or a 415 for an encoding
// body-parser does not know.
func decodeContent(r *http.Request, body io.Reader, limit int64) (io.Reader, error) {
	switch enc := contentEncoding(r); enc {
	case "identity":
		return body, nil
	case "gzip", "deflate":
		return &inflater{gzip: enc == "gzip", src: body, left: limit}, nil
	default:
		return nil, newError(nameUnsupportedMedia, `unsupported content encoding "`+enc+`"`)
	}
}

// inflater inflates a gzip or zlib stream, yielding at most left bytes
// and then errInflatedTooLarge (having inflated at most one byte more).
type inflater struct {
	gzip bool
	src  io.Reader
	z    io.Reader // nil until the first Read has read the header
	left int64     // bytes it may still yield; -1 once over
}

// Read inflates into p; past the limit it fails with errInflatedTooLarge.
func (f *inflater) Read(p []byte) (int, error) {
	if f.left < 0 {
		return 0, errInflatedTooLarge
	}
	if f.z == nil {
		var err error
		if f.gzip {
			f.z, err = gzip.NewReader(f.src)
		} else {
			f.z, err = zlib.NewReader(f.src)
		}
		if err != nil {
			f.z = nil
			return 0, inflateError(err)
		}
	}
	if int64(len(p)) > f.left+1 {
		p = p[:f.left+1]
	}
	n, err := f.z.Read(p)
	if int64(n) > f.left {
		n, f.left = int(f.left), -1
		return n, errInflatedTooLarge
	}
	f.left -= int64(n)
	if err != nil && err != io.EOF {
		err = inflateError(err)
	}
	return n, err
}

// inflateError words a failure to inflate as Node's zlib does (body-parser
// answers it with status 400 and the name Error). Errors of the body's
// reader itself (the client went away, the limit on the wire) pass as
// they are.
func inflateError(err error) error {
	msg := ""
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		msg = "unexpected end of file"
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, zlib.ErrHeader):
		msg = "incorrect header check"
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, zlib.ErrChecksum):
		msg = "incorrect data check"
	case errors.Is(err, zlib.ErrDictionary):
		msg = "Missing dictionary"
	case errors.As(err, &corrupt):
		msg = "invalid compressed data"
	default:
		return err
	}
	return &apiError{name: nameInternal, message: msg, status: http.StatusBadRequest}
}
