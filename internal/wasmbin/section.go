package wasmbin

// Header is the magic number and the version (1) that begin every binary
// module, 8 bytes.
const Header = "\x00asm\x01\x00\x00\x00"

// Magic is the first 4 bytes of Header.
const Magic = "\x00asm"

// CustomSection is the id of a custom section, whose contents begin with its
// name.
const CustomSection = 0

// Section is one section of a module, found by Reader.Section.
type Section struct {
	// ID is the section id.
	ID byte
	// Start is the offset of the section's id byte in the input.
	Start int
	// Raw is the whole section, id and size included. It aliases the input.
	Raw []byte
	// Contents reads the section's contents, after its size.
	Contents Reader
}

// Section reads the next section's id and size and skips its contents.
// The errors are Reader's: ErrTruncated or ErrLEB128 for the size,
// ErrPastEnd when the contents run past the end of the input.
func (r *Reader) Section() (Section, error) {
	start := r.pos
	id, err := r.Byte()
	if err != nil {
		return Section{}, err
	}
	size, err := r.U32()
	if err != nil {
		return Section{}, err
	}
	contents, err := r.Sub(size)
	if err != nil {
		return Section{}, err
	}
	return Section{ID: id, Start: start, Raw: r.b[start:r.pos:r.pos], Contents: contents}, nil
}
