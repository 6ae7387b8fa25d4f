#include "test_stream.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>

namespace transport_test {

std::size_t size_of(std::uint64_t seq, const stream_shape& shape) {
  if (shape.min_size == 0 && seq % 50 == 0) return 0;
  std::mt19937_64 rng(seq * 7919 + 1);
  const double low = std::log2(static_cast<double>(std::max<std::size_t>(shape.min_size, 1)));
  const double high = std::log2(static_cast<double>(shape.max_size));
  const double log_size = std::uniform_real_distribution<double>(low, high)(rng);
  return std::clamp<std::size_t>(static_cast<std::size_t>(std::exp2(log_size)), shape.min_size,
                                 shape.max_size);
}

void fill(std::uint64_t seq, std::span<std::byte> out) {
  std::uint64_t x = seq * 0x9e3779b97f4a7c15ull + 12345;
  for (std::size_t i = 0; i < out.size(); i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::memcpy(out.data() + i, &x, std::min<std::size_t>(8, out.size() - i));
  }
}

void expect_message(std::uint64_t seq, std::span<const std::byte> got, std::vector<std::byte>& want,
                    const stream_shape& shape) {
  want.resize(size_of(seq, shape));
  fill(seq, want);
  if (!std::equal(got.begin(), got.end(), want.begin(), want.end())) {
    throw message_mismatch("message " + std::to_string(seq) + " of " + std::to_string(want.size()) +
                           " bytes arrived wrong (" + std::to_string(got.size()) + " bytes)");
  }
}

bool is_message(std::uint64_t seq, std::size_t size, std::span<const std::byte> got) {
  if (got.size() != size) return false;
  std::vector<std::byte> want(size);
  fill(seq, want);
  return std::equal(got.begin(), got.end(), want.begin());
}

void echo(baselines::Channel& channel, std::size_t count, std::size_t scratch_bytes) {
  std::vector<std::byte> scratch(scratch_bytes);
  for (std::size_t i = 0; i < count; ++i) channel.send(channel.receive(scratch));
}

}  // namespace transport_test
