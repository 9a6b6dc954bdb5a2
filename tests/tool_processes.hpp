// Test helpers shared by cli_test.cpp and asio_test.cpp: a child process
// with its output on pipes, and lastbyte-server started for one test.
#pragma once

#include "temporary_directory.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

extern char** environ;

namespace lastbyte_test {

struct Ran {
  int exit_code = -1;
  std::string out, err;
};

// A child process with its stdout and stderr on pipes.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    int out[2], err[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ), 0) << args[0];
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
    ::close(err_);
  }

  // One line of stdout (the server's "listening on ...").
  std::string read_line(std::chrono::seconds timeout) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char c;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      if (::read(out_, &c, 1) != 1 || c == '\n') break;
      line += c;
    }
    return line;
  }

  Ran wait(std::chrono::seconds timeout) {
    Ran r;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    bool out_open = true, err_open = true;
    char buf[65536];
    while ((out_open || err_open) && std::chrono::steady_clock::now() < deadline) {
      pollfd p[2] = {{out_open ? out_ : -1, POLLIN, 0}, {err_open ? err_ : -1, POLLIN, 0}};
      if (::poll(p, 2, 100) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
        ssize_t n = ::read(p[i].fd, buf, sizeof buf);
        if (n <= 0) (i == 0 ? out_open : err_open) = false;
        else (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      }
    }
    int status = 0;
    if (out_open || err_open) ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
};

inline const std::string client_bin = LASTBYTE_CLIENT_BIN;
inline const std::string server_bin = LASTBYTE_SERVER_BIN;

inline std::string generated_body(std::size_t n) {  // what lastbyte-server sends
  std::string body(n, '\0');
  for (std::size_t i = 0; i < n; ++i) body[i] = i % 64 == 63 ? '\n' : static_cast<char>('a' + i % 26);
  return body;
}

class Server {
 public:
  // `tls` empty: the tools' default version range.
  Server(std::string close_mode, std::size_t body, int connections, std::string tls = {},
         std::string framing = "length")
      : ca_(directory_.file("ca.pem")),
        child_(arguments(close_mode, body, connections, tls, framing, ca_)) {
    std::string line = child_.read_line(std::chrono::seconds(10));
    auto colon = line.rfind(':');
    EXPECT_TRUE(line.starts_with("listening on 127.0.0.1:")) << line;
    port_ = colon == std::string::npos ? "0" : line.substr(colon + 1);
  }
  std::string target() const { return "localhost:" + port_; }

  static std::vector<std::string> arguments(const std::string& close_mode, std::size_t body, int connections,
                                            const std::string& tls, const std::string& framing, const std::string& ca) {
    std::vector<std::string> args{server_bin,  "--port", "0", "--close", close_mode, "--body-size", std::to_string(body),
                                  "--max-connections", std::to_string(connections), "--write-ca", ca,
                                  "--framing", framing};
    if (!tls.empty()) args.insert(args.end(), {"--tls", tls});
    return args;
  }
  const std::string& ca() const { return ca_; }

 private:
  TemporaryDirectory directory_{"lastbyte-cli"};  // the CA file; removed after the server (declared first)
  std::string ca_;
  Child child_;
  std::string port_;
};

inline Ran client(std::vector<std::string> args) {
  args.insert(args.begin(), client_bin);
  return Child(args).wait(std::chrono::seconds(120));
}

}  // namespace lastbyte_test
