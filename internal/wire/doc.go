// Package wire is the host's JSON codec: the evaluate call's wire format of
// abi/SPEC.md (AppendRequest writes a request, ParseResponse and DecodeAnswer
// read a guest's output), and the strict JSON that Verdict reads and writes
// at its other edges (DecodeValue for request bodies, CheckDepth, Unquote,
// AppendString and AppendJSString for responses and logs).
//
// The types it reads and writes are the contract's, in package abi; this
// package is the machinery. encoding/json spends most of the host's time per
// item on reflection and, for criteria, on re-scanning every node
// (Criteria.UnmarshalJSON decodes each node into a map and then decodes each
// child again), so the evaluate call has an encoder that writes exactly the
// bytes json.Marshal writes and a strict one-pass decoder.
//
// The decoder agrees with encoding/json (decoding into abi.Answer,
// abi.Criteria and abi.GuestError) on every input except these deliberate
// differences, all of which make it stricter:
//
//   - Keys are matched exactly. encoding/json also matches a struct field's
//     name case-insensitively (with Unicode simple folding), so it reads
//     "ID" or "Result" as id and result; this decoder ignores such keys as
//     unknown. Criteria keys are exact in both.
//   - A duplicate key is an error where encoding/json lets the last one win:
//     a known field of the response, the error envelope or an answer ("id",
//     "result", "pluginId", "resourceType", "conditions", "reason"), any key of
//     a criteria node, and any key of a leaf's params. Keys are compared after
//     unescaping, so "id" and "\u0069d" are the same key. Duplicate unknown
//     keys of an answer or response are ignored, like their values.
//   - Objects and arrays nested deeper than the maximum depth are an error
//     (ErrTooDeep); encoding/json allows 10000 levels.
//
// Everything else is as encoding/json does it: the whole text must be one
// valid JSON value (RFC 8259 grammar, the four whitespace bytes, every escape
// including surrogate pairs); invalid UTF-8 and lone surrogates in decoded
// strings become U+FFFD, while params values are kept verbatim (the exact
// bytes of the value, as json.RawMessage gets them); null leaves a string
// field empty and a conditions or error pointer nil; unknown keys of answers
// and of the response are ignored whatever their value; the output value null
// decodes to an empty response and the answer value null to a zero Answer.
package wire
