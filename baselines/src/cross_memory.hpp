// What the two cross-memory-attach transports share (cma: the receiver pulls with
// process_vm_readv; cma_push: the sender pushes with process_vm_writev): copying between two
// processes' memory, and whether the kernel allows it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>

#include "pipes/fd.hpp"
#include "socket_io.hpp"

namespace baselines {

// Copies `out.size()` bytes at `remote` in process `pid` into `out` (process_vm_readv), or
// `in` to `remote` in process `pid` (process_vm_writev), resuming short copies. Throws "peer
// closed" when the process is gone.
void pull_from(pid_t pid, std::uint64_t remote, std::span<std::byte> out);
void push_to(pid_t pid, std::uint64_t remote, std::span<const std::byte> in);

// "" when a child may read and write its parent's memory here, else the kernel's reason. Tried
// once per process, with a forked child, as one benchmark child will reach the other.
std::string cross_memory_refusal();

// Lets a sibling (not a descendant) reach this process under Yama's ptrace_scope 1.
void allow_sibling_access();

}  // namespace baselines
