// send<T>/recv<T> over cereal's binary archives.
#include "pipes/typed.hpp"

#include <gtest/gtest.h>

#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <map>
#include <string>
#include <thread>

namespace {

struct point {
  double x = 0;
  double y = 0;
  std::string label;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(x, y, label);
  }
  bool operator==(const point&) const = default;
};

TEST(Typed, values_round_trip) {
  auto [reader, writer] = pipes::make_pipe();
  pipes::send(writer, point{1.5, -2, "here"});
  pipes::send(writer, std::map<std::string, std::vector<int>>{{"a", {1, 2}}, {"b", {}}});
  pipes::send(writer, 42);
  EXPECT_EQ(pipes::recv<point>(reader), (point{1.5, -2, "here"}));
  const auto map = pipes::recv<std::map<std::string, std::vector<int>>>(reader);
  EXPECT_EQ(map.at("a"), (std::vector<int>{1, 2}));
  EXPECT_TRUE(map.at("b").empty());
  EXPECT_EQ(pipes::recv<int>(reader), 42);
}

TEST(Typed, large_values_grow_the_buffer) {
  auto [reader, writer] = pipes::make_pipe();
  std::vector<std::uint64_t> big(1 << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = i * 2654435761u;
  std::thread sender([&writer = writer, &big] {
    pipes::send(writer, std::vector<int>{1});
    pipes::send(writer, big);
    pipes::send(writer, std::vector<int>{2});
  });
  EXPECT_EQ(pipes::recv<std::vector<int>>(reader), std::vector<int>{1});
  EXPECT_EQ(pipes::recv<std::vector<std::uint64_t>>(reader), big);
  EXPECT_EQ(pipes::recv<std::vector<int>>(reader), std::vector<int>{2});
  sender.join();
}

TEST(Typed, a_message_that_is_not_a_T_throws_cereal_exception) {
  auto [reader, writer] = pipes::make_pipe();
  pipes::send(writer, std::uint8_t{1});
  EXPECT_THROW(pipes::recv<point>(reader), cereal::Exception);
}

TEST(Typed, end_of_file_is_peer_closed) {
  auto [reader, writer] = pipes::make_pipe();
  writer.close();
  try {
    pipes::recv<int>(reader);
    ADD_FAILURE() << "no exception";
  } catch (const pipes::error& e) {
    EXPECT_EQ(e.code(), pipes::errc::peer_closed);
  }
}

}  // namespace
