package abi

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
)

// SealSection is the name of the custom section that seals a module: the 32
// raw bytes of the SHA-256 of every byte of the file before the section. It
// must be the file's last section (DESIGN §14).
const SealSection = "verdict.seal"

var wasmHeader = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// section is one section's place in a module.
type section struct {
	id          byte
	start, end  int    // the whole section, id byte included
	name        string // for custom sections
	payloadFrom int    // after the custom section's name
}

// sections splits a module into its sections without decoding them.
func sections(wasm []byte) ([]section, error) {
	if !bytes.HasPrefix(wasm, wasmHeader) {
		return nil, ErrNotWasm
	}
	var out []section
	for i := len(wasmHeader); i < len(wasm); {
		s := section{id: wasm[i], start: i}
		size, n, err := uleb32(wasm[i+1:])
		if err != nil {
			return nil, fmt.Errorf("%w: section at byte %d: %v", ErrNotWasm, i, err)
		}
		body := i + 1 + n
		s.end = body + int(size)
		if s.end > len(wasm) || s.end < body {
			return nil, fmt.Errorf("%w: section at byte %d runs past the end of the file (truncated?)", ErrNotWasm, i)
		}
		if s.id == 0 {
			nameLen, m, err := uleb32(wasm[body:s.end])
			if err != nil || body+m+int(nameLen) > s.end {
				return nil, fmt.Errorf("%w: custom section at byte %d has a bad name", ErrNotWasm, i)
			}
			s.name = string(wasm[body+m : body+m+int(nameLen)])
			s.payloadFrom = body + m + int(nameLen)
		}
		out = append(out, s)
		i = s.end
	}
	return out, nil
}

func uleb32(b []byte) (uint32, int, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		if i >= len(b) {
			return 0, 0, errors.New("truncated LEB128")
		}
		v |= uint32(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("LEB128 too long")
}

func appendULEB(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
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
		if s.id != 0 || s.name != SealSection {
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
		if s.id == 0 && s.name == SealSection {
			if i != len(secs)-1 {
				return nil, fmt.Errorf("%w: the %s section is not the last section", ErrBadSeal, SealSection)
			}
			body = wasm[:s.start]
		}
	}
	sum := sha256.Sum256(body)
	payload := appendULEB(nil, uint32(len(SealSection)))
	payload = append(payload, SealSection...)
	payload = append(payload, sum[:]...)
	out := make([]byte, 0, len(body)+len(payload)+6)
	out = append(out, body...)
	out = append(out, 0)
	out = appendULEB(out, uint32(len(payload)))
	return append(out, payload...), nil
}
