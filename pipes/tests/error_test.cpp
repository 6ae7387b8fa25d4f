#include "pipes/error.hpp"

#include <gtest/gtest.h>

#include <set>

namespace {

TEST(Error, codes_live_in_the_pipes_category) {
  const std::error_code ec = pipes::errc::peer_closed;
  EXPECT_EQ(&ec.category(), &pipes::category());
  EXPECT_STREQ(pipes::category().name(), "pipes");
  EXPECT_EQ(ec.value(), 1);
  EXPECT_EQ(ec, pipes::errc::peer_closed);
  EXPECT_NE(ec, pipes::errc::peer_closed_mid_message);
  EXPECT_NE(ec, std::error_code(1, std::system_category()));
}

TEST(Error, every_code_has_its_own_message) {
  std::set<std::string> messages;
  for (auto e : {pipes::errc::peer_closed, pipes::errc::peer_closed_mid_message,
                 pipes::errc::message_too_large, pipes::errc::malformed_header,
                 pipes::errc::buffer_too_short, pipes::errc::source_ended}) {
    messages.insert(pipes::make_error_code(e).message());
  }
  EXPECT_EQ(messages.size(), 6u);
  EXPECT_EQ(messages.count("unknown pipes error"), 0u);
}

TEST(Error, exceptions_are_system_errors_carrying_the_code) {
  try {
    throw pipes::buffer_too_short_error(1234, "recv");
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), pipes::errc::buffer_too_short);
    const auto* too_short = dynamic_cast<const pipes::buffer_too_short_error*>(&e);
    ASSERT_NE(too_short, nullptr);
    EXPECT_EQ(too_short->message_size(), 1234u);
    EXPECT_NE(dynamic_cast<const pipes::error*>(&e), nullptr);
  }
}

}  // namespace
