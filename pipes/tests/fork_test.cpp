// Every call across a real fork(), and descriptors handed to an exec'd program with release().
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstring>
#include <string>

#include "pipes/connection.hpp"
#include "pipes/typed.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using pipes_test::bytes_of;
using pipes_test::pattern;
using pipes_test::text_of;

struct report {
  std::string name;
  std::vector<std::uint64_t> sizes;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(name, sizes);
  }
};

// The child's half of the conversation. Each step answers the parent's matching step; a wrong
// answer exits with the step's number.
int child_side(pipes::Connection& parent) {
  // 1. send_bytes / recv_bytes
  if (text_of(parent.recv_bytes()) != "ping") return 1;
  parent.send_bytes(bytes_of("pong"));

  // 2. send_parts arrives as one message; reply with a batch of 100.
  std::vector<std::byte> buffer(1 << 20);
  const std::size_t n = parent.recv_bytes_into(buffer);
  if (text_of(std::span(buffer).first(n)) != "abcdef") return 2;
  std::vector<std::vector<std::byte>> storage;
  std::vector<std::span<const std::byte>> batch;
  for (int i = 0; i < 100; ++i) storage.push_back(pattern(static_cast<std::size_t>(i), i));
  for (const auto& m : storage) batch.push_back(m);
  parent.send_batch(batch);

  // 3. loan/commit both ways, with timed receives.
  if (!parent.poll(30s)) return 3;
  const auto loaned = parent.recv_bytes_for(30s);
  if (!loaned || *loaned != pattern(200000, 3)) return 3;
  const auto reply = parent.loan(loaned->size());
  std::memcpy(reply.data(), loaned->data(), loaned->size());
  parent.commit();

  // 4. a file's bytes arrive by recv_into_fd; send them back with send_from_fd.
  const pipes::fd file = pipes_test::temp_file();
  const std::size_t size = parent.recv_into_fd(file.get());
  if (size != 500000) return 4;
  ::lseek(file.get(), 0, SEEK_SET);
  parent.send_from_fd(file.get(), size);

  // 5. typed messages.
  const auto numbers = pipes::recv<std::vector<std::uint64_t>>(parent);
  pipes::send(parent, report{"child", numbers});

  // 6. the parent hangs up.
  std::error_code ec;
  parent.recv_bytes(ec);
  return ec == pipes::errc::peer_closed ? 0 : 6;
}

TEST(Fork, every_call_works_between_processes) {
  auto [parent_end, child_end] = pipes::make_duplex();
  const pid_t child = pipes_test::fork_child([&parent_end = parent_end, &child_end = child_end] {
    parent_end.close();
    return child_side(child_end);
  });
  child_end.close();
  auto& child_conn = parent_end;

  child_conn.send_bytes(bytes_of("ping"));
  EXPECT_EQ(text_of(child_conn.recv_bytes()), "pong");

  const auto abc = bytes_of("abc");
  const auto def = bytes_of("def");
  const std::span<const std::byte> parts[] = {abc, def};
  child_conn.send_parts(parts);
  std::vector<std::byte> buffer(1 << 20);
  for (int i = 0; i < 100; ++i) {
    const auto n = child_conn.recv_bytes_into_for(buffer, 30s);
    ASSERT_TRUE(n.has_value());
    ASSERT_EQ(*n, static_cast<std::size_t>(i));
    EXPECT_TRUE(std::ranges::equal(std::span(buffer).first(*n), pattern(*n, i)));
  }

  const auto loan = child_conn.loan(200000);
  pipes_test::fill_pattern(loan, 3);
  child_conn.commit();
  EXPECT_EQ(child_conn.recv_bytes_into(buffer), 200000u);
  EXPECT_TRUE(std::ranges::equal(std::span(buffer).first(200000), pattern(200000, 3)));

  const auto contents = pattern(500000, 4);
  const pipes::fd file = pipes_test::temp_file();
  pipes::write_all(file, contents);
  ::lseek(file.get(), 0, SEEK_SET);
  child_conn.send_from_fd(file.get(), contents.size());
  EXPECT_EQ(child_conn.recv_bytes(), contents);

  const std::vector<std::uint64_t> numbers = {1, 2, 3, 1ull << 40};
  pipes::send(child_conn, numbers);
  const auto answer = pipes::recv<report>(child_conn);
  EXPECT_EQ(answer.name, "child");
  EXPECT_EQ(answer.sizes, numbers);

  child_conn.close();
  EXPECT_TRUE(pipes_test::exited_with(pipes_test::wait_child(child), 0));
}

TEST(Fork, released_descriptors_work_in_an_exec_d_program) {
  auto [mine, theirs] = pipes::make_duplex();
  auto [read_end, write_end] = theirs.release();
  const int read_fd = read_end.get();
  const int write_fd = write_end.get();
  const pid_t child = pipes_test::fork_child([&mine = mine, read_fd, write_fd] {
    mine.close();
    // Inheritable in this child only: the parent's copies stay O_CLOEXEC.
    ::fcntl(read_fd, F_SETFD, 0);
    ::fcntl(write_fd, F_SETFD, 0);
    const std::string r = std::to_string(read_fd);
    const std::string w = std::to_string(write_fd);
    ::execl(PIPES_TEST_PEER, PIPES_TEST_PEER, "--read-fd", r.c_str(), "--write-fd", w.c_str(),
            static_cast<char*>(nullptr));
    return 127;
  });
  read_end.close();
  write_end.close();
  for (std::size_t size : {0u, 5u, 70000u, 3u << 20}) {
    const auto message = pattern(size, size);
    mine.send_bytes(message);
    EXPECT_EQ(mine.recv_bytes(), message) << size;
  }
  mine.close();
  EXPECT_TRUE(pipes_test::exited_with(pipes_test::wait_child(child), 0));
}

TEST(Fork, adopt_in_the_child_of_a_fork) {
  auto [reader, writer] = pipes::make_pipe();
  auto [read_end, unused] = reader.release();
  const pid_t child = pipes_test::fork_child([&writer = writer, read_fd = read_end.get()] {
    writer.close();
    auto adopted = pipes::Connection::adopt(read_fd, -1);
    return adopted.recv_bytes() == pattern(123456, 1) ? 0 : 1;
  });
  read_end.close();
  writer.send_bytes(pattern(123456, 1));
  EXPECT_TRUE(pipes_test::exited_with(pipes_test::wait_child(child), 0));
}

}  // namespace
