// A worker pool over one datagram queue (datagram_queue.hpp) that every worker reads from
// (fanout) or writes to (fanin): what fan_boost_mq.cpp and fan_posix_mq.cpp share.
#pragma once

#include <memory>
#include <string>

#include "baselines/fan.hpp"
#include "datagram_queue.hpp"

namespace baselines {

// `queue` is made by the caller in the controller, before fork(); `queue_text` says what it is
// (kind, geometry, limits), for describe().
std::unique_ptr<FanTransport> make_shared_queue_fan(const FanParams& params,
                                                    std::unique_ptr<datagram_queue> queue,
                                                    std::string queue_text);

}  // namespace baselines
