#include "connection_channel.hpp"

#include "size_text.hpp"

namespace baselines {

std::string pipes_description(const pipes::options& o, std::size_t capacity) {
  std::string text = "pipes: pipe " + size_text(capacity) + " (asked ";
  if (o.pipe_capacity == pipes::system_max_capacity) {
    text += "pipe-max-size)";
  } else if (o.pipe_capacity == 0) {
    text += "the kernel default)";
  } else {
    text += size_text(o.pipe_capacity) + ")";
  }
  text += o.gather_writes ? ", header + payload in one writev"
                          : ", Python's writes (one <= 16 KiB, two above)";
  text += o.read_ahead ? ", read-ahead" : ", exact reads";
  if (o.zero_copy) {
    text += ", vmsplice from a staging ring for payloads >= " + size_text(o.zero_copy_threshold);
  }
  if (o.spin.count() > 0) {
    text += ", spin " + std::to_string(o.spin.count() / 1000) + " us before blocking";
  }
  return text;
}

}  // namespace baselines
