#include <lastbyte/conformance/broken.hpp>

#include <array>

namespace lastbyte::conformance {
namespace {

class BrokenEngine final : public Engine {
 public:
  BrokenEngine(std::unique_ptr<Engine> inner, Breakage breakage) : inner_(std::move(inner)), breakage_(breakage) {}

  EngineStatus handshake() override { return inner_->handshake(); }
  EngineResult write(std::span<const std::byte> p) override { return inner_->write(p); }
  EngineStatus send_close_notify() override { return inner_->send_close_notify(); }
  SessionInfo session_info() const override { return inner_->session_info(); }
  EngineFailure failure() const override { return inner_->failure(); }
  void release_idle_buffers() override { inner_->release_idle_buffers(); }

  std::size_t pending_plaintext() const override {
    return breakage_ == Breakage::hides_held_plaintext ? 0 : inner_->pending_plaintext();
  }

  EngineResult read(std::span<std::byte> out) override {
    if (breakage_ == Breakage::ends_before_draining && delivered_) return {0, EngineStatus::want_input};
    EngineResult r = inner_->read(out);
    delivered_ |= r.bytes > 0;
    if (breakage_ == Breakage::drops_held_plaintext && r.bytes > 0) {
      std::array<std::byte, 4096> sink;
      while (inner_->pending_plaintext() > 0 && inner_->read(sink).bytes > 0) {
      }
    }
    return r;
  }

 private:
  std::unique_ptr<Engine> inner_;
  Breakage breakage_;
  bool delivered_ = false;
};

class BrokenContext final : public EngineContext {
 public:
  BrokenContext(std::unique_ptr<EngineContext> inner, Breakage breakage)
      : inner_(std::move(inner)), breakage_(breakage) {}
  Expected<std::unique_ptr<Engine>> new_engine(EngineIo io, const ConnectionOptions& options) override {
    auto engine = inner_->new_engine(io, options);
    if (!engine) return engine.error();
    return std::unique_ptr<Engine>(std::make_unique<BrokenEngine>(std::move(*engine), breakage_));
  }

 private:
  std::unique_ptr<EngineContext> inner_;
  Breakage breakage_;
};

// Backend holds plain function pointers: one instantiation per breakage.
template <Breakage B>
struct Broken {
  static inline const Backend* inner = nullptr;
  static Expected<std::unique_ptr<EngineContext>> create(const Config& config) {
    auto context = inner->create_context(config);
    if (!context) return context.error();
    return std::unique_ptr<EngineContext>(std::make_unique<BrokenContext>(std::move(*context), B));
  }
  static const Backend& backend(const Backend& wrapped) {
    inner = &wrapped;
    static const Backend b{"broken", wrapped.library_version, wrapped.supports, wrapped.exports_secrets, &create};
    return b;
  }
};

}  // namespace

const Backend& broken_backend(Breakage breakage, const Backend& inner) {
  switch (breakage) {
    case Breakage::drops_held_plaintext: return Broken<Breakage::drops_held_plaintext>::backend(inner);
    case Breakage::hides_held_plaintext: return Broken<Breakage::hides_held_plaintext>::backend(inner);
    case Breakage::ends_before_draining: return Broken<Breakage::ends_before_draining>::backend(inner);
  }
  return inner;
}

}  // namespace lastbyte::conformance
