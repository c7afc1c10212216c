package wasmbin

// Reader decodes the binary format from one span of an input. Its positions
// and the offsets in its errors are positions in the whole input, so that a
// reader over a section or a function body reports where in the file it is.
// A Reader is a value: copying it saves a position to come back to.
type Reader struct {
	b        []byte
	pos, end int
}

// NewReader returns a reader over data[pos:].
func NewReader(data []byte, pos int) Reader { return Reader{b: data, pos: pos, end: len(data)} }

// Pos returns the position of the next byte to read.
func (r *Reader) Pos() int { return r.pos }

// End returns the position just past the reader's span.
func (r *Reader) End() int { return r.end }

// Left returns how many bytes of the span are left to read.
func (r *Reader) Left() int { return r.end - r.pos }

// Done reports whether the span has been read to its end.
func (r *Reader) Done() bool { return r.pos >= r.end }

// Rest returns the bytes of the span left to read, without consuming them.
// They alias the input.
func (r *Reader) Rest() []byte { return r.b[r.pos:r.end] }

// Data returns the whole input, of which the reader's span is a part.
func (r *Reader) Data() []byte { return r.b }

// Sub returns a reader over the next n bytes and skips them.
func (r *Reader) Sub(n uint32) (Reader, error) {
	if uint64(n) > uint64(r.end-r.pos) {
		return Reader{}, errAt(ErrPastEnd, r.pos, "length %d runs past the end (%d bytes left)", n, r.end-r.pos)
	}
	s := Reader{b: r.b, pos: r.pos, end: r.pos + int(n)}
	r.pos += int(n)
	return s, nil
}

// Byte reads one byte.
func (r *Reader) Byte() (byte, error) {
	if r.pos >= r.end {
		return 0, errAt(ErrTruncated, r.pos, "unexpected end")
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

// Peek returns the next byte without consuming it.
func (r *Reader) Peek() (byte, error) {
	if r.pos >= r.end {
		return 0, errAt(ErrTruncated, r.pos, "unexpected end")
	}
	return r.b[r.pos], nil
}

// Skip skips n bytes.
func (r *Reader) Skip(n int) error {
	if n > r.end-r.pos {
		return errAt(ErrTruncated, r.pos, "unexpected end: %d bytes needed, %d left", n, r.end-r.pos)
	}
	r.pos += n
	return nil
}

// Name reads a length-prefixed name (not checked for UTF-8: wazero does).
func (r *Reader) Name() (string, error) {
	n, err := r.U32()
	if err != nil {
		return "", err
	}
	s, err := r.Sub(n)
	if err != nil {
		return "", err
	}
	return string(s.b[s.pos:s.end]), nil
}
