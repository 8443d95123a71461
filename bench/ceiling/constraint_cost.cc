// topicdb_constraint_cost: the store manager's own cost, in process and without the broker:
// the same creates through RecordWriter into an entity without constraints and into one with
// a unique and a foreign-key constraint (group-committed as the store thread does), then a
// cascade delete of one parent with --children children. Each phase is its own function, so
// `valgrind --tool=callgrind` gives its instructions (callgrind_annotate --inclusive=yes) on a
// noisy machine; the wall-clock times are printed as key=value lines.
//
//   topicdb_constraint_cost [--records N] [--group N] [--children N] [--rounds N]
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "db/constraint_admin.h"
#include "db/db_schema.h"
#include "db/record_writes.h"
#include "storage/schema_versions.h"

namespace {

using topicdb::db::Answer;
using topicdb::db::Catalog;
using topicdb::db::CreateInput;
using topicdb::db::Json;
using topicdb::db::RecordWriter;
using topicdb::db::WriteResult;

constexpr int64_t kNowMs = 1'700'000'000'000;
constexpr uint64_t kParents = 100;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The record shape of topicdb_load's db_constraints scenario (~230 bytes).
std::string make_record(uint64_t k) {
  char head[256];
  int n = std::snprintf(head, sizeof(head),
                        "{\"id\":\"r%" PRIu64 "\",\"name\":\"user-%06" PRIu64
                        "\",\"email\":\"user%06" PRIu64
                        "@example.com\",\"site\":\"site-%02d\",\"ts\":%" PRIu64
                        ",\"score\":%d,\"active\":true,\"parent_id\":\"p%" PRIu64 "\",\"bio\":\"",
                        k, k, k, static_cast<int>(k % 16), static_cast<uint64_t>(kNowMs) + k,
                        static_cast<int>(k % 1000), k % kParents);
  std::string record(head, static_cast<size_t>(n > 0 ? n : 0));
  if (record.size() + 2 < 230) record.append(230 - record.size() - 2, 'x');
  record += "\"}";
  return record;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "topicdb_constraint_cost: %s\n", what.c_str());
  std::exit(1);
}

void exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    die(std::string(sql) + ": " + sqlite3_errmsg(db));
  }
}

std::vector<CreateInput> make_inputs(uint64_t from, uint64_t count) {
  std::vector<CreateInput> inputs(count);
  for (uint64_t k = 0; k < count; ++k) {
    Answer error;
    if (!topicdb::db::check_create(Json::parse(make_record(from + k)), "", kNowMs, &inputs[k],
                                   &error)) {
      die("check_create: " + error.message);
    }
  }
  return inputs;
}

// Creates `inputs` into `entity`, `group` per transaction. Kept out of line: callgrind's
// inclusive cost of this function is the phase's instructions.
[[gnu::noinline]] void create_all(sqlite3* db, RecordWriter* writer, const char* entity,
                                  std::vector<CreateInput> inputs, uint64_t group) {
  for (size_t k = 0; k < inputs.size(); k += group) {
    exec(db, "BEGIN IMMEDIATE");
    for (size_t j = k; j < std::min(inputs.size(), k + group); ++j) {
      WriteResult out;
      if (!writer->create(db, entity, std::move(inputs[j]), "bench", kNowMs, &out).is_ok() ||
          out.answer.code != 200) {
        die("create: " + out.answer.message);
      }
    }
    exec(db, "COMMIT");
  }
}

[[gnu::noinline]] void plain_creates(sqlite3* db, RecordWriter* writer,
                                     std::vector<CreateInput> inputs, uint64_t group) {
  create_all(db, writer, "cplain", std::move(inputs), group);
}

[[gnu::noinline]] void constrained_creates(sqlite3* db, RecordWriter* writer,
                                           std::vector<CreateInput> inputs, uint64_t group) {
  create_all(db, writer, "cchild", std::move(inputs), group);
}

[[gnu::noinline]] size_t cascade_delete(sqlite3* db, RecordWriter* writer, const char* root) {
  exec(db, "BEGIN IMMEDIATE");
  WriteResult out;
  if (!writer->remove(db, "croot", root, "bench", kNowMs, &out).is_ok() || out.answer.code != 200) {
    die("cascade delete: " + out.answer.message);
  }
  exec(db, "COMMIT");
  return out.events.size();
}

void admin(sqlite3* db, Catalog* catalog, const char* entity, const char* definition) {
  exec(db, "BEGIN IMMEDIATE");
  Answer answer;
  if (!topicdb::db::add_constraint(db, catalog, entity, Json::parse(definition), kNowMs, &answer)
           .is_ok() ||
      answer.code != 200) {
    die(std::string("add constraint: ") + answer.message);
  }
  exec(db, "COMMIT");
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t records = 20'000;
  uint64_t group = 64;
  uint64_t children = 1000;
  uint64_t rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    uint64_t value = std::strtoull(argv[i + 1], nullptr, 10);
    if (key == "--records") {
      records = value;
    } else if (key == "--group") {
      group = value;
    } else if (key == "--children") {
      children = value;
    } else if (key == "--rounds") {
      rounds = value;
    } else {
      die("unknown option " + key);
    }
  }
  if (records < 2 || group == 0 || rounds == 0) die("bad --records, --group or --rounds");
  char tmpl[] = "/tmp/topicdb-constraint-cost-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) die("mkdtemp");
  std::string path = std::string(tmpl) + "/cost.sqlite3";
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) die("open");
  exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;");
  if (!topicdb::storage::migrate_schemas(db, path, {topicdb::db::db_schema()}).is_ok()) {
    die("tables");
  }
  Catalog catalog;
  RecordWriter writer(&catalog);
  if (!catalog.ensure_loaded(db).is_ok()) die("catalog");

  std::vector<CreateInput> parents;
  for (uint64_t p = 0; p < kParents; ++p) {
    parents.emplace_back();
    Answer error;
    topicdb::db::check_create(Json{{"id", "p" + std::to_string(p)}}, "", kNowMs, &parents.back(),
                              &error);
  }
  create_all(db, &writer, "cparent", std::move(parents), group);
  admin(db, &catalog, "cchild", R"({"type":"unique","name":"u_email","fields":["email"]})");
  admin(db, &catalog, "cchild",
        R"({"type":"foreign_key","name":"fk_parent","field":"parent_id",)"
        R"("target_entity":"cparent"})");

  // The two workloads alternate in halves, as the load scenario does.
  const uint64_t half = records / 2;
  double plain_s = 0;
  double constrained_s = 0;
  for (uint64_t from : {uint64_t{0}, half}) {
    auto start = std::chrono::steady_clock::now();
    plain_creates(db, &writer, make_inputs(from, half), group);
    plain_s += seconds_since(start);
    std::vector<CreateInput> inputs = make_inputs(from, half);
    start = std::chrono::steady_clock::now();
    constrained_creates(db, &writer, std::move(inputs), group);
    constrained_s += seconds_since(start);
  }
  std::printf("scenario=constraint_cost records=%" PRIu64 " group=%" PRIu64
              " plain_rate=%.0f constrained_rate=%.0f overhead_pct=%.1f\n",
              2 * half, group, 2 * half / plain_s, 2 * half / constrained_s,
              (1.0 - plain_s / constrained_s) * 100);  // as topicdb_load: 1 - rate ratio

  auto create_root = [&](const std::string& root) {
    std::vector<CreateInput> roots(1);
    Answer error;
    topicdb::db::check_create(Json{{"id", root}}, "", kNowMs, &roots[0], &error);
    create_all(db, &writer, "croot", std::move(roots), group);
  };
  create_root("root0");  // the target entity must exist before the foreign key
  admin(db, &catalog, "cleaf",
        R"({"type":"foreign_key","name":"fk_root","field":"root_id","target_entity":"croot",)"
        R"("on_delete":"cascade"})");
  for (uint64_t round = 0; round < rounds; ++round) {
    std::string root = "root" + std::to_string(round);
    if (round > 0) create_root(root);
    std::vector<CreateInput> leaves(children);
    Answer error;
    for (uint64_t k = 0; k < children; ++k) {
      topicdb::db::check_create(
          Json{{"id", root + "-l" + std::to_string(k)}, {"root_id", root}, {"n", k}}, "", kNowMs,
          &leaves[k], &error);
    }
    create_all(db, &writer, "cleaf", std::move(leaves), group);
    auto start = std::chrono::steady_clock::now();
    size_t events = cascade_delete(db, &writer, root.c_str());
    std::printf("scenario=cascade_cost children=%" PRIu64 " events=%zu ms=%.2f\n", children, events,
                seconds_since(start) * 1000);
  }
  sqlite3_close(db);
  unlink(path.c_str());
  unlink((path + "-wal").c_str());
  unlink((path + "-shm").c_str());
  rmdir(tmpl);
  return 0;
}
