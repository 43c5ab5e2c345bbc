package users

import (
	"log/slog"
	"strings"
)

// lineKind classifies one line of an htpasswd file.
type lineKind int

const (
	lineOther   lineKind = iota // blank or comment: ignored by Apache, kept by us
	lineUser                    // name:hash[:anything]
	lineInvalid                 // not something Apache would match: kept, logged
)

// parseLine reads one htpasswd line as mod_authn_file does: surrounding
// white space trimmed (ap_cfg_getline), '#' lines and blank lines skipped,
// the name up to the first ':', the hash up to the next ':' (ap_getword;
// further fields, which some tools add, are ignored).
func parseLine(line string) (name, hash string, kind lineKind) {
	t := strings.TrimSpace(line)
	if t == "" || t[0] == '#' {
		return "", "", lineOther
	}
	name, rest, ok := strings.Cut(t, ":")
	if !ok || name == "" {
		return "", "", lineInvalid
	}
	hash, _, _ = strings.Cut(rest, ":")
	if hash == "" {
		return "", "", lineInvalid
	}
	return name, hash, lineUser
}

// formatLine is the line we write for a user.
func formatLine(name, hash string) string { return name + ":" + hash }

// htFile is an htpasswd file as lines, kept verbatim so that a rewrite
// changes only the lines it means to.
type htFile struct {
	lines []string
}

func splitFile(data []byte) *htFile {
	s := string(data)
	s = strings.TrimSuffix(s, "\n")
	f := &htFile{}
	if s != "" {
		f.lines = strings.Split(s, "\n")
	}
	return f
}

func (f *htFile) bytes() []byte {
	n := 0
	for _, l := range f.lines {
		n += len(l) + 1
	}
	b := make([]byte, 0, n)
	for _, l := range f.lines {
		b = append(b, l...)
		b = append(b, '\n')
	}
	return b
}

// users maps each name to its hash; the first line for a name wins, as in
// Apache. Invalid lines and duplicates are logged (by line number only: a
// line may hold a hash).
func (f *htFile) users(path string, log *slog.Logger) map[string]string {
	m := make(map[string]string, len(f.lines))
	for i, l := range f.lines {
		name, hash, kind := parseLine(l)
		switch kind {
		case lineInvalid:
			if log != nil {
				log.Warn("htpasswd: line not understood, kept as is", "file", path, "line", i+1)
			}
		case lineUser:
			if _, dup := m[name]; dup {
				if log != nil {
					log.Warn("htpasswd: duplicate user, the first line wins", "file", path, "line", i+1, "user", name)
				}
				continue
			}
			m[name] = hash
		}
	}
	return m
}

// index returns the first line holding name, or -1.
func (f *htFile) index(name string) int {
	for i, l := range f.lines {
		if n, _, k := parseLine(l); k == lineUser && n == name {
			return i
		}
	}
	return -1
}

// resolve returns the first line holding name, else the first line
// holding a name with the same canonical form, or -1.
func (f *htFile) resolve(name string) int {
	if i := f.index(name); i >= 0 {
		return i
	}
	key := lookupKey(name)
	if key == "" {
		return -1
	}
	for i, l := range f.lines {
		if n, _, k := parseLine(l); k == lineUser && lookupKey(n) == key {
			return i
		}
	}
	return -1
}

// remove drops every line for name (a later duplicate would otherwise come
// back to life) and reports whether there was one.
func (f *htFile) remove(name string) bool {
	kept := f.lines[:0]
	found := false
	for _, l := range f.lines {
		if n, _, k := parseLine(l); k == lineUser && n == name {
			found = true
			continue
		}
		kept = append(kept, l)
	}
	f.lines = kept
	return found
}
