#pragma once

#include <lastbyte/connection.hpp>
#include <lastbyte/engine/engine.hpp>

#include <memory>

namespace lastbyte {

struct Context::Impl {
  Config config;
  const Backend* backend;
  std::unique_ptr<EngineContext> engine;
};

}  // namespace lastbyte
