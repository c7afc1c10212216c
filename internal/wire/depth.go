package wire

import "fmt"

// CheckDepth reports ErrTooDeep when the JSON text data nests objects and
// arrays more than max levels deep. It does not validate the JSON otherwise;
// it is a cheap guard to run before a recursive decoder sees hostile input.
func CheckDepth(data []byte, max int) error {
	depth := 0
	inString := false
	escaped := false
	for _, b := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch b {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return fmt.Errorf("%w: more than %d levels", ErrTooDeep, max)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}
