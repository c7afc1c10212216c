package meter

// reader decodes the binary format from b[pos:end]. Offsets in its errors are
// positions in b, which is always the whole input.
type reader struct {
	b        []byte
	pos, end int
}

// sub returns a reader over the next n bytes and skips them.
func (r *reader) sub(n uint32) (reader, error) {
	if uint64(n) > uint64(r.end-r.pos) {
		return reader{}, errAt(ErrMalformed, r.pos, "length %d runs past the end (%d bytes left)", n, r.end-r.pos)
	}
	s := reader{b: r.b, pos: r.pos, end: r.pos + int(n)}
	r.pos += int(n)
	return s, nil
}

func (r *reader) done() bool { return r.pos >= r.end }

func (r *reader) byte() (byte, error) {
	if r.pos >= r.end {
		return 0, errAt(ErrMalformed, r.pos, "unexpected end")
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) skip(n int) error {
	if n > r.end-r.pos {
		return errAt(ErrMalformed, r.pos, "unexpected end: %d bytes needed, %d left", n, r.end-r.pos)
	}
	r.pos += n
	return nil
}

// leb reads an LEB128 number of at most bits bits. It returns the value
// (sign-extended when signed) as the low bits of a uint64.
func (r *reader) leb(bits uint, signed bool) (uint64, error) {
	start := r.pos
	maxLen := int((bits + 6) / 7)
	var v uint64
	var shift uint
	for i := 0; ; i++ {
		if i == maxLen {
			return 0, errAt(ErrMalformed, start, "LEB128 number longer than %d bytes", maxLen)
		}
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if i == maxLen-1 && bits%7 != 0 {
				// The unused bits of the last byte must be zero (or, signed,
				// copies of the sign bit).
				used := bits % 7
				rest := c & 0x7f >> used
				if signed {
					rest = c & 0x7f >> (used - 1)
					if rest != 0 && rest != 0x7f>>(used-1) {
						return 0, errAt(ErrMalformed, start, "LEB128 number out of range")
					}
				} else if rest != 0 {
					return 0, errAt(ErrMalformed, start, "LEB128 number out of range")
				}
			}
			if signed && shift < 64 && c&0x40 != 0 {
				v |= ^uint64(0) << shift
			}
			return v, nil
		}
	}
}

func (r *reader) u32() (uint32, error) {
	v, err := r.leb(32, false)
	return uint32(v), err
}

// name reads a length-prefixed name (not checked for UTF-8: wazero does).
func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	s, err := r.sub(n)
	if err != nil {
		return "", err
	}
	return string(s.b[s.pos:s.end]), nil
}

// appendU32 appends v as unsigned LEB128.
func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// appendS64 appends v as signed LEB128.
func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// appendName appends a length-prefixed name.
func appendName(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}

// isValType reports whether c is a core 2.0 value type.
func isValType(c byte) bool {
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		return true
	}
	return false
}
