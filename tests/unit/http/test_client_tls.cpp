// Client certificates (files and in-memory PEM), CA data in memory, a TLS server name other than
// the URL's host, and an explicit proxy, against local servers with a throwaway PKI.

#include "fault_proxy.h"
#include "oncall/http/client.h"
#include "process.h"
#include "test_server.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <mutex>
#include <sstream>

using namespace oncall;
using namespace oncall::http;
using namespace oncall::test;
using namespace std::chrono_literals;

namespace {

ClientOptions tls_options() {
    ClientOptions o;
    o.name = "kubernetes";
    o.connect_timeout = 2s;
    o.total_timeout = 5s;
    o.retry = RetryPolicy::none();
    return o;
}

Request tls_get(const std::string& url) {
    Request r;
    r.url = url;
    return r;
}

std::string read_pem(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A server that requires a client certificate signed by its PKI's CA and echoes the subject.
struct MutualTlsServer {
    TempDir dir;
    TestPki pki = make_test_pki(dir.path());
    TestServer server{TestServer::Tls{pki.cert_file, pki.key_file}, pki.ca_file};

    MutualTlsServer() {
        server.on("GET", "/whoami",
                  [](const httplib::Request&, httplib::Response& res, std::size_t) {
                      res.set_content("ok", "text/plain");
                  });
        server.start();
    }
};

} // namespace

TEST_CASE("a client certificate from files or from PEM text is presented to the server",
          "[http][client][tls][mtls]") {
    MutualTlsServer s;
    const TestClientCert alice =
        make_test_client_cert(s.dir.path(), "alice", {"engineers", "oncall"});
    const std::string url = s.server.url("/whoami");

    SECTION("files") {
        auto o = tls_options();
        o.tls.ca_file = s.pki.ca_file;
        o.tls.client_cert_file = alice.cert_file;
        o.tls.client_key_file = alice.key_file;
        auto r = Client(o).perform(tls_get(url));
        REQUIRE(r.ok());
        CHECK(r->status == 200);
        REQUIRE(s.server.request_count() == 1);
        const std::string subject = s.server.requests().front().client_subject;
        CHECK(subject.find("CN=alice") != std::string::npos);
        CHECK(subject.find("O=engineers") != std::string::npos);
    }
    SECTION("PEM text, CA included") {
        auto o = tls_options();
        o.tls.ca_pem = read_pem(s.pki.ca_file);
        o.tls.client_cert_pem = read_pem(alice.cert_file);
        o.tls.client_key_pem = read_pem(alice.key_file);
        REQUIRE(o.tls.has_client_certificate());
        auto r = Client(o).perform(tls_get(url));
        REQUIRE(r.ok());
        CHECK(r->status == 200);
        CHECK(s.server.requests().front().client_subject.find("CN=alice") != std::string::npos);
    }
    SECTION("PEM text wins over a file") {
        auto o = tls_options();
        o.tls.ca_file = s.dir.path() + "/missing-ca.pem";
        o.tls.ca_pem = read_pem(s.pki.ca_file);
        o.tls.client_cert_file = s.dir.path() + "/missing.pem";
        o.tls.client_cert_pem = read_pem(alice.cert_file);
        o.tls.client_key_file = s.dir.path() + "/missing.key";
        o.tls.client_key_pem = read_pem(alice.key_file);
        auto r = Client(o).perform(tls_get(url));
        REQUIRE(r.ok());
    }
    SECTION("without a certificate the server refuses the connection") {
        auto o = tls_options();
        o.tls.ca_file = s.pki.ca_file;
        auto r = Client(o).perform(tls_get(url));
        REQUIRE_FALSE(r.ok());
        CHECK(s.server.request_count() == 0);
    }
    SECTION("a certificate from another CA is refused") {
        TempDir other;
        make_test_pki(other.path());
        const TestClientCert mallory = make_test_client_cert(other.path(), "mallory");
        auto o = tls_options();
        o.tls.ca_file = s.pki.ca_file;
        o.tls.client_cert_file = mallory.cert_file;
        o.tls.client_key_file = mallory.key_file;
        auto r = Client(o).perform(tls_get(url));
        REQUIRE_FALSE(r.ok());
        CHECK(s.server.request_count() == 0);
    }
}

TEST_CASE("a key that does not match its certificate is a TLS error that never quotes the key",
          "[http][client][tls][mtls][secrets]") {
    MutualTlsServer s;
    const TestClientCert alice = make_test_client_cert(s.dir.path(), "alice");
    const TestClientCert bob = make_test_client_cert(s.dir.path(), "bob");
    const std::string key = read_pem(bob.key_file);
    std::vector<std::string> lines;
    std::mutex mutex;
    auto o = tls_options();
    o.tls.ca_file = s.pki.ca_file;
    o.tls.client_cert_pem = read_pem(alice.cert_file);
    o.tls.client_key_pem = key;
    o.log = [&](std::string_view line) {
        std::lock_guard lock(mutex);
        lines.emplace_back(line);
    };
    auto r = Client(o).perform(tls_get(s.server.url("/whoami")));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::tls);
    CHECK(r.error().message.find("client certificate") != std::string::npos);
    // Neither the whole key nor its base64 body appears anywhere.
    const std::string body_line = key.substr(key.find('\n') + 1, 40);
    CHECK(r.error().message.find(body_line) == std::string::npos);
    for (const auto& line : lines) {
        CHECK(line.find(body_line) == std::string::npos);
    }
    CHECK(s.server.request_count() == 0);
}

TEST_CASE("CA data in memory verifies the server, and CA data of another CA is a TLS error",
          "[http][client][tls]") {
    TempDir dir;
    const TestPki pki = make_test_pki(dir.path());
    TestServer server(TestServer::Tls{pki.cert_file, pki.key_file});
    server.on("GET", "/x", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.set_content("x", "text/plain");
    });
    server.start();
    auto o = tls_options();
    o.tls.ca_pem = read_pem(pki.ca_file);
    REQUIRE(Client(o).perform(tls_get(server.url("/x"))).ok());

    TempDir other;
    const TestPki stranger = make_test_pki(other.path());
    o.tls.ca_pem = read_pem(stranger.ca_file);
    auto r = Client(o).perform(tls_get(server.url("/x")));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::tls);
}

TEST_CASE("tls server_name: the certificate is checked against it, the Host header keeps the URL's",
          "[http][client][tls]") {
    TempDir dir;
    const TestPki pki = make_test_pki(dir.path(), {"kube.internal"});
    TestServer server(TestServer::Tls{pki.cert_file, pki.key_file});
    server.on("GET", "/version",
              [](const httplib::Request& req, httplib::Response& res, std::size_t) {
                  res.set_content(req.get_header_value("Host"), "text/plain");
              });
    server.start();
    const std::string url = server.url("/version");
    auto o = tls_options();
    o.tls.ca_file = pki.ca_file;

    SECTION("without it the host 127.0.0.1 does not match the certificate") {
        auto r = Client(o).perform(tls_get(url));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::tls);
    }
    SECTION("with it the request goes to the URL's address and succeeds") {
        o.tls.server_name = "kube.internal";
        auto r = Client(o).perform(tls_get(url));
        REQUIRE(r.ok());
        CHECK(r->body == "127.0.0.1:" + std::to_string(server.port()));
        CHECK(r->url == url);
        // a second request on the pooled handle, and in a batch
        auto all = Client(o).perform_all({tls_get(url), tls_get(url)});
        REQUIRE(all.size() == 2);
        CHECK(all[0].ok());
        CHECK(all[1].ok());
    }
    SECTION("a wrong name still fails") {
        o.tls.server_name = "other.internal";
        auto r = Client(o).perform(tls_get(url));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::tls);
    }
}

TEST_CASE("a socks5 proxy-url tunnels TLS to the server, the proxy resolving its name",
          "[http][client][proxy]") {
    TempDir dir;
    const TestPki pki = make_test_pki(dir.path(), {"localhost"});
    TestServer server(TestServer::Tls{pki.cert_file, pki.key_file});
    server.on("GET", "/version", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.set_content("through socks", "text/plain");
    });
    server.start();
    FaultProxy proxy(FaultProxy::Options{});
    auto o = tls_options();
    o.tls.ca_file = pki.ca_file;
    o.proxy_url = proxy.socks5_url();
    const std::string authority = "localhost:" + std::to_string(server.port());
    auto r = Client(o).perform(tls_get("https://" + authority + "/version"));
    REQUIRE(r.ok());
    CHECK(r->body == "through socks");
    const auto seen = proxy.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "SOCKS5");
    CHECK(seen[0].target == authority); // a name, not an address: kubectl's socks5 resolves there
    CHECK(server.request_count() == 1);

    SECTION("a socks5 proxy that is not listening is a connection error, nothing reaches the "
            "server") {
        {
            FaultProxy gone(FaultProxy::Options{});
            o.proxy_url = gone.socks5_url();
        }
        auto refused = Client(o).perform(tls_get("https://" + authority + "/version"));
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().code == Errc::connect);
        CHECK_THAT(refused.error().message, Catch::Contains("could not connect to the proxy"));
        CHECK(server.request_count() == 1);
    }
    SECTION("a proxy that cannot reach the server says so") {
        auto unreachable = Client(o).perform(tls_get("https://localhost:1/version"));
        REQUIRE_FALSE(unreachable.ok());
        CHECK_THAT(unreachable.error().message,
                   Catch::Contains("the proxy " + proxy.socks5_url() + " could not reach"));
    }
}

TEST_CASE("proxy_url sends every request through the proxy, ignoring no_proxy",
          "[http][client][proxy]") {
    TestServer origin;
    origin.on("GET", "/metrics", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.set_content("through", "text/plain");
    });
    origin.start();
    FaultProxy proxy(FaultProxy::Options{});

    ScopedEnv no_proxy("no_proxy", "127.0.0.1,localhost");
    auto o = tls_options();
    o.proxy_url = proxy.url();
    auto r = Client(o).perform(tls_get(origin.url("/metrics")));
    REQUIRE(r.ok());
    CHECK(r->body == "through");
    REQUIRE(proxy.request_count() == 1);
    CHECK(origin.request_count() == 1);

    SECTION("an unsupported scheme is refused before anything is sent") {
        o.proxy_url = "ftp://user:hunter2@127.0.0.1:1";
        auto bad = Client(o).perform(tls_get(origin.url("/metrics")));
        REQUIRE_FALSE(bad.ok());
        CHECK(bad.error().code == Errc::invalid);
        CHECK(bad.error().message.find("proxy-url") != std::string::npos);
        CHECK(bad.error().message.find("hunter2") == std::string::npos);
        CHECK(origin.request_count() == 1);
    }
}
