// The one seam through which every system call made by pipes passes. Production code never
// touches it; tests replace entries to inject EINTR, EAGAIN, EPIPE, short reads and short writes
// deterministically, and restore them with `scoped_syscall`. A private header of the library
// (not installed): the library's own tests and fuzzer reach it through pipes/src.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

namespace pipes {

struct syscall_table {
  ssize_t (*read)(int fd, void* buf, size_t count);
  ssize_t (*write)(int fd, const void* buf, size_t count);
  ssize_t (*readv)(int fd, const iovec* iov, int iovcnt);
  ssize_t (*writev)(int fd, const iovec* iov, int iovcnt);
  ssize_t (*pwritev2)(int fd, const iovec* iov, int iovcnt, off_t offset, int flags);
  ssize_t (*vmsplice)(int fd, const iovec* iov, unsigned long nr_segs, unsigned int flags);
  ssize_t (*splice)(int fd_in, loff_t* off_in, int fd_out, loff_t* off_out, size_t len,
                    unsigned int flags);
  int (*poll)(pollfd* fds, nfds_t nfds, int timeout_ms);
  int (*fcntl)(int fd, int cmd, int arg);
  int (*pipe2)(int fds[2], int flags);
  int (*close)(int fd);
  int (*open)(const char* path, int flags);
  int (*fstat)(int fd, struct stat* st);
  void* (*mmap)(void* addr, size_t length, int prot, int flags, int fd, off_t offset);
  int (*munmap)(void* addr, size_t length);
};

// The live table. Not synchronised: swap entries only while no other thread uses pipes.
syscall_table& syscalls() noexcept;

// The table of the real system calls.
const syscall_table& real_syscalls() noexcept;

// Replaces one entry for the lifetime of the object (tests only).
template <typename Fn>
class scoped_syscall {
 public:
  scoped_syscall(Fn syscall_table::*entry, Fn replacement) noexcept
      : entry_(entry), saved_(syscalls().*entry) {
    syscalls().*entry = replacement;
  }
  ~scoped_syscall() { syscalls().*entry_ = saved_; }
  scoped_syscall(const scoped_syscall&) = delete;
  scoped_syscall& operator=(const scoped_syscall&) = delete;

 private:
  Fn syscall_table::*entry_;
  Fn saved_;
};

}  // namespace pipes
