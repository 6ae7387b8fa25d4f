// Builds against an installed pipes and exchanges one typed message over a pipe.
#include <cereal/types/string.hpp>
#include <cstdio>
#include <pipes/connection.hpp>
#include <pipes/typed.hpp>
#include <string>

int main() {
  auto [reader, writer] = pipes::make_pipe();
  pipes::send(writer, std::string("installed pipes works"));
  const auto text = pipes::recv<std::string>(reader);
  std::puts(text.c_str());
  return text == "installed pipes works" ? 0 : 1;
}
