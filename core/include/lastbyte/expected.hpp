// Expected<T>: a value or an Error with a precise, actionable message.
// (std::expected is C++23; this is the small subset lastbyte needs.)
#pragma once

#include <lastbyte/errors.hpp>

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace lastbyte {

struct Error {
  std::error_code code;
  std::string detail;  // what went wrong and what to do about it

  std::string message() const {
    return detail.empty() ? code.message() : code.message() + ": " + detail;
  }
};

template <class T>
class Expected {
 public:
  Expected(T value) : state_(std::move(value)) {}
  Expected(Error error) : state_(std::move(error)) {}

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(state_); }
  const T& value() const& { assert(has_value()); return std::get<0>(state_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!has_value()); return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

}  // namespace lastbyte
