#pragma once
// A local HTTP(S) server for tests: cpp-httplib on 127.0.0.1 and a free port, every request
// recorded with its start and end time (steady clock) and the number of requests in flight at once.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <httplib.h>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace oncall::test {

using SteadyTime = std::chrono::steady_clock::time_point;

/// One request as the server saw it.
struct RecordedRequest {
    std::string method;
    std::string path;       // without the query
    httplib::Params params; // decoded query (and form) parameters
    httplib::Headers headers;
    std::string body;
    std::string
        client_subject;  // subject of the client's TLS certificate ("CN=...,O=..."), "" for none
    SteadyTime started;  // when the handler began
    SteadyTime finished; // when the handler returned

    /// Header value, or "" when absent.
    std::string header(const std::string& name) const;
};

/// Handler of one route: the index of the request (0-based, over all routes) is given for
/// scripted sequences ("first 503, then 200").
using TestHandler =
    std::function<void(const httplib::Request&, httplib::Response&, std::size_t index)>;

class TestServer {
public:
    /// TLS certificate and key files; empty for plain HTTP.
    struct Tls {
        std::string cert_file;
        std::string key_file;
    };

    TestServer();
    /// With a `client_ca_file`, a client certificate signed by that CA is required (mutual TLS).
    explicit TestServer(const Tls& tls, const std::string& client_ca_file = {});
    ~TestServer();
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    /// Registers a handler for METHOD on a path pattern (httplib regex); call before start().
    TestServer& on(const std::string& method, const std::string& pattern, TestHandler handler);

    /// Binds 127.0.0.1 on a free port and serves on a background thread; throws on failure.
    void start();
    /// Stops serving and wakes every handler waiting in sleep()/barrier(); called by the
    /// destructor.
    void stop();

    int port() const { return m_port; }
    /// "http://127.0.0.1:PORT" + path (https for a TLS server).
    std::string url(std::string_view path = "") const;

    /// Requests recorded so far, in the order their handlers started.
    std::vector<RecordedRequest> requests() const;
    std::size_t request_count() const;
    /// Most requests whose handlers were running at the same moment.
    int max_in_flight() const { return m_max_in_flight.load(); }

    /// For handlers: waits `duration` unless the server stops first; false when stopped.
    bool sleep(std::chrono::milliseconds duration);
    /// For handlers: waits until `count` handlers have been in flight at once (or `limit` passes,
    /// or the server stops); true when the count was reached. Proves concurrency without timing.
    bool barrier(int count, std::chrono::milliseconds limit);

    httplib::Server& raw() { return *m_server; }

private:
    std::unique_ptr<httplib::Server> m_server;
    std::thread m_thread;
    int m_port = 0;
    bool m_tls = false;
    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<RecordedRequest> m_requests;
    std::size_t m_next_index = 0;
    int m_in_flight = 0;
    std::atomic<int> m_max_in_flight{0};
    bool m_stopping = false;
};

/// Files of a throwaway PKI made with the openssl command: a CA and a server certificate for
/// `hosts`.
struct TestPki {
    std::string ca_file;   // CA certificate (PEM)
    std::string cert_file; // server certificate signed by the CA (PEM)
    std::string key_file;  // server key (PEM)
};

/// Creates a CA and a server certificate valid for the given hosts (IP addresses or DNS names)
/// in `dir` (an already expired one when `expired`); throws std::runtime_error when openssl fails.
TestPki make_test_pki(const std::string& dir,
                      const std::vector<std::string>& hosts = {"127.0.0.1", "localhost"},
                      bool expired = false);

/// A client certificate for mutual TLS, signed by the CA of a TestPki made in the same `dir`.
struct TestClientCert {
    std::string cert_file;
    std::string key_file;
};

/// Creates a client certificate (subject CN=`common_name`, one O= per entry of `organizations`,
/// extendedKeyUsage clientAuth) signed by the CA that make_test_pki left in `pki_dir`.
TestClientCert make_test_client_cert(const std::string& pki_dir, const std::string& common_name,
                                     const std::vector<std::string>& organizations = {});

/// Milliseconds between two recorded times.
inline long long millis_between(SteadyTime from, SteadyTime to) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

} // namespace oncall::test
