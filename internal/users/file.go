package users

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// FileStore is an htpasswd file (AuthUserFile) used as a user store, read
// and written compatibly with Apache's htpasswd and mod_authn_file.
//
// Reads come from an in-memory copy of the file, refreshed when an
// fstat(2) shows the file changed (see Options.StatInterval). The store
// keeps one descriptor open on the file; Close releases it. Writes lock
// "<file>.lock" (flock(2); LockFileEx on Windows), re-read the file, and
// replace it atomically. What is system-specific lives in file_unix.go and
// file_windows.go.
type FileStore struct {
	path     string
	lockPath string
	opts     Options
	v        *verifier

	fdMu     sync.RWMutex // guards snap and closed; held shared around fstat
	snap     *fileSnap
	closed   bool
	lastStat atomic.Int64 // ns since start of the last fstat, with StatInterval
	reloadMu sync.Mutex   // one reader of the file at a time
	writeMu  sync.Mutex
	start    time.Time
}

// fileSnap is one reading of the file. Never modified once stored.
type fileSnap struct {
	f     *os.File // open on the version read; closed when replaced
	users map[string]string
	// byKey maps the canonical form of each name (CanonicalName) to the
	// first name in the file having it, so that "Alice" logs in as the
	// "alice" of the file, and a new "Alice" finds "alice" taken.
	byKey map[string]string
	// cost is the most common bcrypt cost in the file (0 when it has no
	// bcrypt hash): what an unknown user's dummy check spends.
	cost int
	raw  []byte
	id   fileID
	// racy: the file changed so recently that a further change within the
	// file system's timestamp granularity, keeping the size, would leave
	// id unchanged (git's "racily clean" problem). While racy, the content
	// is compared instead.
	racy bool
}

// fileID is what a stat says about a version of the file.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // ns
}

// racyWindow is how recent a modification must be to be distrusted. Linux
// file timestamps come from a coarse clock (one tick, 1-10 ms).
const racyWindow = 100 * time.Millisecond

// OpenFile opens the htpasswd file at path, creating it (mode 0600, and
// its folder with mode 0700) when missing, and reads it. A symbolic link is
// followed once, so rewrites replace the target, not the link.
func OpenFile(path string, opts Options) (*FileStore, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	} else if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			err = f.Close()
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("users: %w", err)
		}
	} else {
		return nil, fmt.Errorf("users: %w", err)
	}
	s := &FileStore{
		path:     path,
		lockPath: path + ".lock",
		opts:     opts,
		v:        newVerifier(opts),
		start:    time.Now(),
	}
	if _, err := s.reload(nil); err != nil {
		return nil, err
	}
	return s, nil
}

// Path is the file's path (symbolic links resolved).
func (s *FileStore) Path() string { return s.path }

// Check verifies name's password against the file (see Store).
func (s *FileStore) Check(ctx context.Context, name, password string) (Result, error) {
	snap, err := s.current()
	if err != nil {
		return Denied, err
	}
	stored, found := snap.lookup(name)
	return s.v.check(ctx, name, password, stored, found, snap.cost)
}

// lookup finds name's hash: the line for exactly that name, as Apache
// matches, else the line of the name with the same canonical form.
func (f *fileSnap) lookup(name string) (hash string, found bool) {
	if h, ok := f.users[name]; ok {
		return h, true
	}
	if n, ok := f.byKey[lookupKey(name)]; ok {
		return f.users[n], true
	}
	return "", false
}

// taken reports whether a new user with the canonical name key would
// collide with one in the file.
func (f *fileSnap) taken(key string) bool {
	_, exact := f.users[key]
	_, folded := f.byKey[key]
	return exact || folded
}

// index fills byKey and cost from the lines of f, in file order, and the
// users map already made from them.
func (snap *fileSnap) index(f *htFile) {
	snap.byKey = make(map[string]string, len(snap.users))
	costs := map[int]int{}
	for _, l := range f.lines {
		name, hash, kind := parseLine(l)
		if kind != lineUser {
			continue
		}
		if k := lookupKey(name); k != "" {
			if _, dup := snap.byKey[k]; !dup { // the first line wins, as in Apache
				snap.byKey[k] = name
			}
		}
		if kindOf(hash) == hashBcrypt {
			if c, err := bcrypt.Cost([]byte(hash)); err == nil {
				costs[c]++
			}
		}
	}
	for c, n := range costs {
		if n > costs[snap.cost] || n == costs[snap.cost] && c > snap.cost {
			snap.cost = c
		}
	}
}

// Exists reports whether the file has a line for name (or for a name
// with the same canonical form).
func (s *FileStore) Exists(ctx context.Context, name string) (bool, error) {
	snap, err := s.current()
	if err != nil {
		return false, err
	}
	_, ok := snap.lookup(name)
	return ok, nil
}

// Names lists the users in file order.
func (s *FileStore) Names(ctx context.Context) ([]string, error) {
	snap, err := s.current()
	if err != nil {
		return nil, err
	}
	f := splitFile(snap.raw)
	var names []string
	seen := make(map[string]bool)
	for _, l := range f.lines {
		if n, _, k := parseLine(l); k == lineUser && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names, nil
}

// Add appends a user with a bcrypt hash of password, under the name's
// canonical form (CanonicalName). The hash is made before the name is
// looked up, so that a taken name costs the same time as a new one.
//
// The file is appended to, one line and one fsync, so the write does not
// grow with the number of users; the in-memory copy is then extended
// (copying its maps, about a millisecond per 10,000 users) rather than
// read and parsed again.
func (s *FileStore) Add(ctx context.Context, name, password string) error {
	key, err := CanonicalName(name)
	if err != nil {
		return err
	}
	if err := ValidatePassword(name, password); err != nil {
		return err
	}
	hash, err := s.v.hash(ctx, password)
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	unlock, err := lockFile(ctx, s.lockPath)
	if err != nil {
		return err
	}
	defer unlock()
	return s.appendUser(key, hash)
}

// appendUser appends the line for a new user to the file as it is on disk
// now. The caller holds the write lock.
func (s *FileStore) appendUser(name, hash string) error {
	for range 5 {
		snap, err := s.current()
		if err != nil {
			return err
		}
		f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("users: %w", err)
		}
		id, _, err := statFile(f)
		if err != nil {
			f.Close()
			return fmt.Errorf("users: stat %s: %w", s.path, err)
		}
		if !s.unchanged(snap, id) {
			// Changed by another program since we read it: read it again.
			f.Close()
			if _, err := s.reload(snap); err != nil {
				return err
			}
			continue
		}
		if snap.taken(name) {
			f.Close()
			return ErrExists
		}
		line := formatLine(name, hash) + "\n"
		if n := len(snap.raw); n > 0 && snap.raw[n-1] != '\n' {
			// A last line without its newline (a crash mid-append, or an
			// editor): end it, or the new user would be glued onto it.
			line = "\n" + line
		}
		_, err = f.WriteString(line)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			// Part of the line may be on disk: a torn line without a
			// newline that no name matches, which the next append ends.
			s.reload(snap)
			return fmt.Errorf("users: append to %s: %w", s.path, err)
		}
		return s.extend(snap, name, hash, line)
	}
	return fmt.Errorf("users: %s: %w", s.path, errChanging)
}

// unchanged reports whether the file, whose stat says now, still is what
// snap read. A racy snapshot's stat proves nothing, so then the content is
// compared.
func (s *FileStore) unchanged(snap *fileSnap, now fileID) bool {
	if now != snap.id {
		return false
	}
	if !snap.racy {
		return true
	}
	f, raw, id, err := s.readStable()
	if err != nil {
		return false
	}
	f.Close()
	return id == snap.id && bytes.Equal(raw, snap.raw)
}

// extend makes the file with line appended current without parsing it
// again, when what is on disk is exactly that; else it parses what is.
func (s *FileStore) extend(old *fileSnap, name, hash, line string) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	f, raw, id, err := s.readStable()
	if err != nil {
		return err
	}
	snap := &fileSnap{f: f, raw: raw, id: id, racy: isRacy(id)}
	if n := len(old.raw); len(raw) == n+len(line) && bytes.Equal(raw[:n], old.raw) && string(raw[n:]) == line {
		snap.users, snap.byKey, snap.cost = maps.Clone(old.users), maps.Clone(old.byKey), old.cost
		snap.users[name], snap.byKey[name] = hash, name
		if snap.cost == 0 {
			snap.cost = s.opts.Cost
		}
	} else {
		hf := splitFile(raw)
		snap.users = hf.users(s.path, s.opts.Logger)
		snap.index(hf)
	}
	return s.install(snap)
}

// SetPassword replaces the hash of name (or of the name with its canonical
// form) with a bcrypt hash of password, in place (the first line for the
// name, the one Apache reads).
func (s *FileStore) SetPassword(ctx context.Context, name, password string) error {
	if err := ValidatePassword(name, password); err != nil {
		return err
	}
	if ok, err := s.Exists(ctx, name); err != nil {
		return err
	} else if !ok {
		return ErrNotFound
	}
	hash, err := s.v.hash(ctx, password)
	if err != nil {
		return err
	}
	return s.update(ctx, func(f *htFile) error {
		i := f.resolve(name)
		if i < 0 {
			return ErrNotFound
		}
		stored, _, _ := parseLine(f.lines[i])
		defer s.v.forget(stored)
		f.lines[i] = formatLine(stored, hash)
		return nil
	})
}

// Delete removes every line for name (or for the name with its canonical
// form, when no line has exactly name).
func (s *FileStore) Delete(ctx context.Context, name string) error {
	return s.update(ctx, func(f *htFile) error {
		i := f.resolve(name)
		if i < 0 {
			return ErrNotFound
		}
		stored, _, _ := parseLine(f.lines[i])
		defer s.v.forget(stored)
		f.remove(stored)
		return nil
	})
}

// current returns the in-memory file, re-reading it when it changed. This
// is the per-Check staleness check: one fstat(2) of the file descriptor we
// keep open on the file we read, no allocation. An in-place rewrite (as
// Apache's htpasswd does) changes its size, mtime or ctime; a replacement
// by rename, or a removal, unlinks it (ctime changes, link count drops).
// fstat costs about half of a stat(2) of the path, which must walk it.
func (s *FileStore) current() (*fileSnap, error) {
	s.fdMu.RLock()
	snap, closed := s.snap, s.closed
	if closed {
		s.fdMu.RUnlock()
		return nil, ErrClosed
	}
	if iv := s.opts.StatInterval; iv > 0 {
		now := int64(time.Since(s.start))
		if last := s.lastStat.Load(); now-last < int64(iv) {
			s.fdMu.RUnlock()
			return snap, nil
		}
		s.lastStat.Store(now)
	}
	id, links, err := statFile(snap.f)
	s.fdMu.RUnlock()
	if err == nil && links > 0 && !snap.racy && id == snap.id {
		return snap, nil
	}
	return s.reload(snap)
}

// ErrClosed is returned by a FileStore used after Close.
var ErrClosed = errors.New("users: store closed")

// Close releases the file descriptor the store keeps on the file.
func (s *FileStore) Close() error {
	s.fdMu.Lock()
	defer s.fdMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.snap.f.Close()
}

// reload reads the file into a new snapshot, unless another goroutine did
// so since old was current.
func (s *FileStore) reload(old *fileSnap) (*fileSnap, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	s.fdMu.RLock()
	cur := s.snap
	s.fdMu.RUnlock()
	if cur != old {
		return cur, nil
	}
	f, raw, id, err := s.readStable()
	if err != nil {
		return nil, err
	}
	snap := &fileSnap{f: f, raw: raw, id: id, racy: isRacy(id)}
	if old != nil && bytes.Equal(raw, old.raw) {
		snap.users, snap.byKey, snap.cost = old.users, old.byKey, old.cost
	} else {
		hf := splitFile(raw)
		snap.users = hf.users(s.path, s.opts.Logger)
		snap.index(hf)
	}
	if err := s.install(snap); err != nil {
		return nil, err
	}
	return snap, nil
}

// install makes snap current and closes the previous descriptor. The
// caller holds reloadMu.
func (s *FileStore) install(snap *fileSnap) error {
	s.fdMu.Lock()
	old, closed := s.snap, s.closed
	if !closed {
		s.snap = snap
	}
	s.fdMu.Unlock()
	if closed {
		snap.f.Close()
		return ErrClosed
	}
	if old != nil {
		old.f.Close()
	}
	return nil
}

// readStable opens and reads the file, returning the open file with what
// it read. It retries when the file changed while being read (a writer
// that rewrites in place, like Apache's htpasswd, must not leave us with
// half a file) or the path was meanwhile given to another file.
func (s *FileStore) readStable() (f *os.File, raw []byte, id fileID, err error) {
	for range 5 {
		f, raw, id, err = readFile(s.path)
		if err == nil {
			return f, raw, id, nil
		}
		if !errors.Is(err, errChanging) {
			return nil, nil, fileID{}, err
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil, nil, fileID{}, err
}

var errChanging = errors.New("file kept changing while being read")

func readFile(path string) (*os.File, []byte, fileID, error) {
	f, err := openRead(path)
	if err != nil {
		return nil, nil, fileID{}, fmt.Errorf("users: %w", err)
	}
	fail := func(err error) (*os.File, []byte, fileID, error) {
		f.Close()
		return nil, nil, fileID{}, err
	}
	before, _, err := statFile(f)
	if err != nil {
		return fail(fmt.Errorf("users: stat %s: %w", path, err))
	}
	buf := bytes.NewBuffer(make([]byte, 0, before.size+512))
	if _, err := buf.ReadFrom(f); err != nil {
		return fail(fmt.Errorf("users: read %s: %w", path, err))
	}
	after, _, err := statFile(f)
	if err != nil {
		return fail(fmt.Errorf("users: stat %s: %w", path, err))
	}
	named, err := statPath(path)
	if err != nil {
		return fail(fmt.Errorf("users: %w", err))
	}
	if after != before || int64(buf.Len()) != after.size || named.ino != after.ino || named.dev != after.dev {
		return fail(fmt.Errorf("users: %s: %w", path, errChanging))
	}
	return f, buf.Bytes(), after, nil
}

func isRacy(id fileID) bool {
	newest := max(id.mtime, id.ctime)
	return time.Now().UnixNano()-newest < int64(racyWindow)
}

// update applies change to the file under the write lock and replaces the
// file atomically. change sees the file as it is on disk now, whatever
// other processes wrote.
func (s *FileStore) update(ctx context.Context, change func(*htFile) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	unlock, err := lockFile(ctx, s.lockPath)
	if err != nil {
		return err
	}
	defer unlock()

	old, raw, _, err := s.readStable()
	if err != nil {
		return err
	}
	old.Close()
	f := splitFile(raw)
	if err := change(f); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	out := f.bytes()
	if err := writeAtomic(s.path, out); err != nil {
		return err
	}
	// Take what is now on disk as current (it is what we wrote: we hold
	// the lock, and other writers are expected to take it too).
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	cur, raw, id, err := s.readStable()
	if err != nil {
		return err
	}
	snap := &fileSnap{f: cur, raw: raw, id: id, racy: isRacy(id)}
	if !bytes.Equal(raw, out) {
		f = splitFile(raw)
		snap.users = f.users(s.path, s.opts.Logger)
	} else {
		snap.users = f.users(s.path, nil)
	}
	snap.index(f)
	return s.install(snap)
}

// errLocked is tryLock's answer when another holder has the lock.
var errLocked = errors.New("locked by another holder")

// lockFile takes an exclusive lock on path (created 0600), polling so that
// ctx can end the wait.
func lockFile(ctx context.Context, path string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("users: lock: %w", err)
	}
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		err := tryLock(f)
		if err == nil {
			break
		}
		if !errors.Is(err, errLocked) {
			f.Close()
			return nil, fmt.Errorf("users: lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("users: waiting for %s: %w", path, ctx.Err())
		case <-time.After(wait):
		}
	}
	return func() {
		unlock(f)
		f.Close()
	}, nil
}

// writeAtomic replaces path with data: a temporary file in the same
// folder, fsync, rename over path, fsync of the folder. The file keeps its
// permission bits (0600 for a new one), and its owner and group when the
// process may set them. A crash leaves either the old or
// the new file, plus at worst a stray ".<name>.tmp-*" file.
func writeAtomic(path string, data []byte) (err error) {
	perm, uid, gid := fs.FileMode(0o600), -1, -1
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
		if u, g, ok := ownerOf(fi); ok {
			uid, gid = u, g
		}
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("users: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	if uid >= 0 {
		// Keep the owner and group (say root:www-data 0640, for Apache to
		// read), where we are allowed to; otherwise the file becomes ours.
		_ = tmp.Chown(uid, gid)
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("users: %w", err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("users: fsync %s: %w", dir, err)
	}
	return nil
}
