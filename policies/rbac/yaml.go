package main

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a small YAML reader, enough for the conditional-policy files
// of the RBAC plugin (and for JSON, which it also reads): documents
// separated by "---", block maps and lists (a list may sit at its key's
// indentation), flow maps and lists ("[a, b]", "{k: v}", spanning lines),
// plain, single- and double-quoted scalars, and comments. Plain scalars
// null, ~, true and false and JSON-style numbers are typed (YAML 1.2 core
// schema); everything else is a string. Block scalars (| and >), anchors,
// aliases, tags, directives, complex keys and multi-line plain or quoted
// scalars are refused with a message saying so, never misread.

// yline is one significant line: its number, indentation and text (comment
// stripped, trailing space trimmed).
type yline struct {
	no     int
	indent int
	text   string
}

// yamlDoc is one document: its first line and its value.
type yamlDoc struct {
	line int
	n    *node
}

// lineError is an error at a line of the text being read.
func lineError(line int, msg string) error {
	return errors.New("line " + strconv.Itoa(line) + ": " + msg)
}

// parseYAML reads every non-empty document of text.
func parseYAML(text string) ([]yamlDoc, error) {
	var docs []yamlDoc
	var cur []yline
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		p := &yparser{lines: cur}
		n, err := p.block(cur[0].indent)
		if err != nil {
			return err
		}
		if p.i < len(p.lines) {
			return lineError(p.lines[p.i].no, "unexpected content (check the indentation)")
		}
		docs = append(docs, yamlDoc{line: cur[0].no, n: n})
		cur = nil
		return nil
	}
	for i, raw := range strings.Split(text, "\n") {
		no := i + 1
		raw = strings.TrimSuffix(raw, "\r")
		if i == 0 {
			raw = strings.TrimPrefix(raw, "\uFEFF")
		}
		body := strings.TrimLeft(raw, " ")
		indent := len(raw) - len(body)
		if strings.HasPrefix(body, "\t") {
			return nil, lineError(no, "a tab in the indentation (YAML indents with spaces)")
		}
		body = stripComment(body)
		if body == "" {
			continue
		}
		if indent == 0 {
			if body == "---" || strings.HasPrefix(body, "--- ") || body == "..." {
				if err := flush(); err != nil {
					return nil, err
				}
				if rest := strings.TrimSpace(strings.TrimPrefix(body, "---")); rest != "" && body != "..." {
					cur = append(cur, yline{no: no, indent: 4, text: rest})
				}
				continue
			}
			if body[0] == '%' {
				return nil, lineError(no, "YAML directives are not supported")
			}
		}
		cur = append(cur, yline{no: no, indent: indent, text: body})
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return docs, nil
}

// stripComment removes a comment ("#" at the start or after a space, outside
// quotes) and trailing spaces.
func stripComment(s string) string {
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == q {
				if q == '\'' && i+1 < len(s) && s[i+1] == '\'' {
					i++
				} else {
					q = 0
				}
			} else if c == '\\' && q == '"' {
				i++
			}
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return strings.TrimRight(s[:i], " \t")
		case (c == '"' || c == '\'') && (i == 0 || strings.IndexByte(" \t[{,:", s[i-1]) >= 0):
			q = c
		}
	}
	return strings.TrimRight(s, " \t")
}

type yparser struct {
	lines []yline
	i     int
}

func isSeqItem(t string) bool { return t == "-" || strings.HasPrefix(t, "- ") }

// block reads the node that starts at the current line, indented ind.
func (p *yparser) block(ind int) (*node, error) {
	l := p.lines[p.i]
	if isSeqItem(l.text) {
		return p.seq(ind)
	}
	if _, _, ok, err := splitKey(l.text, l.no); err != nil {
		return nil, err
	} else if ok {
		return p.mapping(ind)
	}
	n, err := p.inline(l.text, l.no)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.lines) && p.lines[p.i].indent > ind {
		return nil, lineError(p.lines[p.i].no, "unexpected indentation (multi-line plain scalars are not supported: quote the text)")
	}
	return n, nil
}

// seq reads a block list whose "-" items are indented ind.
func (p *yparser) seq(ind int) (*node, error) {
	n := &node{kind: kList, line: p.lines[p.i].no}
	for p.i < len(p.lines) && p.lines[p.i].indent == ind && isSeqItem(p.lines[p.i].text) {
		l := p.lines[p.i]
		rest := strings.TrimLeft(l.text[1:], " ")
		var item *node
		var err error
		if rest == "" {
			p.i++
			if p.i < len(p.lines) && p.lines[p.i].indent > ind {
				item, err = p.block(p.lines[p.i].indent)
			} else {
				item = &node{kind: kNull, line: l.no}
			}
		} else {
			off := len(l.text) - len(rest)
			p.lines[p.i] = yline{no: l.no, indent: ind + off, text: rest}
			item, err = p.block(ind + off)
		}
		if err != nil {
			return nil, err
		}
		n.items = append(n.items, item)
	}
	if p.i < len(p.lines) && p.lines[p.i].indent > ind {
		return nil, lineError(p.lines[p.i].no, "unexpected indentation")
	}
	return n, nil
}

// mapping reads a block map whose keys are indented ind.
func (p *yparser) mapping(ind int) (*node, error) {
	n := &node{kind: kMap, line: p.lines[p.i].no}
	for p.i < len(p.lines) && p.lines[p.i].indent == ind {
		l := p.lines[p.i]
		key, rest, ok, err := splitKey(l.text, l.no)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, lineError(l.no, "expected \"key: value\"")
		}
		if n.get(key) != nil || containsKey(n.keys, key) {
			return nil, lineError(l.no, "key "+strconv.Quote(key)+" is repeated")
		}
		var val *node
		if rest == "" {
			p.i++
			switch {
			case p.i < len(p.lines) && p.lines[p.i].indent > ind:
				val, err = p.block(p.lines[p.i].indent)
			case p.i < len(p.lines) && p.lines[p.i].indent == ind && isSeqItem(p.lines[p.i].text):
				val, err = p.seq(ind)
			default:
				val = &node{kind: kNull, line: l.no}
			}
		} else {
			val, err = p.inline(rest, l.no)
			if err == nil && p.i < len(p.lines) && p.lines[p.i].indent > ind {
				err = lineError(p.lines[p.i].no, "unexpected indentation (multi-line plain scalars are not supported: quote the text)")
			}
		}
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, key)
		n.vals = append(n.vals, val)
	}
	if p.i < len(p.lines) && p.lines[p.i].indent > ind {
		return nil, lineError(p.lines[p.i].no, "unexpected indentation")
	}
	return n, nil
}

func containsKey(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// splitKey splits "key: rest" (rest may be empty). ok is false when t is not
// a map entry.
func splitKey(t string, line int) (key, rest string, ok bool, err error) {
	if t == "" {
		return "", "", false, nil
	}
	switch t[0] {
	case '"', '\'':
		f := &flow{s: t, line: line}
		k, err := f.quoted()
		if err != nil {
			return "", "", false, err
		}
		after := strings.TrimLeft(t[f.i:], " ")
		if after == ":" || strings.HasPrefix(after, ": ") {
			return k.s, strings.TrimSpace(after[1:]), true, nil
		}
		return "", "", false, nil
	case '[', '{', '-', '?':
		if t[0] == '?' && (len(t) == 1 || t[1] == ' ') {
			return "", "", false, lineError(line, "complex keys (\"? \") are not supported")
		}
		if t[0] != '-' {
			return "", "", false, nil
		}
	}
	for i := 0; i < len(t); i++ {
		if t[i] == ':' && (i+1 == len(t) || t[i+1] == ' ') {
			return strings.TrimRight(t[:i], " "), strings.TrimSpace(t[i+1:]), true, nil
		}
	}
	return "", "", false, nil
}

// inline reads a value written on the current line (a flow collection may
// continue on the following lines) and moves past it.
func (p *yparser) inline(t string, line int) (*node, error) {
	switch t[0] {
	case '|', '>':
		return nil, lineError(line, "block scalars (| and >) are not supported: use a quoted string")
	case '&', '*', '!':
		return nil, lineError(line, "anchors, aliases and tags (&, *, !) are not supported")
	case '@', '`', '%':
		return nil, lineError(line, "a plain value cannot start with "+strconv.Quote(t[:1])+": quote it")
	}
	p.i++
	if t[0] == '[' || t[0] == '{' {
		text := t
		for depth(text) > 0 && p.i < len(p.lines) {
			text += "\n" + p.lines[p.i].text
			p.i++
		}
		f := &flow{s: text, line: line}
		n, err := f.value()
		if err != nil {
			return nil, err
		}
		f.ws()
		if f.i < len(f.s) {
			return nil, lineError(f.line, "unexpected "+strconv.Quote(f.s[f.i:])+" after a flow collection")
		}
		return n, nil
	}
	if t[0] == '"' || t[0] == '\'' {
		f := &flow{s: t, line: line}
		n, err := f.quoted()
		if err != nil {
			return nil, err
		}
		if f.i < len(t) {
			return nil, lineError(line, "unexpected "+strconv.Quote(t[f.i:])+" after a quoted string")
		}
		return n, nil
	}
	if i := strings.Index(t, ": "); i >= 0 {
		return nil, lineError(line, "a plain value cannot contain \": \": quote it")
	}
	return plain(t, line), nil
}

// depth returns how many flow brackets t leaves open.
func depth(t string) int {
	d := 0
	var q byte
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case q != 0:
			if c == '\\' && q == '"' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '[' || c == '{':
			d++
		case c == ']' || c == '}':
			d--
		}
	}
	return d
}

// plain types a plain scalar (YAML 1.2 core schema).
func plain(s string, line int) *node {
	switch s {
	case "null", "Null", "NULL", "~":
		return &node{kind: kNull, line: line}
	case "true", "True", "TRUE":
		return &node{kind: kBool, line: line, s: "true"}
	case "false", "False", "FALSE":
		return &node{kind: kBool, line: line, s: "false"}
	}
	if isNumber(s) {
		return &node{kind: kNumber, line: line, s: strings.TrimPrefix(s, "+")}
	}
	return &node{kind: kString, line: line, s: s}
}

// isNumber reports whether s is a decimal number in JSON's form (an optional
// leading + allowed).
func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "+")
	s = strings.TrimPrefix(s, "-")
	i := 0
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	n := digits()
	if n == 0 || (n > 1 && s[0] == '0') {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// flow reads flow collections and quoted scalars.
type flow struct {
	s    string
	i    int
	line int
}

func (f *flow) ws() {
	for f.i < len(f.s) && (f.s[f.i] == ' ' || f.s[f.i] == '\t' || f.s[f.i] == '\n' || f.s[f.i] == '\r') {
		if f.s[f.i] == '\n' {
			f.line++
		}
		f.i++
	}
}

func (f *flow) fail(msg string) error { return lineError(f.line, msg) }

func (f *flow) value() (*node, error) {
	f.ws()
	if f.i >= len(f.s) {
		return nil, f.fail("unexpected end of a flow collection")
	}
	switch f.s[f.i] {
	case '[':
		n := &node{kind: kList, line: f.line}
		f.i++
		for {
			f.ws()
			if f.i < len(f.s) && f.s[f.i] == ']' {
				f.i++
				return n, nil
			}
			v, err := f.value()
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, v)
			if err := f.sep(']'); err != nil {
				return nil, err
			}
		}
	case '{':
		n := &node{kind: kMap, line: f.line}
		f.i++
		for {
			f.ws()
			if f.i < len(f.s) && f.s[f.i] == '}' {
				f.i++
				return n, nil
			}
			k, err := f.key()
			if err != nil {
				return nil, err
			}
			if containsKey(n.keys, k) {
				return nil, f.fail("key " + strconv.Quote(k) + " is repeated")
			}
			v, err := f.value()
			if err != nil {
				return nil, err
			}
			n.keys = append(n.keys, k)
			n.vals = append(n.vals, v)
			if err := f.sep('}'); err != nil {
				return nil, err
			}
		}
	case '"', '\'':
		return f.quoted()
	case ']', '}', ',', ':':
		return nil, f.fail("unexpected " + strconv.Quote(f.s[f.i:f.i+1]))
	case '&', '*', '!', '|', '>':
		return nil, f.fail("anchors, aliases, tags and block scalars are not supported")
	}
	start := f.i
	for f.i < len(f.s) {
		c := f.s[f.i]
		if c == ',' || c == ']' || c == '}' || c == '\n' || (c == ':' && f.colonEnds()) {
			break
		}
		f.i++
	}
	return plain(strings.TrimSpace(f.s[start:f.i]), f.line), nil
}

// colonEnds reports whether the ':' at f.i ends a plain scalar.
func (f *flow) colonEnds() bool {
	return f.i+1 == len(f.s) || strings.IndexByte(" \t\n,]}", f.s[f.i+1]) >= 0
}

// key reads a flow map key and its ':'.
func (f *flow) key() (string, error) {
	if f.i >= len(f.s) {
		return "", f.fail("unexpected end of a flow map")
	}
	var k string
	if c := f.s[f.i]; c == '"' || c == '\'' {
		n, err := f.quoted()
		if err != nil {
			return "", err
		}
		k = n.s
	} else {
		start := f.i
		for f.i < len(f.s) && !(f.s[f.i] == ':' && f.colonEnds()) && strings.IndexByte(",]}\n", f.s[f.i]) < 0 {
			f.i++
		}
		k = strings.TrimSpace(f.s[start:f.i])
	}
	f.ws()
	if f.i >= len(f.s) || f.s[f.i] != ':' {
		return "", f.fail("expected \":\" after the key " + strconv.Quote(k))
	}
	f.i++
	return k, nil
}

// sep reads a ',' or the closing bracket (which it leaves in place).
func (f *flow) sep(end byte) error {
	f.ws()
	if f.i < len(f.s) {
		switch f.s[f.i] {
		case ',':
			f.i++
			return nil
		case end:
			return nil
		}
	}
	return f.fail("expected \",\" or " + strconv.Quote(string(end)))
}

// quoted reads a single- or double-quoted string at f.i.
func (f *flow) quoted() (*node, error) {
	q := f.s[f.i]
	line := f.line
	f.i++
	var b strings.Builder
	for f.i < len(f.s) {
		c := f.s[f.i]
		switch {
		case c == '\n':
			return nil, lineError(line, "a quoted string continues on the next line (not supported)")
		case c == q && q == '\'' && f.i+1 < len(f.s) && f.s[f.i+1] == '\'':
			b.WriteByte('\'')
			f.i += 2
		case c == q:
			f.i++
			return &node{kind: kString, line: line, s: b.String()}, nil
		case c == '\\' && q == '"':
			if err := f.escape(&b); err != nil {
				return nil, err
			}
		default:
			b.WriteByte(c)
			f.i++
		}
	}
	return nil, lineError(line, "unterminated quoted string")
}

// escape reads a double-quoted string's escape sequence at f.i.
func (f *flow) escape(b *strings.Builder) error {
	if f.i+1 >= len(f.s) {
		return f.fail("unterminated escape sequence")
	}
	c := f.s[f.i+1]
	f.i += 2
	simple := map[byte]string{'\\': "\\", '"': "\"", '/': "/", 'n': "\n", 't': "\t", 'r': "\r",
		'b': "\b", 'f': "\f", '0': "\x00", 'a': "\a", 'e': "\x1b", ' ': " ", 'v': "\v"}
	if s, ok := simple[c]; ok {
		b.WriteString(s)
		return nil
	}
	n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
	if n == 0 || f.i+n > len(f.s) {
		return f.fail("unsupported escape sequence \\" + string(c))
	}
	r, err := strconv.ParseUint(f.s[f.i:f.i+n], 16, 32)
	if err != nil {
		return f.fail("bad escape sequence \\" + string(c) + f.s[f.i:f.i+n])
	}
	f.i += n
	if c == 'u' && utf16.IsSurrogate(rune(r)) {
		if f.i+6 <= len(f.s) && f.s[f.i] == '\\' && f.s[f.i+1] == 'u' {
			if r2, err := strconv.ParseUint(f.s[f.i+2:f.i+6], 16, 32); err == nil {
				if d := utf16.DecodeRune(rune(r), rune(r2)); d != utf8.RuneError {
					f.i += 6
					b.WriteRune(d)
					return nil
				}
			}
		}
		b.WriteRune(utf8.RuneError)
		return nil
	}
	b.WriteRune(rune(r))
	return nil
}
