package main

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the module's root, seen from this package's folder.
const repoRoot = "../.."

// repoCopy copies the repository into a fresh temporary folder as a clone
// would have it: everything but .git and what .gitignore names (data/, the
// built binary, ...). No links: the copy stands alone.
func repoCopy(t *testing.T) string {
	t.Helper()
	ignored := gitIgnored(t)
	dst := t.TempDir()
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repoRoot, path)
		if err != nil || rel == "." {
			return err
		}
		if d.Name() == ".git" || ignored(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Mkdir(target, 0o755)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		}
		return nil // sockets and links are no part of a clone
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// gitIgnored reads the repository's .gitignore, which uses two forms only:
// "/name" or "/name/" for an entry at the top, "*.ext" for a suffix
// anywhere. A line of any other form fails the test, so that the copy
// never silently keeps what a clone would not have.
func gitIgnored(t *testing.T) func(rel string, dir bool) bool {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	top := map[string]bool{}
	var suffixes []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "/") && !strings.Contains(strings.Trim(line, "/"), "/"):
			top[strings.Trim(line, "/")] = true
		case strings.HasPrefix(line, "*.") && !strings.ContainsAny(line[1:], "*/?["):
			suffixes = append(suffixes, line[1:])
		default:
			t.Fatalf(".gitignore: %q: repoCopy understands only /name, /name/ and *.ext", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return func(rel string, dir bool) bool {
		if top[filepath.ToSlash(rel)] {
			return true
		}
		for _, s := range suffixes {
			if !dir && strings.HasSuffix(rel, s) {
				return true
			}
		}
		return false
	}
}
