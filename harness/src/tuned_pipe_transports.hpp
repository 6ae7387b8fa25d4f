// The `pipes` library as harness transports: the tuned pipe with its default options, its
// zero-copy, batching and spinning variants, and each speed lever alone on top of a
// Python-like pipe (the `pipe_*` ablation).
#pragma once

#include <memory>

#include "baselines/channel.hpp"

namespace harness {

std::unique_ptr<baselines::Transport> make_tuned_pipe(const baselines::TransportParams& params);
std::unique_ptr<baselines::Transport> make_tuned_pipe_loan(
    const baselines::TransportParams& params);
std::unique_ptr<baselines::Transport> make_tuned_pipe_built(
    const baselines::TransportParams& params);
std::unique_ptr<baselines::Transport> make_tuned_pipe_batch(
    const baselines::TransportParams& params);
std::unique_ptr<baselines::Transport> make_tuned_pipe_spin(
    const baselines::TransportParams& params);

// The ablation: all levers off (the library's Python-equivalent path), then one lever at a time.
std::unique_ptr<baselines::Transport> make_pipe_levers_off(
    const baselines::TransportParams& params);
std::unique_ptr<baselines::Transport> make_pipe_bigbuf(const baselines::TransportParams& params);
std::unique_ptr<baselines::Transport> make_pipe_writev(const baselines::TransportParams& params);
std::unique_ptr<baselines::Transport> make_pipe_readahead(const baselines::TransportParams& params);
std::unique_ptr<baselines::Transport> make_pipe_vmsplice(const baselines::TransportParams& params);

}  // namespace harness
