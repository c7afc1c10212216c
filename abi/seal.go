package abi

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/verdictpdp/verdict/internal/wasmbin"
)

// SealSection is the name of the custom section that seals a module: the 32
// raw bytes of the SHA-256 of every byte of the file before the section. It
// must be the file's last section (README.md, "Seals").
const SealSection = "verdict.seal"

// section is one section's place in a module.
type section struct {
	custom      bool   // a custom section
	start, end  int    // the whole section, id byte included
	name        string // for custom sections
	payloadFrom int    // after the custom section's name
}

// sections splits a module into its sections without decoding them.
func sections(wasm []byte) ([]section, error) {
	if !bytes.HasPrefix(wasm, []byte(wasmbin.Header)) {
		return nil, ErrNotWasm
	}
	var out []section
	r := wasmbin.NewReader(wasm, len(wasmbin.Header))
	for !r.Done() {
		start := r.Pos()
		s, err := r.Section()
		if err != nil {
			return nil, notWasm(start, err)
		}
		out = append(out, section{custom: s.ID == wasmbin.CustomSection, start: s.Start, end: s.Start + len(s.Raw)})
		if s.ID != wasmbin.CustomSection {
			continue
		}
		c := &out[len(out)-1]
		if c.name, err = s.Contents.Name(); err != nil {
			return nil, fmt.Errorf("%w: custom section at byte %d has a bad name", ErrNotWasm, s.Start)
		}
		c.payloadFrom = s.Contents.Pos()
	}
	return out, nil
}

// notWasm words the failure to read the section header at start.
func notWasm(start int, err error) error {
	switch {
	case errors.Is(err, wasmbin.ErrPastEnd):
		return fmt.Errorf("%w: section at byte %d runs past the end of the file (truncated?)", ErrNotWasm, start)
	case errors.Is(err, wasmbin.ErrTruncated):
		return fmt.Errorf("%w: section at byte %d: truncated LEB128", ErrNotWasm, start)
	}
	return fmt.Errorf("%w: section at byte %d: LEB128 too long", ErrNotWasm, start)
}

// CheckSeal reports whether wasm carries a seal, and an error wrapping
// ErrBadSeal when the seal is not the last section, is malformed, or does not
// match the bytes before it (a truncated or altered file), or ErrNotWasm when
// the sections cannot be walked.
func CheckSeal(wasm []byte) (sealed bool, err error) {
	secs, err := sections(wasm)
	if err != nil {
		return false, err
	}
	for i, s := range secs {
		if !s.custom || s.name != SealSection {
			continue
		}
		if i != len(secs)-1 {
			return true, fmt.Errorf("%w: the %s section is not the last section", ErrBadSeal, SealSection)
		}
		payload := wasm[s.payloadFrom:s.end]
		if len(payload) != sha256.Size {
			return true, fmt.Errorf("%w: the seal holds %d bytes, want %d", ErrBadSeal, len(payload), sha256.Size)
		}
		sum := sha256.Sum256(wasm[:s.start])
		if !bytes.Equal(sum[:], payload) {
			return true, fmt.Errorf("%w: the file's bytes do not match its seal (truncated or altered)", ErrBadSeal)
		}
		return true, nil
	}
	return false, nil
}

// Seal returns wasm with a seal appended, replacing an existing seal if the
// file's last section is one. A seal anywhere else is an error.
func Seal(wasm []byte) ([]byte, error) {
	secs, err := sections(wasm)
	if err != nil {
		return nil, err
	}
	body := wasm
	for i, s := range secs {
		if s.custom && s.name == SealSection {
			if i != len(secs)-1 {
				return nil, fmt.Errorf("%w: the %s section is not the last section", ErrBadSeal, SealSection)
			}
			body = wasm[:s.start]
		}
	}
	sum := sha256.Sum256(body)
	payload := wasmbin.AppendName(nil, SealSection)
	payload = append(payload, sum[:]...)
	out := make([]byte, 0, len(body)+len(payload)+6)
	out = append(out, body...)
	out = append(out, wasmbin.CustomSection)
	out = wasmbin.AppendU32(out, uint32(len(payload)))
	return append(out, payload...), nil
}
