#include "world.h"

#include "backfill.h"
#include "image_content.h"
#include "oncall/core/duration.h"
#include "oncall/core/time.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <future>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

namespace sandbox {
namespace {

using oncall::Errc;
using oncall::Result;

std::string percent_encode(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

// Path and query of a Location header, which the registry may send as an absolute URL.
std::string location_path(const std::string& location) {
    const auto scheme = location.find("://");
    if (scheme == std::string::npos) {
        return location;
    }
    const auto slash = location.find('/', scheme + 3);
    return slash == std::string::npos ? std::string("/") : location.substr(slash);
}

class RegistryPusher {
public:
    explicit RegistryPusher(const std::string& url) : m_url(url), m_client(url) {
        m_client.set_connection_timeout(std::chrono::seconds(3));
        m_client.set_read_timeout(std::chrono::seconds(10));
        m_client.set_write_timeout(std::chrono::seconds(10));
    }

    // Waits (a few seconds at most) until the registry answers /v2/.
    Result<void> wait_ready() {
        for (int attempt = 0; attempt < 50; ++attempt) {
            auto res = m_client.Get("/v2/");
            if (res && (res->status == 200 || res->status == 401)) {
                if (res->status == 401) {
                    return failure("the registry asks for credentials; the sandbox's registry must "
                                   "allow anonymous "
                                   "pushes",
                                   res->status);
                }
                return oncall::ok_result();
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return oncall::make_error(
            Errc::connect,
            fmt::format("registry at {} did not answer GET /v2/ within 5s; is it running?", m_url));
    }

    Result<void> push_blob(const std::string& name, const std::string& digest,
                           const std::string& bytes) {
        const auto blob_path = fmt::format("/v2/{}/blobs/{}", name, digest);
        if (auto head = m_client.Head(blob_path.c_str()); head && head->status == 200) {
            return oncall::ok_result(); // already there (a restart with the same storage)
        }
        auto start = m_client.Post(fmt::format("/v2/{}/blobs/uploads/", name).c_str(), "",
                                   "application/octet-stream");
        if (!start) {
            return transport_failure("POST blob upload", start.error());
        }
        if (start->status != 202) {
            return failure(fmt::format("starting a blob upload to {} answered HTTP {}: {}", name,
                                       start->status, start->body.substr(0, 300)),
                           start->status);
        }
        auto location = location_path(start->get_header_value("Location"));
        if (location.empty()) {
            return failure(
                fmt::format("starting a blob upload to {} gave no Location header", name),
                start->status);
        }
        location += (location.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") +
                    percent_encode(digest);
        auto put = m_client.Put(location.c_str(), bytes, "application/octet-stream");
        if (!put) {
            return transport_failure("PUT blob", put.error());
        }
        if (put->status != 201) {
            return failure(fmt::format("uploading blob {} to {} answered HTTP {}: {}", digest, name,
                                       put->status, put->body.substr(0, 300)),
                           put->status);
        }
        return oncall::ok_result();
    }

    // Pushes the manifest under the tag; returns the registry's Docker-Content-Digest.
    Result<std::string> push_manifest(const std::string& name, const std::string& tag,
                                      const std::string& manifest) {
        auto put = m_client.Put(fmt::format("/v2/{}/manifests/{}", name, tag).c_str(), manifest,
                                k_oci_manifest_type);
        if (!put) {
            return transport_failure("PUT manifest", put.error());
        }
        if (put->status != 201) {
            return failure(fmt::format("pushing manifest {}:{} answered HTTP {}: {}", name, tag,
                                       put->status, put->body.substr(0, 300)),
                           put->status);
        }
        const auto digest = put->get_header_value("Docker-Content-Digest");
        if (digest.empty()) {
            return failure(
                fmt::format("pushing manifest {}:{} gave no Docker-Content-Digest header", name,
                            tag),
                put->status);
        }
        return digest;
    }

private:
    oncall::Error failure(std::string what, int status) const {
        return oncall::make_error(Errc::http_status, fmt::format("registry at {}: {}", m_url, what),
                                  status);
    }
    oncall::Error transport_failure(const char* what, httplib::Error error) const {
        return oncall::make_error(Errc::connect,
                                  fmt::format("registry at {}: {} failed: {}; is it running?",
                                              m_url, what, httplib::to_string(error)));
    }

    std::string m_url;
    httplib::Client m_client;
};

// Pushes one image (layer, config, manifest); returns the manifest digest the registry reports.
Result<std::string> push_image(const std::string& registry_url, const std::string& key,
                               const Image& image, const ImageContent& content) {
    RegistryPusher pusher(registry_url);
    if (auto r = pusher.push_blob(image.repository, content.layer_digest, content.layer); !r) {
        return std::move(r).error();
    }
    if (auto r = pusher.push_blob(image.repository, content.config_digest, content.config); !r) {
        return std::move(r).error();
    }
    auto digest = pusher.push_manifest(image.repository, image.tag, content.manifest);
    if (!digest) {
        return digest;
    }
    if (*digest != content.manifest_digest) {
        return oncall::make_error(
            Errc::bad_response,
            fmt::format("registry at {} stored {} as {} but its manifest hashes to {}; the "
                        "registry rewrote the manifest",
                        registry_url, key, *digest, content.manifest_digest));
    }
    return digest;
}

[[noreturn]] void command_failed(const std::string& message) {
    std::fprintf(stderr, "oncall-sandbox: error: %s\n", message.c_str());
    throw CLI::RuntimeError(1);
}

Scenario load_or_fail(const std::string& path) {
    auto scenario = load_scenario(path);
    if (!scenario) {
        command_failed(scenario.error().message);
    }
    return std::move(scenario).value();
}

void run_backfill(const std::string& scenario_path, const std::string& epoch_text,
                  const std::string& out_path, const std::string& history_text,
                  const std::string& live_metrics_path,
                  const std::vector<std::string>& target_label_args) {
    auto scenario = load_or_fail(scenario_path);
    std::map<std::string, std::string> target_labels;
    for (const auto& arg : target_label_args) {
        const auto eq = arg.find('=');
        const auto name = arg.substr(0, eq);
        const bool valid_name =
            !name.empty() &&
            std::all_of(name.begin(), name.end(),
                        [](unsigned char c) { return std::isalnum(c) || c == '_'; }) &&
            !std::isdigit(static_cast<unsigned char>(name[0]));
        if (eq == std::string::npos || !valid_name) {
            command_failed(fmt::format(
                "--target-label '{}': expected NAME=VALUE, like instance=127.0.0.1:8443", arg));
        }
        target_labels[name] = arg.substr(eq + 1);
    }
    std::vector<LivePod> live;
    if (!live_metrics_path.empty()) {
        std::ifstream in(live_metrics_path, std::ios::binary);
        if (!in) {
            command_failed(fmt::format("cannot read --live-metrics file {}", live_metrics_path));
        }
        const std::string text((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
        for (auto& [key, image] : scenario.images) {
            image.digest =
                build_image(image.repository, image.tag).manifest_digest; // as seeding gives
        }
        live = live_pods_from_metrics(scenario, text);
        if (live.empty()) {
            command_failed(
                fmt::format("--live-metrics file {} lists no pods (kube_pod_container_info) of the "
                            "scenario; is it the sandbox's /metrics?",
                            live_metrics_path));
        }
    }
    auto epoch = oncall::parse_rfc3339(epoch_text);
    if (!epoch) {
        command_failed(fmt::format("--epoch: {}", epoch.error().message));
    }
    auto history = oncall::parse_duration(history_text);
    if (!history) {
        command_failed(fmt::format("--history: {}", history.error().message));
    }
    if (*history > std::chrono::hours(24 * 7) || *history < k_backfill_step) {
        command_failed(fmt::format("--history {}: give between 15s and 7d", history_text));
    }
    const auto tmp_path = out_path + ".tmp";
    std::ofstream out(tmp_path, std::ios::binary | std::ios::trunc);
    if (!out) {
        command_failed(fmt::format(
            "cannot write {}; check that its directory exists and is writable", tmp_path));
    }
    const auto samples = write_backfill(
        out, scenario, std::chrono::system_clock::time_point(*epoch),
        std::chrono::duration_cast<std::chrono::seconds>(*history), live, target_labels);
    out.close();
    std::error_code ec;
    if (!out || (std::filesystem::rename(tmp_path, out_path, ec), ec)) {
        std::filesystem::remove(tmp_path, ec);
        command_failed(fmt::format("writing {} failed; check free disk space", out_path));
    }
    std::fprintf(stderr, "oncall-sandbox: wrote %llu samples to %s\n",
                 static_cast<unsigned long long>(samples), out_path.c_str());
}

void run_describe(const std::string& scenario_path) {
    const auto scenario = load_or_fail(scenario_path);
    std::printf("namespace %s\n", scenario.namespace_name.c_str());
    for (const auto& service : scenario.services) {
        std::printf("service %s\n", service.name.c_str());
    }
    for (const auto& account : scenario.service_accounts) {
        std::printf(
            "service-account %s %lld\n", account.name.c_str(),
            static_cast<long long>(account.max_duration ? account.max_duration->count() : 0));
    }
    for (const auto& [key, image] : scenario.images) {
        const auto content = build_image(image.repository, image.tag);
        std::printf("image %s %s %s %s\n", key.c_str(), content.manifest_digest.c_str(),
                    image.behavior.c_str(), image.in_registry ? "in-registry" : "absent");
    }
}

// The alerts the practice rules (examples/sandbox/sandbox: HighErrorRatio above 5% 5xx,
// HighLatencyP99 above 1s) would have been firing at EPOCH, as a body for Alertmanager's
// POST /api/v2/alerts, each starting when its service's current revision was deployed. Posting them
// at start-up makes them fire from the first second with their real start; Prometheus' rules then
// keep them firing (Alertmanager keeps the earliest start of an alert it already holds).
void run_alerts(const std::string& scenario_path, const std::string& epoch_text) {
    const auto scenario = load_or_fail(scenario_path);
    const auto epoch = oncall::parse_rfc3339(epoch_text);
    if (!epoch) {
        command_failed(fmt::format("--epoch {}: {}", epoch_text, epoch.error().message));
    }
    nlohmann::json alerts = nlohmann::json::array();
    for (const auto& service : scenario.services) {
        if (service.revisions.empty() || service.revisions.back().containers.empty()) {
            continue;
        }
        const auto& current = service.revisions.back();
        const Behavior* behavior = behavior_for_image(scenario, current.containers.front().image);
        if (behavior == nullptr || behavior->crash || service.replicas == 0) {
            continue;
        }
        const auto onset =
            *epoch - std::chrono::duration_cast<std::chrono::milliseconds>(current.deployed_ago);
        const auto add = [&](const char* name, const std::string& summary,
                             const std::string& description) {
            alerts.push_back({{"labels",
                               {{"alertname", name},
                                {"namespace", scenario.namespace_name},
                                {"service", service.name},
                                {"severity", "page"}}},
                              {"annotations", {{"summary", summary}, {"description", description}}},
                              {"startsAt", oncall::format_rfc3339(onset)}});
        };
        if (behavior->error_ratio > 0.05) {
            add("HighErrorRatio",
                fmt::format("{} answers {:.1f}% of requests with 5xx", service.name,
                            behavior->error_ratio * 100),
                fmt::format("The 5xx ratio of {}/{} over 1m is above 5%.", scenario.namespace_name,
                            service.name));
        }
        if (behavior->latency_p99 > 1.0) {
            add("HighLatencyP99",
                fmt::format("{} p99 latency is {:.2f}s", service.name, behavior->latency_p99),
                fmt::format("The 99th percentile latency of {}/{} over 1m is above 1s.",
                            scenario.namespace_name, service.name));
        }
    }
    std::printf("%s\n", alerts.dump().c_str());
}

} // namespace

Result<void> seed_registry(Scenario& scenario, const std::string& registry_url) {
    if (auto ready = RegistryPusher(registry_url).wait_ready(); !ready) {
        return ready;
    }
    // One image per thread: each push is a handful of small sequential requests.
    std::vector<std::pair<Image*, std::future<Result<std::string>>>> pushes;
    for (auto& [key, image] : scenario.images) {
        const auto content = build_image(image.repository, image.tag);
        if (!image.in_registry) {
            image.digest =
                content.manifest_digest; // a real-looking digest the registry does not hold
            continue;
        }
        // Captured through a pointer: clang (and so clang-tidy) cannot capture a structured
        // binding.
        Image* target = &image;
        pushes.emplace_back(
            target, std::async(std::launch::async, [&registry_url, content, key = key, target] {
                return push_image(registry_url, key, *target, content);
            }));
    }
    std::optional<oncall::Error> first_error;
    for (auto& [image, push] : pushes) {
        auto digest = push.get();
        if (!digest) {
            if (!first_error) {
                first_error = std::move(digest).error();
            }
            continue;
        }
        image->digest = *digest;
    }
    if (first_error) {
        return *first_error;
    }
    return oncall::ok_result();
}

std::string registry_host(const std::string& registry_url) {
    auto rest = registry_url;
    if (const auto scheme = rest.find("://"); scheme != std::string::npos) {
        rest = rest.substr(scheme + 3);
    }
    if (const auto slash = rest.find('/'); slash != std::string::npos) {
        rest.resize(slash);
    }
    return rest;
}

void register_world_commands(CLI::App& app) {
    auto* backfill = app.add_subcommand(
        "backfill", "Write the scenario's metric history before EPOCH as OpenMetrics "
                    "text (for promtool tsdb create-blocks-from openmetrics)");
    auto scenario_path = std::make_shared<std::string>();
    auto epoch = std::make_shared<std::string>();
    auto out_path = std::make_shared<std::string>();
    auto history = std::make_shared<std::string>("3h");
    backfill->add_option("--scenario", *scenario_path, "Scenario file (YAML)")->required();
    backfill->add_option("--epoch", *epoch, "Start-up instant the history ends at (RFC 3339)")
        ->required();
    backfill->add_option("--out", *out_path, "OpenMetrics file to write")->required();
    backfill->add_option("--history", *history, "How much history to write")->capture_default_str();
    auto live_metrics = std::make_shared<std::string>();
    backfill->add_option(
        "--live-metrics", *live_metrics,
        "The running sandbox's /metrics text: its pods' series continue the history under "
        "their own names");
    auto target_labels = std::make_shared<std::vector<std::string>>();
    backfill->add_option(
        "--target-label", *target_labels,
        "NAME=VALUE added to every series, as Prometheus adds its scrape's job and instance "
        "(repeatable)");
    backfill->callback([=] {
        run_backfill(*scenario_path, *epoch, *out_path, *history, *live_metrics, *target_labels);
    });

    auto* describe = app.add_subcommand(
        "describe", "Check a scenario file and list its namespace, services, "
                    "service accounts and images (with the digests seeding gives)");
    auto describe_scenario = std::make_shared<std::string>();
    describe->add_option("--scenario", *describe_scenario, "Scenario file (YAML)")->required();
    describe->callback([=] { run_describe(*describe_scenario); });

    auto* alerts = app.add_subcommand(
        "alerts", "Print the alerts firing at EPOCH with their real start, as a body "
                  "for Alertmanager's POST /api/v2/alerts");
    auto alerts_scenario = std::make_shared<std::string>();
    auto alerts_epoch = std::make_shared<std::string>();
    alerts->add_option("--scenario", *alerts_scenario, "Scenario file (YAML)")->required();
    alerts->add_option("--epoch", *alerts_epoch, "Start-up instant (RFC 3339)")->required();
    alerts->callback([=] { run_alerts(*alerts_scenario, *alerts_epoch); });
}

} // namespace sandbox
