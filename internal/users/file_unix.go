//go:build unix

package users

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openRead opens the file for reading; os.Open already sets close-on-exec.
func openRead(path string) (*os.File, error) { return os.Open(path) }

// statFile is one fstat(2) of an open file: what identifies this version of
// it, and its link count (0 once it was removed or renamed over). It does
// not allocate: Check runs it on every request.
func statFile(f *os.File) (fileID, uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fileID{}, 0, err
	}
	return idOf(&st), uint64(st.Nlink), nil
}

// statPath is stat(2) of the path: which file it names now.
func statPath(path string) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileID{}, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return idOf(&st), nil
}

func idOf(st *unix.Stat_t) fileID {
	return fileID{
		dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
	}
}

// tryLock takes an exclusive flock(2) without waiting; errLocked means
// another holder has it.
func tryLock(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) || errors.Is(err, unix.EINTR) {
		return errLocked
	}
	return err
}

func unlock(f *os.File) { unix.Flock(int(f.Fd()), unix.LOCK_UN) }

// ownerOf returns the owner and group of a file, to keep them when the file
// is replaced. os.Stat fills a syscall.Stat_t, whose Uid and Gid every Unix
// has.
func ownerOf(fi fs.FileInfo) (uid, gid int, ok bool) {
	if st, isStat := fi.Sys().(*syscall.Stat_t); isStat {
		return int(st.Uid), int(st.Gid), true
	}
	return -1, -1, false
}
