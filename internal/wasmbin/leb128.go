package wasmbin

// U32 reads an unsigned LEB128 number of at most 32 bits (a u32 of the
// binary format: counts, lengths, indices).
func (r *Reader) U32() (uint32, error) {
	v, err := r.leb(32, false)
	return uint32(v), err
}

// S32 reads a signed LEB128 number of at most 32 bits (i32.const).
func (r *Reader) S32() (int32, error) {
	v, err := r.leb(32, true)
	return int32(v), err
}

// S33 reads a signed LEB128 number of at most 33 bits (a block type's type
// index).
func (r *Reader) S33() (int64, error) {
	v, err := r.leb(33, true)
	return int64(v), err
}

// S64 reads a signed LEB128 number of at most 64 bits (i64.const).
func (r *Reader) S64() (int64, error) {
	v, err := r.leb(64, true)
	return int64(v), err
}

// leb reads an LEB128 number of at most bits bits. It returns the value
// (sign-extended when signed) as the low bits of a uint64.
func (r *Reader) leb(bits uint, signed bool) (uint64, error) {
	start := r.pos
	maxLen := int((bits + 6) / 7)
	var v uint64
	var shift uint
	for i := 0; ; i++ {
		if i == maxLen {
			return 0, errAt(ErrLEB128, start, "LEB128 number longer than %d bytes", maxLen)
		}
		c, err := r.Byte()
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
						return 0, errAt(ErrLEB128, start, "LEB128 number out of range")
					}
				} else if rest != 0 {
					return 0, errAt(ErrLEB128, start, "LEB128 number out of range")
				}
			}
			if signed && shift < 64 && c&0x40 != 0 {
				v |= ^uint64(0) << shift
			}
			return v, nil
		}
	}
}

// AppendU32 appends v as unsigned LEB128.
func AppendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// AppendS64 appends v as signed LEB128.
func AppendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// AppendName appends a length-prefixed name.
func AppendName(b []byte, s string) []byte {
	return append(AppendU32(b, uint32(len(s))), s...)
}
