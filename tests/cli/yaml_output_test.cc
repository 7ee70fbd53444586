// -o yaml: the JSON document as YAML.

#include "cli/yaml_output.h"

#include "gtest/gtest.h"

namespace proxyctl {
namespace {

TEST(YamlOutputTest, ObjectsListsAndScalarsInBlockStyle) {
  std::optional<std::string> yaml = JsonToYaml(
      R"({"version":"3","workers":2,"delay":"0.250s","ok":true,"none":null,"ratio":0.25,)"
      R"("routes":[{"prefix":"/api/","upstreams":["a:1","b:2"]},{"prefix":"/"}],)"
      R"("faults":[],"empty":{},"odd key":"x: y"})");
  ASSERT_TRUE(yaml);
  EXPECT_EQ(*yaml,
            "delay: \"0.250s\"\n"
            "empty: {}\n"
            "faults: []\n"
            "none: null\n"
            "\"odd key\": \"x: y\"\n"
            "ok: true\n"
            "ratio: 0.25\n"
            "routes:\n"
            "  - prefix: \"/api/\"\n"
            "    upstreams:\n"
            "      - \"a:1\"\n"
            "      - \"b:2\"\n"
            "  - prefix: \"/\"\n"
            "version: \"3\"\n"
            "workers: 2\n");
}

TEST(YamlOutputTest, ATopLevelListAndNotJson) {
  EXPECT_EQ(JsonToYaml(R"([{"addr":"a","ok":true}])"), "- addr: \"a\"\n  ok: true\n");
  EXPECT_EQ(JsonToYaml("not json"), std::nullopt);
}

}  // namespace
}  // namespace proxyctl
