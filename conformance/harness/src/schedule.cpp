#include <lastbyte/conformance/harness.hpp>
#include <lastbyte/engine/record.hpp>

#include <charconv>
#include <random>

namespace lastbyte::conformance {

std::string Schedule::name() const {
  switch (kind) {
    case Kind::whole: return "whole";
    case Kind::bytewise: return "bytewise";
    case Kind::header_split: return "header-split-" + std::to_string(k);
    case Kind::segments: return "segments-" + std::to_string(segment);
    case Kind::random: return "random-" + std::to_string(seed);
  }
  return "?";
}

std::optional<Schedule> Schedule::parse(std::string_view name) {
  auto number_after = [&](std::string_view prefix) -> std::optional<std::uint64_t> {
    if (!name.starts_with(prefix)) return std::nullopt;
    std::uint64_t n = 0;
    auto rest = name.substr(prefix.size());
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec != std::errc{} || end != rest.data() + rest.size()) return std::nullopt;
    return n;
  };
  if (name == "whole") return Schedule{};
  if (name == "bytewise") return Schedule{Schedule::Kind::bytewise};
  if (auto k = number_after("header-split-"); k && *k >= 1 && *k <= 4)
    return Schedule{Schedule::Kind::header_split, static_cast<int>(*k)};
  if (auto n = number_after("segments-"); n && *n > 0) return Schedule{Schedule::Kind::segments, 0, *n};
  if (auto seed = number_after("random-")) return Schedule{Schedule::Kind::random, 0, 1460, *seed};
  return std::nullopt;
}

std::vector<Schedule> all_schedules(std::uint64_t random_seed) {
  std::vector<Schedule> all{{Schedule::Kind::whole}, {Schedule::Kind::bytewise}};
  for (int k = 1; k <= 4; ++k) all.push_back({Schedule::Kind::header_split, k});
  all.push_back({Schedule::Kind::segments, 0, 1460});
  all.push_back({Schedule::Kind::random, 0, 1460, random_seed});
  return all;
}

namespace {

std::vector<std::size_t> header_cuts(std::span<const std::byte> wire, int k) {
  std::vector<std::size_t> cuts = record_starts(wire);
  for (auto& at : cuts) at += static_cast<std::size_t>(k);
  return cuts;
}

}  // namespace

std::vector<std::size_t> record_starts(std::span<const std::byte> wire) {
  std::vector<std::size_t> starts;
  for (std::size_t pos = 0; pos < wire.size();) {
    starts.push_back(pos);
    auto header = record::parse_header(wire.subspan(pos));
    if (!header) break;
    pos += header->record_size();
  }
  return starts;
}

std::vector<std::span<const std::byte>> cut(std::span<const std::byte> wire, const Schedule& schedule) {
  std::vector<std::size_t> cuts;  // offsets where a new transport read starts
  switch (schedule.kind) {
    case Schedule::Kind::whole: break;
    case Schedule::Kind::bytewise:
      for (std::size_t i = 1; i < wire.size(); ++i) cuts.push_back(i);
      break;
    case Schedule::Kind::header_split: cuts = header_cuts(wire, schedule.k); break;
    case Schedule::Kind::segments:
      for (std::size_t i = schedule.segment; i < wire.size(); i += schedule.segment) cuts.push_back(i);
      break;
    case Schedule::Kind::random: {
      std::mt19937_64 rng(schedule.seed);
      std::uniform_int_distribution<std::size_t> step(1, 3000);
      for (std::size_t i = step(rng); i < wire.size(); i += step(rng)) cuts.push_back(i);
      break;
    }
  }
  std::vector<std::span<const std::byte>> reads;
  std::size_t from = 0;
  for (std::size_t to : cuts) {
    if (to <= from || to >= wire.size()) continue;
    reads.push_back(wire.subspan(from, to - from));
    from = to;
  }
  if (from < wire.size()) reads.push_back(wire.subspan(from));
  return reads;
}

}  // namespace lastbyte::conformance
