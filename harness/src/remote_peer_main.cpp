// pipebench-peer: the follower's side of pipebench runs whose leader is on another host.
//
//   pipebench-peer [--listen=ADDR:PORT] [--cpu=N] [--once]
//
// Listens for a controller (pipebench --remote-peer=THIS_HOST:PORT) on a TCP control port
// (default 0.0.0.0:7878; port 0 picks one, printed on start), serves one controller at a time
// (remote_session.hpp), and waits for the next when it disconnects. It runs whatever a controller
// asks (bounded: no message over 1 GiB, no pool over 2 GiB): run it on a trusted network only.
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include "baselines/tcp_endpoint.hpp"
#include "remote_session.hpp"
#include "remote_wire.hpp"

namespace {

constexpr const char* usage =
    "usage: pipebench-peer [--listen=ADDR:PORT] [--cpu=N] [--once]\n"
    "  --listen=ADDR:PORT  the control port controllers connect to (default 0.0.0.0:7878;\n"
    "                      port 0: an ephemeral one, printed on start)\n"
    "  --cpu=N             pin the follower to CPU N (default: not pinned)\n"
    "  --once              exit after the first controller's session\n";

void log_line(const std::string& line) { std::cerr << "pipebench-peer: " << line << std::endl; }

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  std::string listen_at = "0.0.0.0";
  harness::peer_settings settings;
  bool once = false;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      // "--flag=value" or "--flag value".
      auto value_of = [&](std::string_view flag) -> std::optional<std::string_view> {
        if (arg == flag && i + 1 < argc) return std::string_view(argv[++i]);
        if (arg.starts_with(flag) && arg.size() > flag.size() && arg[flag.size()] == '=') {
          return arg.substr(flag.size() + 1);
        }
        return std::nullopt;
      };
      if (auto v = value_of("--listen")) {
        listen_at = *v;
      } else if (auto v = value_of("--cpu")) {
        const auto [end, ec] =
            std::from_chars(v->data(), v->data() + v->size(), settings.follower_cpu);
        if (ec != std::errc() || end != v->data() + v->size())
          throw std::invalid_argument("bad --cpu");
      } else if (arg == "--once") {
        once = true;
      } else {
        std::cerr << (arg == "--help" ? ""
                                      : "pipebench-peer: unknown option " + std::string(arg) + "\n")
                  << usage;
        return arg == "--help" ? 0 : 2;
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "pipebench-peer: " << e.what() << "\n" << usage;
    return 2;
  }

  pipes::fd listener;
  try {
    auto at = baselines::parse_tcp_endpoint(listen_at, harness::default_peer_port);
    at.host = baselines::numeric_host(at.host);
    listener = baselines::listen_tcp(at, 4);
  } catch (const std::exception& e) {
    std::cerr << "pipebench-peer: " << e.what() << "\n";
    return 1;
  }
  // The line a script waits for, with the port when it was ephemeral.
  std::cout << "pipebench-peer: listening on " << baselines::local_endpoint(listener.get()).text()
            << " (protocol " << harness::remote_protocol_version << ")" << std::endl;

  for (;;) {
    sockaddr_storage from{};
    socklen_t length = sizeof from;
    pipes::fd control(
        ::accept4(listener.get(), reinterpret_cast<sockaddr*>(&from), &length, SOCK_CLOEXEC));
    if (!control) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      log_line(std::string("accept: ") + std::strerror(errno));
      return 1;
    }
    try {
      baselines::set_nodelay(control);
      log_line("a controller connected");
      harness::serve_controller(control, settings, &log_line);
      log_line("the controller disconnected");
    } catch (const std::exception& e) {
      log_line(std::string("session ended: ") + e.what());
    }
    if (once) return 0;
  }
}
