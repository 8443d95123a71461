// MQTT.js (npm's browser bundle) in Debian's headless Chromium against the real broker over
// ws://: the page browser/mqtt_page.html subscribes, publishes, gets its own message back and
// creates and reads a $DB record with MQTT 5 request/response, then writes the outcome into
// its DOM, which the test reads.
//
// Why the DevTools protocol and not `chromium --dump-dom`: --dump-dom dumps at the load
// event, before any WebSocket answer (measured: "pending"); --timeout does not delay it; and
// --virtual-time-budget runs the page's timers ahead of the real socket (measured: the
// page's own timeouts fired first). So the test polls the DOM over --remote-debugging-pipe.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/broker_process.h"
#include "tests/integration/db_client.h"
#include "tests/integration/headless_chromium.h"
#include "tests/integration/layered_listeners.h"
#include "tests/integration/paho_client.h"

namespace topicdb::itest {
namespace {

using Json = nlohmann::json;

constexpr char kPageDir[] = BROWSER_PAGE_DIR;
// The first start of a profile on this 2-core machine took up to 10 s under load.
constexpr milliseconds kChromiumTimeout{60000};

// The text of <pre id="result"> in serialized HTML, with the serializer's escapes undone.
std::string result_text(const std::string& html) {
  const std::string open = "<pre id=\"result\">";
  size_t start = html.find(open);
  if (start == std::string::npos) return "";
  start += open.size();
  size_t end = html.find("</pre>", start);
  std::string text = html.substr(start, end == std::string::npos ? end : end - start);
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 5, "&amp;") == 0) {
      out += '&';
      i += 4;
    } else if (text.compare(i, 4, "&lt;") == 0) {
      out += '<';
      i += 3;
    } else if (text.compare(i, 4, "&gt;") == 0) {
      out += '>';
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

TEST(BrowserTest, MqttJsInHeadlessChromiumPubSubAndDbRecord) {
  // No skip: a machine without them fails here, and scripts/install-deps.sh --tests installs
  // both (Debian's chromium; mqtt from npm into tests/integration/browser/node_modules).
  ASSERT_EQ(::access(CHROMIUM, X_OK), 0)
      << "chromium not found (" << CHROMIUM << "): run scripts/install-deps.sh --tests";
  const std::string page_dir = kPageDir;
  ASSERT_TRUE(std::filesystem::exists(page_dir + "/node_modules/mqtt/dist/mqtt.min.js"))
      << "MQTT.js is not installed in " << page_dir << ": run scripts/install-deps.sh --tests";

  TempDir dir;
  BrokerProcess broker;
  ASSERT_TRUE(broker.start(dir.path(), {"--listen-ws", "127.0.0.1:0", "--sys-interval", "0"}));
  const uint16_t ws_port = ready_port(broker.ready_line(), "ws");
  ASSERT_NE(ws_port, 0) << broker.ready_line();
  // A plain-TCP client sees what the browser publishes: one topic tree for both transports.
  PahoClient watcher(broker.port(), "tcp-watcher");
  ASSERT_TRUE(watcher.connect());
  ASSERT_TRUE(watcher.subscribe("browser/+/echo", 1));

  HeadlessChromium chromium;
  const std::string url = "file://" + page_dir + "/mqtt_page.html?port=" + std::to_string(ws_port);
  ASSERT_TRUE(chromium.start(CHROMIUM, url, kChromiumTimeout));

  std::string error;
  std::string state = "pending";
  ASSERT_TRUE(wait_until(
      [&] {
        auto value = chromium.evaluate("document.getElementById('result')?.textContent",
                                       milliseconds(5000), &error);
        if (value && value->is_string()) state = value->get<std::string>();
        return state != "pending";
      },
      kChromiumTimeout, milliseconds(200)))
      << "the page wrote no result: " << error << "\n"
      << chromium.log_tail() << broker.stderr_tail();
  auto dom = chromium.evaluate("document.documentElement.outerHTML", milliseconds(5000), &error);
  ASSERT_TRUE(dom && dom->is_string()) << error;
  Json result = Json::parse(result_text(dom->get<std::string>()), nullptr, false);
  ASSERT_TRUE(result.is_object()) << dom->get<std::string>();
  ASSERT_EQ(result.value("ok", false), true) << result.dump() << "\n" << broker.stderr_tail();

  EXPECT_EQ(result["echo"], "hello from chromium");
  EXPECT_NE(result["user_agent"].get<std::string>().find("HeadlessChrome"), std::string::npos)
      << result["user_agent"];
  const Json& read = result["read"];
  ASSERT_TRUE(read["id"].is_string()) << result.dump();
  EXPECT_EQ(read["id"], result["created_id"]);
  EXPECT_EQ(read["title"], "written by chromium");
  EXPECT_EQ(read["n"], 16);
  EXPECT_EQ(read["_version"], 1);

  auto seen = watcher.receive(milliseconds(5000));
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->get_payload_str(), "hello from chromium");

  // The record is in the broker's store, not only in the browser's answer.
  db::DbClient reader(broker.port(), "tcp-reader");
  ASSERT_TRUE(reader.connect());
  Json stored = reader.request("$DB/notes/" + read["id"].get<std::string>(), "{}");
  ASSERT_TRUE(db::is_ok(stored));
  EXPECT_EQ(stored["data"]["title"], "written by chromium");

  EXPECT_TRUE(chromium.stop()) << "a Chromium process outlived the kill of its group";
  EXPECT_TRUE(broker.running());
}

}  // namespace
}  // namespace topicdb::itest
