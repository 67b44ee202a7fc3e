// Local test server and throwaway PKI.

#include "test_server.h"

#include "process.h"

#include <arpa/inet.h>
#include <cctype>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>

namespace oncall::test {

std::string RecordedRequest::header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

namespace {

// "CN=...,O=..." of the client certificate of a TLS request, "" for none.
std::string peer_subject(const httplib::Request& req) {
    if (req.ssl == nullptr) {
        return {};
    }
    X509* cert = SSL_get1_peer_certificate(req.ssl);
    if (cert == nullptr) {
        return {};
    }
    std::string out;
    BIO* bio = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    X509_free(cert);
    return out;
}

} // namespace

TestServer::TestServer() : m_server(std::make_unique<httplib::Server>()) {
    m_server->new_task_queue = [] { return new httplib::ThreadPool(48); };
    m_server->set_tcp_nodelay(true); // else Nagle and delayed ACKs add ~40 ms to every response
}

TestServer::TestServer(const Tls& tls, const std::string& client_ca_file)
    : m_server(std::make_unique<httplib::SSLServer>(
          tls.cert_file.c_str(), tls.key_file.c_str(),
          client_ca_file.empty() ? nullptr : client_ca_file.c_str())),
      m_tls(true) {
    if (!m_server->is_valid()) {
        throw std::runtime_error("TestServer: cannot load the TLS certificate " + tls.cert_file);
    }
    m_server->new_task_queue = [] { return new httplib::ThreadPool(48); };
    m_server->set_tcp_nodelay(true); // else Nagle and delayed ACKs add ~40 ms to every response
}

TestServer::~TestServer() {
    stop();
}

TestServer& TestServer::on(const std::string& method, const std::string& pattern,
                           TestHandler handler) {
    auto wrapped = [this, handler = std::move(handler)](const httplib::Request& req,
                                                        httplib::Response& res) {
        std::size_t index = 0;
        std::size_t slot = 0;
        {
            std::lock_guard lock(m_mutex);
            index = m_next_index++;
            RecordedRequest record;
            record.method = req.method;
            record.path = req.path;
            record.params = req.params;
            record.headers = req.headers;
            record.body = req.body;
            record.client_subject = peer_subject(req);
            record.started = std::chrono::steady_clock::now();
            slot = m_requests.size();
            m_requests.push_back(std::move(record));
            ++m_in_flight;
            if (m_in_flight > m_max_in_flight.load()) {
                m_max_in_flight = m_in_flight;
            }
        }
        m_changed.notify_all();
        handler(req, res, index);
        {
            std::lock_guard lock(m_mutex);
            m_requests[slot].finished = std::chrono::steady_clock::now();
            --m_in_flight;
        }
        m_changed.notify_all();
    };
    if (method == "GET") {
        m_server->Get(pattern, wrapped);
    } else if (method == "POST") {
        m_server->Post(pattern, wrapped);
    } else if (method == "PUT") {
        m_server->Put(pattern, wrapped);
    } else if (method == "PATCH") {
        m_server->Patch(pattern, wrapped);
    } else if (method == "DELETE") {
        m_server->Delete(pattern, wrapped);
    } else if (method == "OPTIONS") {
        m_server->Options(pattern, wrapped);
    } else {
        throw std::invalid_argument("TestServer: unsupported method " + method);
    }
    return *this;
}

namespace {

// cpp-httplib listens with a backlog of 5 (fixed when the library was built): a burst of
// concurrent connections overflows it and the kernel drops SYNs, which clients retry after a
// second. Raise the backlog of our listening socket (listen() again updates it on Linux).
void raise_backlog(int port) {
    for (int fd = 3; fd < 4096; ++fd) {
        sockaddr_in address{};
        socklen_t length = sizeof address;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
            address.sin_family != AF_INET || ntohs(address.sin_port) != port) {
            continue;
        }
        int listening = 0;
        socklen_t size = sizeof listening;
        if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0 && listening != 0) {
            ::listen(fd, 256);
            return;
        }
    }
}

} // namespace

void TestServer::start() {
    m_port = m_server->bind_to_any_port("127.0.0.1");
    if (m_port <= 0) {
        throw std::runtime_error("TestServer: cannot bind 127.0.0.1");
    }
    raise_backlog(m_port);
    m_thread = std::thread([this] { m_server->listen_after_bind(); });
    for (int i = 0; i < 500 && !m_server->is_running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void TestServer::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_changed.notify_all();
    if (m_thread.joinable()) {
        m_server->stop();
        m_thread.join();
    }
}

std::string TestServer::url(std::string_view path) const {
    return (m_tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(m_port) +
           std::string(path);
}

std::vector<RecordedRequest> TestServer::requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
}

std::size_t TestServer::request_count() const {
    std::lock_guard lock(m_mutex);
    return m_requests.size();
}

bool TestServer::sleep(std::chrono::milliseconds duration) {
    std::unique_lock lock(m_mutex);
    return !m_changed.wait_for(lock, duration, [this] { return m_stopping; });
}

bool TestServer::barrier(int count, std::chrono::milliseconds limit) {
    std::unique_lock lock(m_mutex);
    // The peak is sticky, so every waiter is released once the count has been reached, even after
    // the first released handler has returned.
    m_changed.wait_for(lock, limit, [&] { return m_stopping || m_max_in_flight.load() >= count; });
    return m_max_in_flight.load() >= count;
}

TestPki make_test_pki(const std::string& dir, const std::vector<std::string>& hosts, bool expired) {
    auto run = [](const std::vector<std::string>& argv) {
        const ProcessResult r = run_process(argv);
        if (r.exit_code != 0) {
            throw std::runtime_error("openssl failed: " + r.err);
        }
    };
    TestPki pki{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
    const std::string ca_key = dir + "/ca.key";
    const std::string csr = dir + "/server.csr";
    const std::string ext = dir + "/server.ext";
    std::string san = "subjectAltName=";
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        const bool ip = hosts[i].find_first_not_of("0123456789.") == std::string::npos ||
                        hosts[i].find(':') != std::string::npos;
        san += (i > 0 ? "," : "") + std::string(ip ? "IP:" : "DNS:") + hosts[i];
    }
    {
        std::FILE* f = std::fopen(ext.c_str(), "w");
        if (f == nullptr) {
            throw std::runtime_error("cannot write " + ext);
        }
        std::fprintf(f,
                     "%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                     "extendedKeyUsage=serverAuth\n",
                     san.c_str());
        std::fclose(f);
    }
    run({"openssl",
         "req",
         "-x509",
         "-newkey",
         "ec",
         "-pkeyopt",
         "ec_paramgen_curve:prime256v1",
         "-nodes",
         "-keyout",
         ca_key,
         "-out",
         pki.ca_file,
         "-days",
         "2",
         "-subj",
         "/CN=oncall test CA",
         "-addext",
         "basicConstraints=critical,CA:TRUE",
         "-addext",
         "keyUsage=critical,keyCertSign,cRLSign"});
    run({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", pki.key_file, "-out", csr, "-subj",
         "/CN=" + (hosts.empty() ? std::string("localhost") : hosts.front())});
    run({"openssl", "x509", "-req", "-in", csr, "-CA", pki.ca_file, "-CAkey", ca_key,
         "-CAcreateserial", "-out", pki.cert_file, "-days", expired ? "-1" : "2", "-extfile", ext});
    return pki;
}

TestClientCert make_test_client_cert(const std::string& pki_dir, const std::string& common_name,
                                     const std::vector<std::string>& organizations) {
    auto run = [](const std::vector<std::string>& argv) {
        const ProcessResult r = run_process(argv);
        if (r.exit_code != 0) {
            throw std::runtime_error("openssl failed: " + r.err);
        }
    };
    std::string stem;
    for (char c : common_name) {
        stem += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '-';
    }
    TestClientCert out{pki_dir + "/client-" + stem + ".pem", pki_dir + "/client-" + stem + ".key"};
    const std::string csr = pki_dir + "/client-" + stem + ".csr";
    const std::string ext = pki_dir + "/client.ext";
    {
        std::FILE* f = std::fopen(ext.c_str(), "w");
        if (f == nullptr) {
            throw std::runtime_error("cannot write " + ext);
        }
        std::fprintf(
            f,
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n");
        std::fclose(f);
    }
    std::string subject;
    for (const auto& o : organizations) {
        subject += "/O=" + o;
    }
    subject += "/CN=" + common_name;
    run({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", out.key_file, "-out", csr, "-subj", subject});
    run({"openssl", "x509", "-req", "-in", csr, "-CA", pki_dir + "/ca.pem", "-CAkey",
         pki_dir + "/ca.key", "-CAcreateserial", "-out", out.cert_file, "-days", "2", "-extfile",
         ext});
    return out;
}

} // namespace oncall::test
