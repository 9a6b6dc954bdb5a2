// A configured TLS context: one Config validated and made into the chosen
// backend's context, shared by many Connections (connection.hpp).
#pragma once

#include <lastbyte/backend.hpp>
#include <lastbyte/config.hpp>
#include <lastbyte/expected.hpp>

#include <memory>

namespace lastbyte {

class Context {
 public:
  static Expected<Context> create(Config config, const Backend& backend);

  const Config& config() const;
  const Backend& backend() const;

  struct Impl;

 private:
  explicit Context(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
  friend class Connection;
};

}  // namespace lastbyte
