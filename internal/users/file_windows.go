package users

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// openRead opens the file for reading, letting others delete or rename
// over it while it is open (FILE_SHARE_DELETE, which os.Open does not
// ask for), so that writers can still replace the file atomically.
func openRead(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// statFile identifies the version of an open file: volume, file index,
// size and last write time (Windows keeps no inode change time here: a
// rewrite changes the write time, a replacement the file index), and its
// link count (0 once removed).
func statFile(f *os.File) (fileID, uint64, error) {
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(windows.Handle(f.Fd()), &info); err != nil {
		return fileID{}, 0, err
	}
	written := info.LastWriteTime.Nanoseconds()
	return fileID{
		dev:   uint64(info.VolumeSerialNumber),
		ino:   uint64(info.FileIndexHigh)<<32 | uint64(info.FileIndexLow),
		size:  int64(info.FileSizeHigh)<<32 | int64(info.FileSizeLow),
		mtime: written,
		ctime: written,
	}, uint64(info.NumberOfLinks), nil
}

// statPath identifies the file the path names now.
func statPath(path string) (fileID, error) {
	f, err := openRead(path)
	if err != nil {
		return fileID{}, err
	}
	defer f.Close()
	id, _, err := statFile(f)
	return id, err
}

// tryLock takes an exclusive lock on the file's first byte without
// waiting; errLocked means another holder has it.
func tryLock(f *os.File) error {
	var ol windows.Overlapped
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return errLocked
	}
	return err
}

func unlock(f *os.File) {
	var ol windows.Overlapped
	windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}

// ownerOf: Windows files have no Unix owner and group to keep.
func ownerOf(fs.FileInfo) (uid, gid int, ok bool) { return -1, -1, false }
