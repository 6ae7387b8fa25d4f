#include "syscalls.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace pipes {
namespace {

// fcntl is variadic; the table holds a fixed-signature entry for the commands pipes uses.
int real_fcntl(int fd, int cmd, int arg) { return ::fcntl(fd, cmd, arg); }
// open is variadic too; pipes never creates files, so it needs no mode.
int real_open(const char* path, int flags) { return ::open(path, flags); }

const syscall_table real_table{
    .read = ::read,
    .write = ::write,
    .readv = ::readv,
    .writev = ::writev,
    .pwritev2 = ::pwritev2,
    .vmsplice = ::vmsplice,
    .splice = ::splice,
    .poll = ::poll,
    .fcntl = real_fcntl,
    .pipe2 = ::pipe2,
    .close = ::close,
    .open = real_open,
    .fstat = ::fstat,
    .mmap = ::mmap,
    .munmap = ::munmap,
};

syscall_table live_table = real_table;

}  // namespace

syscall_table& syscalls() noexcept { return live_table; }
const syscall_table& real_syscalls() noexcept { return real_table; }

}  // namespace pipes
