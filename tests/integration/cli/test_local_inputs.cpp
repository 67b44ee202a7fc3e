// Local files as an attacker or a careless user leaves them: secrets in URLs, pipes and devices
// where a file belongs, huge files, YAML that expands or repeats itself, loose modes, forged grant
// files. Each run must end at once with a clear error (or a warning) and print no secret.
#include "process.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

using namespace oncall::test;
using namespace std::chrono_literals;

namespace {

// A run that must not hang: a short deadline, and the caller checks timed_out.
ProcessOptions quick(std::map<std::string, std::string> env = {}) {
    ProcessOptions o;
    o.env = std::move(env);
    o.unset_env = {"ONCALL_CONFIG", "ONCALL_CONTEXT", "KUBECONFIG"};
    o.timeout = 10s;
    return o;
}

std::string make_fifo(const TempDir& dir, const std::string& name) {
    const std::string path = dir.path() + "/" + name;
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    return path;
}

unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

std::string base64url(const std::string& in) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned val = 0;
    int bits = -6;
    for (const unsigned char c : in) {
        val = (val << 8) + c;
        bits += 8;
        while (bits >= 0) {
            out.push_back(k[(val >> bits) & 0x3F]);
            bits -= 6;
        }
    }
    if (bits > -6) {
        out.push_back(k[((val << 8) >> (bits + 8)) & 0x3F]);
    }
    return out;
}

} // namespace

TEST_CASE("config view and get-contexts show no credential written into a URL",
          "[cli][config][security]") {
    TempDir dir;
    const auto path = dir.write("config.yaml", R"(current-context: prod
contexts:
  prod:
    kubernetes: { server: "https://admin:kube-pass-777@10.0.0.1:6443", namespace: shop, token-env: T }
    prometheus: { url: "http://reader:prom-pass-123@prom.example:9090/?token=query-token-42" }
    alertmanager: { urls: ["https://am.example/?api_key=am-key-99", "https://u:am-pass-55@am2.example"] }
)");
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--config", path, "config", "view"},
          std::vector<std::string>{"--config", path, "-o", "json", "config", "view"},
          std::vector<std::string>{"--config", path, "config", "get-contexts"},
          std::vector<std::string>{"--config", path, "-o", "json", "config", "get-contexts"}}) {
        const auto r = run_oncall(args, quick());
        INFO(args[2] << " " << args.back() << "\n" << r.out << r.err);
        CHECK(r.exit_code == 0);
        for (const char* secret :
             {"kube-pass-777", "prom-pass-123", "query-token-42", "am-key-99", "am-pass-55"}) {
            CHECK_THAT(r.out + r.err, !Catch::Contains(secret));
        }
        CHECK_THAT(r.out, Catch::Contains("<redacted>@10.0.0.1:6443"));
    }
    const auto text = run_oncall({"--config", path, "config", "view"}, quick());
    CHECK_THAT(text.out, Catch::Contains("<redacted>@prom.example:9090/?token=<redacted>"));
    const auto json = run_oncall({"--config", path, "-o", "json", "config", "view"}, quick());
    const auto doc = nlohmann::json::parse(json.out);
    CHECK(doc["contexts"]["prod"]["alertmanager"]["urls"][0] ==
          "https://am.example/?api_key=<redacted>");
}

TEST_CASE("a pipe, a device or a huge file given as configuration or token ends at once",
          "[cli][config][security]") {
    TempDir dir;
    const auto fifo = make_fifo(dir, "fifo");
    const auto huge = dir.path() + "/huge.yaml";
    {
        const int fd = ::open(huge.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        REQUIRE(fd >= 0);
        REQUIRE(::ftruncate(fd, 100 << 20) == 0); // 100 MB (sparse)
        ::close(fd);
    }
    struct Case {
        std::string file;
        std::string expected;
    };
    for (const auto& c : {Case{fifo, "not a regular file"}, Case{"/dev/zero", "not a regular file"},
                          Case{huge, "larger than 1 MiB"}}) {
        const auto started = std::chrono::steady_clock::now();
        const auto view = run_oncall({"--config", c.file, "config", "view"}, quick());
        INFO(c.file << "\n" << view.err);
        CHECK_FALSE(view.timed_out);
        CHECK(view.exit_code == 2);
        CHECK_THAT(view.err, Catch::Contains(c.expected));
        // TAB: completion reads the same file and gives up at once (offering nothing from it).
        const auto tab = run_oncall({"__complete", "--no-descriptions", "--", "--context", ""},
                                    quick({{"ONCALL_CONFIG", c.file}}));
        CHECK_FALSE(tab.timed_out);
        CHECK(std::chrono::steady_clock::now() - started < 5s);

        // The same file as a token-file: refused before anything is sent.
        const auto config = dir.write("token-config.yaml", fmt::format(R"(current-context: local
contexts:
  local:
    kubernetes: {{ server: "http://127.0.0.1:1", namespace: shop, token-file: "{}" }}
)",
                                                                       c.file));
        const auto status = run_oncall({"--config", config, "status", "checkout"}, quick());
        INFO(status.err);
        CHECK_FALSE(status.timed_out);
        CHECK(status.exit_code == 2);
        CHECK_THAT(status.err, Catch::Contains(c.file == huge ? "larger than 64 KiB" : c.expected));
        const auto tab_services =
            run_oncall({"__complete", "--no-descriptions", "--", "status", ""},
                       quick({{"ONCALL_CONFIG", config}}));
        CHECK_FALSE(tab_services.timed_out);
    }
}

TEST_CASE("YAML aliases that explode and keys given twice are refused with their line",
          "[cli][config][security]") {
    TempDir dir;
    std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char level = 'b'; level <= 'i'; ++level) {
        const char prev = static_cast<char>(level - 1);
        bomb +=
            fmt::format("{0}: &{0} [*{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}]\n",
                        level, prev);
    }
    bomb += "current-context: local\ncontexts:\n  local:\n    kubernetes: { server: "
            "\"https://127.0.0.1:6443\" }\n";
    const auto bomb_path = dir.write("bomb.yaml", bomb);
    const auto started = std::chrono::steady_clock::now();
    for (const char* format : {"text", "json"}) {
        const auto r = run_oncall({"--config", bomb_path, "-o", format, "config", "view"}, quick());
        INFO(r.err);
        CHECK_FALSE(r.timed_out);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains("bomb.yaml:") && Catch::Contains("aliases expand"));
    }
    CHECK(std::chrono::steady_clock::now() - started < 5s);

    const auto dup_context = dir.write("dup.yaml", R"(current-context: one
contexts:
  one:
    kubernetes: { server: "https://127.0.0.1:6443" }
  one:
    kubernetes: { server: "https://10.9.9.9:6443" }
)");
    auto r = run_oncall({"--config", dup_context, "config", "view"}, quick());
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("dup.yaml:5:") && Catch::Contains("'one' appears twice"));
    const auto dup_top = dir.write("dup-top.yaml", R"(current-context: one
contexts:
  one:
    kubernetes: { server: "https://127.0.0.1:6443", server: "https://10.9.9.9:6443" }
current-context: two
)");
    r = run_oncall({"--config", dup_top, "-o", "json", "config", "view"}, quick());
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err,
               Catch::Contains("dup-top.yaml:4:") && Catch::Contains("'server' appears twice"));
    CHECK(r.out.empty());
}

TEST_CASE("with umask 000 the first TAB creates private state folders", "[cli][security]") {
    TempDir dir;
    const auto config = dir.write("config.yaml", R"(current-context: local
contexts:
  local:
    kubernetes: { server: "http://127.0.0.1:1", namespace: shop }
)");
    const std::string state = dir.path() + "/state";
    auto options = quick({{"ONCALL_CONFIG", config}, {"XDG_STATE_HOME", state}});
    const auto r = run_process(
        {"sh", "-c", "umask 000; exec \"$ONCALL_BIN\" __complete -- status ''"}, options);
    INFO(r.err);
    CHECK_FALSE(r.timed_out);
    REQUIRE(::access((state + "/oncall").c_str(), F_OK) == 0); // the completion cache's folder
    CHECK(mode_of(state) == 0700);
    CHECK(mode_of(state + "/oncall") == 0700);
}

TEST_CASE("credentials in clear text or in files others can read", "[cli][security]") {
    TempDir dir;
    auto config_for = [&](const std::string& server) {
        return dir.write("config.yaml", fmt::format(R"(current-context: local
contexts:
  local:
    kubernetes: {{ server: "{}", namespace: shop, token-env: K8S_TOKEN }}
)",
                                                    server));
    };
    const auto env = std::map<std::string, std::string>{{"K8S_TOKEN", "clear-text-token-1"}};
    // 0.0.0.0 reaches this machine but is not a loopback name: the token would cross a network.
    auto r =
        run_oncall({"--config", config_for("http://0.0.0.0:1"), "status", "checkout"}, quick(env));
    CHECK_FALSE(r.timed_out);
    CHECK_THAT(r.err,
               Catch::Contains("warning: a credential is being sent in clear text over http://"));
    CHECK_THAT(r.err, !Catch::Contains("clear-text-token-1"));
    r = run_oncall({"--config", config_for("http://0.0.0.0:1"), "-q", "status", "checkout"},
                   quick(env));
    CHECK_THAT(r.err, !Catch::Contains("clear text"));
    r = run_oncall({"--config", config_for("http://127.0.0.1:1"), "status", "checkout"},
                   quick(env));
    CHECK_THAT(r.err, !Catch::Contains("clear text"));

    // A token file others can read is refused like a token in a world-readable configuration.
    const auto token = dir.write("token", "file-token-2\n", 0644);
    const auto with_file = dir.write("file.yaml", fmt::format(R"(current-context: local
contexts:
  local:
    kubernetes: {{ server: "http://127.0.0.1:1", namespace: shop, token-file: "{}" }}
)",
                                                              token));
    r = run_oncall({"--config", with_file, "status", "checkout"}, quick());
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("chmod 600 " + token));
    // So is a kubeconfig that holds a token by value.
    const auto kubeconfig = dir.write("kubeconfig", R"(apiVersion: v1
kind: Config
current-context: k
clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: u, user: {token: inline-token-3}}]
contexts: [{name: k, context: {cluster: c, user: u, namespace: shop}}]
)",
                                      0644);
    const auto with_kubeconfig = dir.write("kube.yaml", fmt::format(R"(current-context: local
contexts:
  local:
    kubernetes: {{ kubeconfig: "{}" }}
)",
                                                                    kubeconfig));
    r = run_oncall({"--config", with_kubeconfig, "status", "checkout"}, quick());
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("chmod 600 " + kubeconfig));
    CHECK_THAT(r.err, !Catch::Contains("inline-token-3"));
    ::chmod(kubeconfig.c_str(), 0600);
    r = run_oncall({"--config", with_kubeconfig, "status", "checkout"}, quick());
    CHECK(r.exit_code == 3); // nothing listens there: now it is only unreachable
}

TEST_CASE("access list shows the token's own expiry, not a forged one", "[cli][access][security]") {
    TempDir dir;
    const auto config = dir.write("config.yaml", R"(current-context: local
contexts:
  local:
    kubernetes: { server: "https://127.0.0.1:6443", namespace: shop, token-env: T }
)");
    const std::string grants = dir.path() + "/state/oncall/grants";
    REQUIRE(::mkdir((dir.path() + "/state").c_str(), 0700) == 0);
    REQUIRE(::mkdir((dir.path() + "/state/oncall").c_str(), 0700) == 0);
    REQUIRE(::mkdir(grants.c_str(), 0700) == 0);
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    // The token the server minted says 10 minutes; the file was edited to say 30 days.
    const std::string token =
        base64url(R"({"alg":"RS256"})") + "." +
        base64url(fmt::format(R"({{"exp":{},"iat":{}}})", now_s + 600, now_s)) + ".sig";
    const nlohmann::json grant = {{"version", 2},
                                  {"context", "local"},
                                  {"server", "https://127.0.0.1:6443"},
                                  {"server_identity", "system-roots"},
                                  {"service", "checkout"},
                                  {"namespace", "shop"},
                                  {"role", "deployer"},
                                  {"service_account", "oncall-deployer"},
                                  {"grant", "abcdefghij"},
                                  {"secret", "oncall-grant-abcdefghij"},
                                  {"secret_uid", "u1"},
                                  {"requester", "alice"},
                                  {"reason", "checkout errors since revision 3"},
                                  {"ticket", ""},
                                  {"issued_at", "2020-01-01T00:00:00Z"},
                                  {"expires_at", "2099-01-01T00:00:00Z"},
                                  {"token", token}};
    {
        const std::string path = grants + "/local.checkout.deployer.json";
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
        REQUIRE(fd >= 0);
        const std::string text = grant.dump();
        REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
        ::close(fd);
    }
    const auto env = std::map<std::string, std::string>{{"ONCALL_CONFIG", config},
                                                        {"XDG_STATE_HOME", dir.path() + "/state"}};
    const auto json = run_oncall({"-o", "json", "access", "list"}, quick(env));
    INFO(json.err);
    REQUIRE(json.exit_code == 0);
    const auto doc = nlohmann::json::parse(json.out);
    REQUIRE(doc["grants"].size() == 1);
    CHECK(doc["grants"][0]["expires_at"].get<std::string>().rfind("2099", 0) != 0);
    CHECK(doc["grants"][0]["time_left_seconds"].get<long long>() <= 600);
    CHECK_THAT(json.err, Catch::Contains("claims it expires at 2099-01-01"));
    const auto text = run_oncall({"access", "list"}, quick(env));
    CHECK_THAT(text.out, !Catch::Contains("2099"));
    CHECK_THAT(text.out, Catch::Contains(" left"));
    CHECK_THAT(text.out + text.err, !Catch::Contains(token));
}
