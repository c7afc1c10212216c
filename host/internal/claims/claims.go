// Package claims matches permission names against a module's claims.
//
// Grammar (DESIGN.md, "Claims"): "*" matches any run of characters, dots
// included; every other character is literal and case-sensitive.
package claims

import (
	"fmt"
	"strings"
)

// Set is a compiled list of claim patterns. The zero Set claims nothing.
type Set struct {
	patterns []string
	all      bool
}

// Compile checks and compiles patterns. An empty pattern is refused.
func Compile(patterns []string) (Set, error) {
	s := Set{patterns: make([]string, 0, len(patterns))}
	for i, p := range patterns {
		if p == "" {
			return Set{}, fmt.Errorf("claim %d is empty", i)
		}
		if strings.Trim(p, "*") == "" {
			s.all = true
		}
		s.patterns = append(s.patterns, p)
	}
	return s, nil
}

// Patterns returns a copy of the patterns.
func (s Set) Patterns() []string { return append([]string(nil), s.patterns...) }

// Match reports whether any pattern matches name.
func (s Set) Match(name string) bool {
	if s.all {
		return true
	}
	for _, p := range s.patterns {
		if Match(p, name) {
			return true
		}
	}
	return false
}

// Match reports whether pattern matches name.
func Match(pattern, name string) bool {
	// Iterative glob with backtracking to the last star: linear in practice,
	// O(len(pattern)*len(name)) at worst.
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case p < len(pattern) && pattern[p] == name[n]:
			p++
			n++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
