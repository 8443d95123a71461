// PrometheusText: writes metrics in Prometheus' text exposition format 0.0.4: each family's
// # HELP and # TYPE lines, then its samples, with label values and help text escaped.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace topicdb::app {

// The Content-Type of a scrape answer in this format.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

class PrometheusText {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Label {
    std::string_view name;   // [a-zA-Z_][a-zA-Z0-9_]*
    std::string_view value;  // any UTF-8; escaped here
  };
  using Labels = std::initializer_list<Label>;

  // Starts a family: its # HELP and # TYPE lines. The samples that follow belong to it.
  // A counter's name ends in "_total" (the 0.0.4 convention: the family and sample share it).
  void family(std::string_view name, Type type, std::string_view help);
  // One sample of the current family (`name` is the family's, or for a histogram one of its
  // _bucket, _sum, _count series).
  void sample(std::string_view name, Labels labels, uint64_t value);
  void sample(std::string_view name, Labels labels, double value);
  // One histogram series of the current family: cumulative _bucket{le=...} lines from
  // per-bucket counts (`counts` has one more entry than `upper_bounds`: the +Inf bucket),
  // then _sum and _count.
  void histogram(std::string_view name, Labels labels, std::span<const double> upper_bounds,
                 std::span<const uint64_t> counts, double sum);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void write_labels(std::span<const Label> labels, const Label* extra);

  std::string out_;
};

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_valid_metric_name(std::string_view name);
// A label value: backslash, double quote and newline escaped (\\, \", \n).
std::string escape_label_value(std::string_view value);
// Help text: backslash and newline escaped.
std::string escape_help(std::string_view help);
// The shortest text that reads back as `value`; +Inf, -Inf and NaN as Prometheus spells them.
std::string format_value(double value);

}  // namespace topicdb::app
