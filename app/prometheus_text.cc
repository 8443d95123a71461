#include "app/prometheus_text.h"

#include <cassert>
#include <charconv>
#include <cmath>

namespace topicdb::app {

namespace {

const char* type_name(PrometheusText::Type type) {
  switch (type) {
    case PrometheusText::Type::kCounter:
      return "counter";
    case PrometheusText::Type::kGauge:
      return "gauge";
    case PrometheusText::Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

bool is_valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[400];  // the longest fixed form below (1e15 with 17 digits) fits many times over
  // Shortest round-trip digits; plain decimals where they stay short, so bucket bounds read
  // le="0.0001" rather than le="1e-04".
  const double magnitude = std::fabs(value);
  const bool plain = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e15);
  auto [end, ec] = plain ? std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed)
                         : std::to_chars(buf, buf + sizeof(buf), value);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

void PrometheusText::family(std::string_view name, Type type, std::string_view help) {
  assert(is_valid_metric_name(name));
  assert(type != Type::kCounter || name.ends_with("_total"));
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type_name(type);
  out_ += '\n';
}

void PrometheusText::write_labels(std::span<const Label> labels, const Label* extra) {
  if (labels.empty() && extra == nullptr) return;
  out_ += '{';
  bool first = true;
  auto write = [&](const Label& label) {
    if (!first) out_ += ',';
    first = false;
    assert(is_valid_metric_name(label.name) && label.name.find(':') == std::string_view::npos);
    out_ += label.name;
    out_ += "=\"";
    out_ += escape_label_value(label.value);
    out_ += '"';
  };
  for (const Label& label : labels) write(label);
  if (extra != nullptr) write(*extra);
  out_ += '}';
}

void PrometheusText::sample(std::string_view name, Labels labels, uint64_t value) {
  out_ += name;
  write_labels(std::span<const Label>(labels.begin(), labels.size()), nullptr);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

void PrometheusText::sample(std::string_view name, Labels labels, double value) {
  out_ += name;
  write_labels(std::span<const Label>(labels.begin(), labels.size()), nullptr);
  out_ += ' ';
  out_ += format_value(value);
  out_ += '\n';
}

void PrometheusText::histogram(std::string_view name, Labels labels,
                               std::span<const double> upper_bounds,
                               std::span<const uint64_t> counts, double sum) {
  assert(counts.size() == upper_bounds.size() + 1);
  const std::span<const Label> common(labels.begin(), labels.size());
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const std::string le = i < upper_bounds.size() ? format_value(upper_bounds[i]) : "+Inf";
    const Label le_label{"le", le};
    out_ += bucket;
    write_labels(common, &le_label);
    out_ += ' ';
    out_ += std::to_string(cumulative);
    out_ += '\n';
  }
  out_ += name;
  out_ += "_sum";
  write_labels(common, nullptr);
  out_ += ' ';
  out_ += format_value(sum);
  out_ += '\n';
  out_ += name;
  out_ += "_count";
  write_labels(common, nullptr);
  out_ += ' ';
  out_ += std::to_string(cumulative);
  out_ += '\n';
}

}  // namespace topicdb::app
