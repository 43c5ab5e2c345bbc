package logconfig

import (
	"fmt"
	"os"
	"sync"
)

// File is one CustomLog file, opened for appending. Each line is one
// write, so lines from concurrent requests never interleave. It is safe for
// concurrent use.
type File struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// OpenFile opens (creating, mode 0644 as httpd does) the log file at path.
func OpenFile(path string) (*File, error) {
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &File{path: path, f: f}, nil
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s for appending: %w", path, err)
	}
	return f, nil
}

// Path returns the file's path.
func (l *File) Path() string { return l.path }

// Write appends line, which must end in a newline.
func (l *File) Write(line []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("log file %s is closed", l.path)
	}
	_, err := l.f.Write(line)
	return err
}

// Reopen opens the path again and switches to it, so that a file that
// logrotate renamed is left alone and a new one started. When the path
// cannot be opened the old file stays in use and the error is returned.
func (l *File) Reopen() error {
	f, err := openAppend(l.path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	l.f = f
	l.mu.Unlock()
	if old != nil {
		return old.Close()
	}
	return nil
}

// Close closes the file; later writes fail.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
