#include "pipes/error.hpp"

namespace pipes {
namespace {

class pipes_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "pipes"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::peer_closed:
        return "peer closed the connection";
      case errc::peer_closed_mid_message:
        return "peer closed the connection in the middle of a message";
      case errc::message_too_large:
        return "message larger than the configured maximum";
      case errc::malformed_header:
        return "malformed frame header";
      case errc::buffer_too_short:
        return "buffer too short for the message";
      case errc::source_ended:
        return "source ended before the promised length";
    }
    return "unknown pipes error";
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const pipes_category instance;
  return instance;
}

void throw_error(const std::error_code& ec, const char* what) {
  if (ec.category() == category()) throw error(ec, what);
  throw std::system_error(ec, what);
}

}  // namespace pipes
