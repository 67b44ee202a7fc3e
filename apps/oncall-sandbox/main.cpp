// oncall-sandbox: a practice cluster. `serve` runs the simulated Kubernetes API (with its rollout
// controller and the workload's /metrics); the world's helper subcommands (backfill, images) come
// from world.cpp.

#include "api_server.h"
#include "auth.h"
#include "controller.h"
#include "objects.h"
#include "oncall/core/duration.h"
#include "oncall/core/time.h"
#include "scenario.h"
#include "store.h"
#include "workload.h"
#include "world.h"

#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <httplib.h>
#include <memory>
#include <pthread.h>
#include <thread>
#include <unistd.h>

namespace {

struct ServeOptions {
    std::string scenario;
    std::string state_dir;
    std::string registry_url;
    std::string listen = "127.0.0.1";
    int port = 0;
    std::string tls_cert;
    std::string tls_key;
    std::string client_ca;
    std::string engineer_token_file;
    std::string engineer_name = "alice";
    std::string approver_token_file;
    std::string approver_name = "bob";
    std::vector<std::string> approval_required;
    std::string min_token_expiration = "10m";
    std::string epoch;
    std::string services_file;
    bool quiet = false;
};

[[noreturn]] void fail(const std::string& message) {
    std::fprintf(stderr, "oncall-sandbox: error: %s\n", message.c_str());
    throw CLI::RuntimeError(1);
}

// Writes a file atomically (temporary file, then rename) with the given mode.
void write_file_atomically(const std::filesystem::path& path, const std::string& content,
                           std::filesystem::perms mode) {
    const auto tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        if (!out)
            fail(fmt::format("cannot write {}; is the state directory writable?", tmp));
        out << content;
    }
    std::filesystem::permissions(tmp, mode);
    std::filesystem::rename(tmp, path);
}

std::string read_token_file(const std::string& path) {
    std::ifstream in(path);
    if (!in)
        fail(fmt::format("cannot read the engineer token file {}", path));
    std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
        token.pop_back();
    if (token.empty())
        fail(fmt::format("the engineer token file {} is empty", path));
    return token;
}

void run_serve(const ServeOptions& o) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(o.state_dir, ec);
    if (ec)
        fail(fmt::format("cannot create the state directory {}: {}", o.state_dir, ec.message()));

    auto min_expiration = oncall::parse_duration(o.min_token_expiration);
    if (!min_expiration)
        fail("--min-token-expiration: " + min_expiration.error().message);
    sandbox::SysTime epoch = std::chrono::system_clock::now();
    if (!o.epoch.empty()) {
        auto parsed = oncall::parse_rfc3339(o.epoch);
        if (!parsed)
            fail("--epoch: " + parsed.error().message);
        epoch = std::chrono::time_point_cast<std::chrono::system_clock::duration>(parsed.value());
    }

    auto loaded = sandbox::load_scenario(o.scenario);
    if (!loaded)
        fail(loaded.error().message);
    sandbox::Scenario scenario = std::move(loaded.value());
    auto seeded = sandbox::seed_registry(scenario, o.registry_url);
    if (!seeded)
        fail(seeded.error().message);

    std::string engineer_token;
    if (!o.engineer_token_file.empty()) {
        engineer_token = read_token_file(o.engineer_token_file);
    } else {
        engineer_token = sandbox::random_base64url(32);
        write_file_atomically(fs::path(o.state_dir) / "engineer.token", engineer_token + "\n",
                              fs::perms::owner_read | fs::perms::owner_write);
    }

    // Signals are handled by one thread; every other thread inherits the blocked mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    sandbox::SandboxClock clock(epoch);
    sandbox::Store store;
    sandbox::Workload workload(scenario, epoch);
    sandbox::Authenticator auth(engineer_token, o.engineer_name);
    if (!o.approver_token_file.empty()) {
        auth.set_approver(read_token_file(o.approver_token_file), o.approver_name);
    }
    sandbox::Controller controller(store, scenario, workload, clock, o.registry_url);
    controller.bootstrap();

    sandbox::ApiServerOptions api_options;
    api_options.min_token_expiration =
        std::chrono::duration_cast<std::chrono::seconds>(min_expiration.value());
    api_options.log_requests = !o.quiet;
    api_options.policy.approval_required_accounts = o.approval_required;
    api_options.services_file =
        o.services_file.empty() ? (fs::path(o.state_dir) / "services").string() : o.services_file;
    sandbox::ApiServer api(store, controller, workload, auth, clock, scenario, api_options);

    std::unique_ptr<httplib::Server> server;
    if (!o.tls_cert.empty() || !o.tls_key.empty()) {
        if (o.tls_cert.empty() || o.tls_key.empty())
            fail("--tls-cert and --tls-key go together");
        std::unique_ptr<httplib::SSLServer> tls;
        if (o.client_ca.empty()) {
            tls = std::make_unique<httplib::SSLServer>(o.tls_cert.c_str(), o.tls_key.c_str());
        } else {
            // Client certificates are asked for and verified against the client CA, but optional:
            // bearer tokens keep working (kube-apiserver's --client-ca-file).
            tls = std::make_unique<httplib::SSLServer>([&o](SSL_CTX& ctx) {
                if (SSL_CTX_use_certificate_chain_file(&ctx, o.tls_cert.c_str()) != 1 ||
                    SSL_CTX_use_PrivateKey_file(&ctx, o.tls_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
                    SSL_CTX_load_verify_locations(&ctx, o.client_ca.c_str(), nullptr) != 1) {
                    return false;
                }
                SSL_CTX_set_client_CA_list(&ctx, SSL_load_client_CA_file(o.client_ca.c_str()));
                SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
                // Resumed sessions (clients share them between connections) need an id context once
                // peers are verified; without one OpenSSL ends the handshake with internal_error.
                static const unsigned char k_session_context[] = "oncall-sandbox";
                SSL_CTX_set_session_id_context(&ctx, k_session_context,
                                               sizeof k_session_context - 1);
                return true;
            });
        }
        if (!tls->is_valid())
            fail(fmt::format("cannot load the TLS certificate {} and key {}", o.tls_cert,
                             o.tls_key));
        server = std::move(tls);
    } else {
        server = std::make_unique<httplib::Server>();
    }
    // Each open watch holds a worker thread for its whole life.
    server->new_task_queue = [] { return new httplib::ThreadPool(128); };
    server->set_payload_max_length(3 * 1024 * 1024);
    server->set_keep_alive_max_count(1000);
    server->set_tcp_nodelay(
        true); // headers and body go out as separate writes; Nagle would delay them
    api.install(*server);

    int port = o.port;
    if (port == 0) {
        port = server->bind_to_any_port(o.listen);
    } else if (!server->bind_to_port(o.listen, port)) {
        port = -1;
    }
    if (port <= 0)
        fail(fmt::format("cannot listen on {}:{}; is the port in use?", o.listen, o.port));
    api.set_server_address(fmt::format("{}:{}", o.listen, port));

    controller.start();
    std::thread signal_thread([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        api.shutdown();
        server->stop();
    });
    signal_thread.detach();

    write_file_atomically(fs::path(o.state_dir) / "sandbox.pid", std::to_string(getpid()) + "\n",
                          fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::others_read);
    write_file_atomically(fs::path(o.state_dir) / "sandbox.port", std::to_string(port) + "\n",
                          fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::others_read);
    fmt::print(stderr, "oncall-sandbox: serving scenario {} on {}://{}:{}\n", scenario.name,
               o.tls_cert.empty() ? "http" : "https", o.listen, port);
    server->listen_after_bind();
    api.shutdown();
    controller.stop();
    std::error_code ignored;
    fs::remove(fs::path(o.state_dir) / "sandbox.port", ignored);
    fs::remove(fs::path(o.state_dir) / "sandbox.pid", ignored);
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"oncall-sandbox: a practice Kubernetes cluster with simulated workloads"};
    app.require_subcommand(1);
    ServeOptions options;
    auto* serve = app.add_subcommand(
        "serve", "Serve the simulated Kubernetes API and the workload's /metrics");
    serve->add_option("--scenario", options.scenario, "Scenario file (YAML)")->required();
    serve
        ->add_option("--state-dir", options.state_dir, "Directory for sandbox.port and sandbox.pid")
        ->required();
    serve
        ->add_option("--registry-url", options.registry_url,
                     "Registry holding the scenario's images")
        ->required();
    serve->add_option("--listen", options.listen, "Address to listen on")->capture_default_str();
    serve
        ->add_option("--port", options.port,
                     "Port (0 picks a free one, written to STATE_DIR/sandbox.port)")
        ->capture_default_str();
    serve->add_option("--tls-cert", options.tls_cert, "Serve HTTPS with this certificate (PEM)");
    serve->add_option("--tls-key", options.tls_key, "Private key of --tls-cert (PEM)");
    serve->add_option(
        "--client-ca", options.client_ca,
        "Authenticate client certificates signed by this CA (PEM): user = CN, groups = O");
    serve->add_option(
        "--engineer-token-file", options.engineer_token_file,
        "File holding the engineer's bearer token (default: generate STATE_DIR/engineer.token)");
    serve->add_option("--engineer-name", options.engineer_name, "User name of the engineer's token")
        ->capture_default_str();
    serve->add_option(
        "--approver-token-file", options.approver_token_file,
        "File holding the approvers' bearer token (group oncall:approvers; default: no approver)");
    serve->add_option("--approver-name", options.approver_name, "User name of the approvers' token")
        ->capture_default_str();
    serve->add_option("--approval-required", options.approval_required,
                      "Service account whose tokens only the approvers may mint (repeatable)");
    serve
        ->add_option("--min-token-expiration", options.min_token_expiration,
                     "Shortest TokenRequest expiration accepted")
        ->capture_default_str();
    serve->add_option("--epoch", options.epoch,
                      "Start-up instant scenario times are relative to (RFC 3339; default now)");
    serve->add_option("--services-file", options.services_file,
                      "Services the service proxy reaches, one 'NAMESPACE NAME PORT-NAME PORT URL' "
                      "per line, read "
                      "on every request (default: STATE_DIR/services)");
    serve->add_flag("--quiet", options.quiet, "Do not log requests to stderr");
    serve->callback([&] { run_serve(options); });
    sandbox::register_world_commands(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "oncall-sandbox: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
