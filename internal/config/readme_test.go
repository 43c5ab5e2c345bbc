package config

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestEveryDirectiveInTheREADME: the README's directive table (under
// "## Configuration") names every directive the parser accepts, spelled out
// in a code span that starts with the name, and its first column names no
// directive the parser does not know.
func TestEveryDirectiveInTheREADME(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no ## Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	span := regexp.MustCompile("`([^`]+)`")
	documented := map[string]bool{}
	rows := 0
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		rows++
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "/"), "|")
		for i, cell := range cells {
			for _, m := range span.FindAllStringSubmatch(cell, -1) {
				name, _, _ := strings.Cut(m[1], " ")
				documented[strings.ToLower(name)] = true
				if i == 1 && directives[strings.ToLower(name)] == nil {
					for _, n := range strings.Split(name, "/") {
						if directives[strings.ToLower(n)] == nil {
							t.Errorf("README table: %s is not a directive the parser accepts", n)
						}
					}
				}
			}
		}
	}
	if rows == 0 {
		t.Fatal("README.md's Configuration section has no directive table")
	}
	for _, key := range slices.Sorted(maps.Keys(directives)) {
		if !documented[key] {
			t.Errorf("README table: %s is accepted by the parser but not documented; add a row saying what it does and how it parts from Apache", directives[key].name)
		}
	}
}
