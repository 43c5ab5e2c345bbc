package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/websession/websession/internal/logconfig"
)

// parser holds the state of one Parse call.
type parser struct {
	file     string
	opts     Options
	cfg      *Config
	server   *section
	sections []*section
	cur      *section // the open <Location>, or nil at server level
	line     int      // first physical line of the directive being handled
	name     string   // canonical name of the directive being handled

	// Front-door directives resolved after the whole file is read.
	logFormats       map[string]*logconfig.Format // LogFormat nicknames
	customLogFormats []string                     // CustomLog format arguments, parallel to cfg.CustomLogs
	remoteIPAt       int                          // line of RemoteIPHeader
	proxyAt          int                          // line of the first RemoteIP*Proxy
	proxyName        string
}

// fail returns an *Error for the directive being handled.
func (p *parser) fail(format string, args ...any) error {
	return &Error{File: p.file, Line: p.line, Directive: p.name, Msg: fmt.Sprintf(format, args...)}
}

// logicalLine is one directive line after continuation joining.
type logicalLine struct {
	line int // first physical line number, 1-based
	text string
}

// logicalLines splits src into lines, joins '\' continuations and drops
// blank and comment lines. Trailing blanks are removed, as httpd does.
func logicalLines(src []byte) []logicalLine {
	var out []logicalLine
	var cur strings.Builder
	start := 0
	phys := bytes.Split(src, []byte("\n"))
	for i, b := range phys {
		l := strings.TrimRight(string(b), " \t\r\f\v")
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(l, "\\") && i < len(phys)-1 {
			cur.WriteString(l[:len(l)-1])
			if cur.Len() == 0 {
				// Keep start on this line even if the continued text is
				// empty so far.
				cur.WriteString(" ")
			}
			continue
		}
		cur.WriteString(l)
		text := strings.TrimLeft(cur.String(), " \t\f\v")
		cur.Reset()
		if text == "" || text[0] == '#' {
			continue
		}
		out = append(out, logicalLine{line: start, text: text})
	}
	return out
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' }

// errUnterminated is returned by splitWords for a quote that never closes.
var errUnterminated = errors.New("unterminated quote")

// splitWords splits s into words as httpd's ap_getword_conf does: words are
// separated by blanks; a word that starts with " or ' runs to the matching
// quote, which is removed, and a backslash before that quote character
// stands for the quote itself. An unterminated quote is an error (httpd
// silently takes the rest of the line).
func splitWords(s string) ([]string, error) {
	var words []string
	i := 0
	for {
		for i < len(s) && isBlank(s[i]) {
			i++
		}
		if i == len(s) {
			return words, nil
		}
		if q := s[i]; q == '"' || q == '\'' {
			i++
			var b strings.Builder
			for {
				if i >= len(s) {
					return nil, errUnterminated
				}
				c := s[i]
				if c == '\\' && i+1 < len(s) && s[i+1] == q {
					b.WriteByte(q)
					i += 2
					continue
				}
				i++
				if c == q {
					break
				}
				b.WriteByte(c)
			}
			words = append(words, b.String())
			continue
		}
		j := i
		for j < len(s) && !isBlank(s[j]) {
			j++
		}
		words = append(words, s[i:j])
		i = j
	}
}

// expandEnv replaces every ${VAR} in s. An undefined (or empty) variable is
// an error naming it. "${" without a closing brace is left as it is.
func expandEnv(s string, getenv func(string) string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.IndexByte(s[i+2:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		name := s[i+2 : i+2+j]
		v := getenv(name)
		if v == "" {
			return "", fmt.Errorf("${%s} is not defined in the environment; set it, or write the value instead", name)
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+2+j+1:]
	}
}

// firstWord returns the first blank-delimited word of s and the rest with
// leading blanks removed.
func firstWord(s string) (word, rest string) {
	i := 0
	for i < len(s) && !isBlank(s[i]) {
		i++
	}
	return s[:i], strings.TrimLeft(s[i:], " \t\r\f\v")
}

func (p *parser) parse(src []byte) error {
	for _, ll := range logicalLines(src) {
		p.line = ll.line
		raw, _ := firstWord(ll.text)
		p.name = raw
		if d, ok := directives[strings.ToLower(raw)]; ok {
			p.name = d.name
		}
		text, err := expandEnv(ll.text, p.opts.Getenv)
		if err != nil {
			return p.fail("%v", err)
		}
		if err := p.handle(text); err != nil {
			return err
		}
	}
	if p.cur != nil {
		p.line, p.name = p.cur.line, "<Location>"
		return p.fail("section %q is never closed; add </Location>", p.cur.path)
	}
	return nil
}

func (p *parser) handle(text string) error {
	word, rest := firstWord(text)
	if strings.HasPrefix(word, "<") {
		return p.section(text)
	}
	d, ok := directives[strings.ToLower(word)]
	if !ok {
		p.name = word
		return p.fail("not a directive websession supports (check the spelling; modules other than mod_session*, mod_auth_form, mod_dbd and mod_alias are not implemented)")
	}
	p.name = d.name
	switch {
	case d.scope == serverOnly && p.cur != nil:
		return p.fail("not allowed inside <Location>; move it to the server level, outside any section")
	case d.scope == locationOnly && p.cur == nil:
		return p.fail("only allowed inside a <Location> section; put it in one, e.g. <Location />")
	}
	if d.raw {
		return d.fn(p, []string{rest})
	}
	args, err := splitWords(rest)
	if err != nil {
		return p.fail("%v; close the quoted argument", err)
	}
	if len(args) < d.min || (d.max >= 0 && len(args) > d.max) {
		return p.fail("%s, got %d (usage: %s %s)", wantArgs(d.min, d.max), len(args), d.name, d.usage)
	}
	return d.fn(p, args)
}

func wantArgs(lo, hi int) string {
	plural := func(n int) string {
		if n == 1 {
			return "1 argument"
		}
		return fmt.Sprintf("%d arguments", n)
	}
	switch {
	case lo == hi:
		return "takes " + plural(lo)
	case hi < 0:
		return "takes at least " + plural(lo)
	default:
		return fmt.Sprintf("takes %d to %d arguments", lo, hi)
	}
}

// section handles "<Location PATH>" and "</Location>" lines.
func (p *parser) section(text string) error {
	if strings.HasPrefix(text, "</") {
		inner := strings.TrimSuffix(strings.TrimPrefix(text, "</"), ">")
		p.name = "</" + inner + ">"
		if !strings.EqualFold(strings.TrimSpace(inner), "Location") {
			return p.fail("closes a section websession does not support; only </Location> is known")
		}
		p.name = "</Location>"
		if !strings.HasSuffix(text, ">") {
			return p.fail("missing '>'; write </Location>")
		}
		if p.cur == nil {
			return p.fail("no <Location> section is open; remove it or add the opening <Location PATH>")
		}
		p.cur = nil
		return nil
	}
	word, rest := firstWord(text)
	name := strings.TrimSuffix(strings.TrimPrefix(word, "<"), ">")
	p.name = "<" + name + ">"
	if !strings.EqualFold(name, "Location") {
		return p.fail("section not supported; websession reads only <Location PATH> sections")
	}
	p.name = "<Location>"
	if p.cur != nil {
		return p.fail("<Location> cannot occur within <Location> section %q (line %d); close that one first", p.cur.path, p.cur.line)
	}
	if strings.HasSuffix(word, ">") {
		// "<Location>" with nothing inside the brackets.
		return p.fail("needs a URL-path, e.g. <Location /private/>")
	}
	if !strings.HasSuffix(rest, ">") {
		return p.fail("missing '>' at the end of the line")
	}
	args, err := splitWords(strings.TrimSuffix(rest, ">"))
	if err != nil {
		return p.fail("%v; close the quoted path", err)
	}
	if len(args) > 0 && (args[0] == "~" || strings.ContainsAny(args[0], "*?[")) {
		return p.fail("%q: regular-expression and wildcard locations are not supported; use a URL-path prefix", args[0])
	}
	if len(args) != 1 {
		return p.fail("takes 1 URL-path, got %d; quote a path containing blanks", len(args))
	}
	path := args[0]
	if !strings.HasPrefix(path, "/") {
		return p.fail("%q is not a URL-path; it must start with /", path)
	}
	p.cur = &section{path: path, line: p.line, order: len(p.sections)}
	p.sections = append(p.sections, p.cur)
	return nil
}

// add records a per-directory operation in the current section.
func (p *parser) add(o op) {
	s := p.cur
	if s == nil {
		s = p.server
	}
	s.ops = append(s.ops, o)
}
