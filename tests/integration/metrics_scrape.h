// Scraping /metrics in the integration tests: a GET over a real TCP socket (raw_http.h), and a
// parser of Prometheus' text exposition format 0.0.4 written from its specification (not from the
// exporter), which fails on any line the format does not allow. Header-only.
#ifndef TOPICDB_TESTS_INTEGRATION_METRICS_SCRAPE_H_
#define TOPICDB_TESTS_INTEGRATION_METRICS_SCRAPE_H_

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/raw_http.h"

namespace topicdb::itest {

struct HttpAnswer {
  int status = 0;
  std::string head;  // status line and header fields
  std::string body;
};

inline HttpAnswer http_get(uint16_t port, const std::string& path,
                           const std::string& method = "GET") {
  std::string raw =
      http_exchange(port, method + " " + path +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: metrics_test\r\n\r\n");
  HttpAnswer a;
  size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return a;
  a.status = std::atoi(raw.c_str() + 9);
  a.head = raw.substr(0, end + 2);
  a.body = raw.substr(end + 4);
  return a;
}

// --- a parser of the text exposition format 0.0.4, written from its specification ---------

struct Exposition {
  std::map<std::string, std::string> types;  // family -> type
  std::set<std::string> helps;
  // "name{a=\"x\",b=\"y\"}" (labels sorted) -> value
  std::map<std::string, double> series;
  std::vector<std::string> sample_order;

  // The value of one series, NaN if absent.
  double get(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    auto it = series.find(key(name, labels));
    return it == series.end() ? std::nan("") : it->second;
  }
  static std::string key(const std::string& name,
                         const std::map<std::string, std::string>& labels) {
    std::string k = name + "{";
    for (const auto& [n, v] : labels) k += n + "=\"" + v + "\",";
    return k + "}";
  }
};

inline bool valid_name(const std::string& s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && std::isdigit(static_cast<unsigned char>(c)));
    if (!ok) return false;
  }
  return true;
}

inline bool parse_value(const std::string& s, double* out) {
  if (s == "+Inf") {
    *out = INFINITY;
  } else if (s == "-Inf") {
    *out = -INFINITY;
  } else if (s == "NaN") {
    *out = NAN;
  } else {
    char* end = nullptr;
    *out = std::strtod(s.c_str(), &end);
    return !s.empty() && end == s.c_str() + s.size();
  }
  return true;
}

// The family a sample belongs to: itself, or a histogram's base for _bucket/_sum/_count.
inline std::string family_of(const Exposition& e, const std::string& name) {
  if (e.types.count(name)) return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s = suffix;
    if (name.size() > s.size() && name.ends_with(s)) {
      std::string base = name.substr(0, name.size() - s.size());
      auto it = e.types.find(base);
      if (it != e.types.end() && it->second == "histogram") return base;
    }
  }
  return "";
}

inline ::testing::AssertionResult parse_exposition(const std::string& text, Exposition* e) {
  if (text.empty() || text.back() != '\n') {
    return ::testing::AssertionFailure() << "the text does not end in a newline";
  }
  std::set<std::string> families_with_samples;
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    auto fail = [&]() {
      return ::testing::AssertionFailure() << "line " << line_no << ": '" << line << "': ";
    };
    if (line.empty()) return fail() << "empty line";
    if (line[0] == '#') {
      std::istringstream in(line);
      std::string hash, kind, name;
      in >> hash >> kind >> name;
      if (hash != "#" || (kind != "HELP" && kind != "TYPE")) return fail() << "unknown comment";
      if (!valid_name(name, true)) return fail() << "bad metric name";
      std::string rest = line.substr(std::min(line.size(), 2 + kind.size() + 1 + name.size() + 1));
      if (kind == "HELP") {
        if (!e->helps.insert(name).second) return fail() << "second HELP";
        for (size_t i = 0; i < rest.size(); ++i) {
          if (rest[i] == '\\' &&
              (i + 1 >= rest.size() || (rest[i + 1] != '\\' && rest[i + 1] != 'n'))) {
            return fail() << "bad escape in HELP";
          }
          if (rest[i] == '\\') ++i;
        }
      } else {
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                     "untyped"};
        if (!kTypes.count(rest)) return fail() << "unknown type";
        if (e->types.count(name)) return fail() << "second TYPE";
        if (families_with_samples.count(name)) return fail() << "TYPE after samples";
        e->types[name] = rest;
        if (rest == "counter" && !name.ends_with("_total"))
          return fail() << "counter without _total";
      }
      continue;
    }
    // name [{labels}] value
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    std::string name = line.substr(0, i);
    if (!valid_name(name, true)) return fail() << "bad metric name";
    std::map<std::string, std::string> labels;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos) return fail() << "label without '='";
        std::string lname = line.substr(i, eq - i);
        if (!valid_name(lname, false)) return fail() << "bad label name '" << lname << "'";
        if (eq + 1 >= line.size() || line[eq + 1] != '"') return fail() << "unquoted label value";
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            if (j + 1 >= line.size()) return fail() << "dangling escape";
            char c = line[++j];
            if (c == 'n') {
              value += '\n';
            } else if (c == '\\' || c == '"') {
              value += c;
            } else {
              return fail() << "bad escape in label value";
            }
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) return fail() << "unterminated label value";
        if (!labels.emplace(lname, value).second) return fail() << "repeated label";
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return fail() << "unterminated label set";
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') return fail() << "no space before the value";
    std::string value_text = line.substr(i + 1);
    double value = 0;
    if (!parse_value(value_text, &value)) return fail() << "bad value (or a timestamp)";
    std::string family = family_of(*e, name);
    if (family.empty()) return fail() << "sample before its TYPE";
    if (!e->helps.count(family)) return fail() << "no HELP for " << family;
    families_with_samples.insert(family);
    const std::string k = Exposition::key(name, labels);
    if (!e->series.emplace(k, value).second) return fail() << "duplicate series";
    e->sample_order.push_back(k);
  }
  return ::testing::AssertionSuccess();
}

// Every histogram's buckets are cumulative and its +Inf bucket equals _count.
inline ::testing::AssertionResult check_histogram(const Exposition& e, const std::string& name) {
  double previous = 0;
  double inf = std::nan("");
  size_t buckets = 0;
  for (const std::string& k : e.sample_order) {
    if (k.rfind(name + "_bucket{", 0) != 0) continue;
    ++buckets;
    double v = e.series.at(k);
    if (v < previous) return ::testing::AssertionFailure() << k << " is below the bucket before";
    previous = v;
    if (k.find("le=\"+Inf\"") != std::string::npos) inf = v;
  }
  if (buckets < 2) return ::testing::AssertionFailure() << name << ": too few buckets";
  if (inf != e.get(name + "_count")) {
    return ::testing::AssertionFailure()
           << name << ": +Inf bucket " << inf << " != _count " << e.get(name + "_count");
  }
  if (std::isnan(e.get(name + "_sum"))) return ::testing::AssertionFailure() << "no _sum";
  return ::testing::AssertionSuccess();
}

}  // namespace topicdb::itest

#endif  // TOPICDB_TESTS_INTEGRATION_METRICS_SCRAPE_H_
