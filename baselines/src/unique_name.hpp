// Names for the named resources some transports create (a POSIX queue, a shared-memory segment,
// a directory for a socket): unguessable, so that no other user can predict, pre-create or open
// them, and reported to an optional observer so that a test can check their modes and removal.
#pragma once

#include <string>
#include <string_view>

namespace baselines {

// `prefix` followed by 32 lowercase hex digits: 128 bits from getrandom(2).
std::string unique_name(std::string_view prefix);

enum class named_resource {
  shm_segment,    // a POSIX shared-memory object, by its shm_open name ("/..." or "...")
  message_queue,  // a POSIX message queue, by its mq_open name ("/...")
  directory,      // a directory, by its absolute path
};

// Test seam: called with every named resource right after a transport created it and before it
// is removed, in the process that created it. Production code leaves it unset.
using creation_observer = void (*)(named_resource kind, const std::string& name) noexcept;
void set_creation_observer(creation_observer observer) noexcept;

// Called by transports after creating a named resource.
void report_created(named_resource kind, const std::string& name) noexcept;

}  // namespace baselines
