package revocation

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NewID returns a new random login id: 128 bits, URL-safe base64.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// fileHeader is the first line of a record file.
const fileHeader = "# websession revocation record v1: ended logins; safe to delete (logged-out copies of sessions then work again until they expire)"

// maxLineLen bounds one line: a user entry with the longest escaped name.
const maxLineLen = 3*MaxUserLen + 2*MaxIDLen + 80

// DefaultMaxFileBytes bounds how much of a record file is read at start.
const DefaultMaxFileBytes = 64 << 20

// File keeps the record in an append-only text file, one entry a line,
// for a single server without a database. Every Add is synced to disk;
// the file is rewritten with only the live entries when it is loaded and
// when it has grown well past them.
type File struct {
	path     string
	maxBytes int64
	logger   *slog.Logger

	mu       sync.Mutex
	f        *os.File // open for appending after Load
	appended int      // lines appended since the last rewrite
}

// NewFile returns a File backend at path (created with mode 0600 when it
// does not exist; its folder must exist). logger may be nil.
func NewFile(path string, logger *slog.Logger) *File {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &File{path: path, maxBytes: DefaultMaxFileBytes, logger: logger}
}

// Load reads the live entries, skipping (and counting in the log) lines
// that do not parse and everything past maxBytes, then rewrites the file
// with the live entries only.
func (fb *File) Load(_ context.Context, now time.Time) ([]Entry, error) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	entries, err := fb.read(now)
	if err != nil {
		return nil, err
	}
	if err := fb.rewrite(entries); err != nil {
		// The entries read still hold; appending may work where
		// rewriting did not.
		fb.logger.Warn("revocation file not compacted", "file", fb.path, "err", err)
	}
	return entries, nil
}

func (fb *File) read(now time.Time) ([]Entry, error) {
	f, err := os.Open(fb.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("revocation file: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > fb.maxBytes {
		fb.logger.Error("revocation file larger than the limit; only its beginning is read", "file", fb.path, "bytes", st.Size(), "limit", fb.maxBytes)
	}
	br := bufio.NewReaderSize(io.LimitReader(f, fb.maxBytes), maxLineLen+2)
	var entries []Entry
	bad := 0
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			bad++
			for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of an overlong line
				_, err = br.ReadSlice('\n')
			}
			if err != nil {
				break
			}
			continue
		}
		if len(line) == 0 && err != nil {
			break
		}
		text := strings.TrimSuffix(string(line), "\n")
		if text != "" && !strings.HasPrefix(text, "#") {
			e, perr := parseLine(text)
			switch {
			case perr != nil:
				bad++
			case now.Before(e.Until):
				entries = append(entries, e)
			}
		}
		if err != nil {
			break
		}
	}
	if bad > 0 {
		fb.logger.Warn("revocation file: unreadable lines skipped", "file", fb.path, "lines", bad)
	}
	return entries, nil
}

// parseLine reads "s ID REASON UNTIL" or
// "u NAME CUTOFF KEEP REASON UNTIL" (NAME query-escaped, KEEP "-" for
// none, times in µs since the Unix epoch).
func parseLine(line string) (Entry, error) {
	f := strings.Split(line, " ")
	var e Entry
	var err error
	switch {
	case len(f) == 4 && f[0] == "s":
		e.SID, e.Reason = f[1], Reason(f[2])
		e.Until, err = parseMicros(f[3])
	case len(f) == 6 && f[0] == "u":
		if e.User, err = url.QueryUnescape(f[1]); err != nil {
			return e, err
		}
		if e.Cutoff, err = parseMicros(f[2]); err != nil {
			return e, err
		}
		if f[3] != "-" {
			e.Keep = f[3]
		}
		e.Reason = Reason(f[4])
		e.Until, err = parseMicros(f[5])
	default:
		return e, errors.New("not an entry")
	}
	if err != nil {
		return e, err
	}
	return e, e.check()
}

func parseMicros(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, fmt.Errorf("bad time %q", s)
	}
	return time.UnixMicro(n), nil
}

func formatLine(e Entry) string {
	if e.SID != "" {
		return fmt.Sprintf("s %s %s %d\n", e.SID, e.Reason, e.Until.UnixMicro())
	}
	keep := e.Keep
	if keep == "" {
		keep = "-"
	}
	return fmt.Sprintf("u %s %d %s %s %d\n", url.QueryEscape(e.User), e.Cutoff.UnixMicro(), keep, e.Reason, e.Until.UnixMicro())
}

// Add appends the entry and syncs the file.
func (fb *File) Add(_ context.Context, e Entry) error {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.f == nil {
		f, err := os.OpenFile(fb.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("revocation file: %w", err)
		}
		fb.f = f
	}
	if _, err := fb.f.WriteString(formatLine(e)); err != nil {
		return fmt.Errorf("revocation file: %w", err)
	}
	if err := fb.f.Sync(); err != nil {
		return fmt.Errorf("revocation file: %w", err)
	}
	fb.appended++
	return nil
}

// Appended is the number of lines added since the file was last rewritten.
func (fb *File) Appended() int {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	return fb.appended
}

// Rewrite replaces the file with the given entries.
func (fb *File) Rewrite(entries []Entry) error {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	return fb.rewrite(entries)
}

// rewrite writes a temporary file beside the record, syncs it and renames
// it over the record, so a crash leaves the old or the new file, never a
// half-written one. Called with mu held.
func (fb *File) rewrite(entries []Entry) error {
	tmp, err := os.CreateTemp(filepath.Dir(fb.path), filepath.Base(fb.path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("revocation file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	w := bufio.NewWriter(tmp)
	fmt.Fprintln(w, fileHeader)
	for _, e := range entries {
		w.WriteString(formatLine(e))
	}
	err = w.Flush()
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), fb.path)
	}
	if err != nil {
		return fmt.Errorf("revocation file: rewriting: %w", err)
	}
	if fb.f != nil {
		fb.f.Close()
		fb.f = nil
	}
	fb.appended = 0
	return nil
}

// Close closes the file.
func (fb *File) Close() error {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.f == nil {
		return nil
	}
	err := fb.f.Close()
	fb.f = nil
	return err
}
