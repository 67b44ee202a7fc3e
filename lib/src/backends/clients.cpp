// The backend clients of a context.

#include "oncall/backends/clients.h"

#include "oncall/backends/endpoint.h"

namespace oncall::backends {

Result<kube::KubeClient> make_kube_client(const config::Context& context, const LogSink& log) {
    return kube::KubeClient::create(context.kubernetes, log);
}

Result<std::optional<prometheus::Client>> make_prometheus_client(const config::Context& context,
                                                                 const LogSink& log) {
    const auto& endpoint = context.prometheus;
    if (!endpoint.configured()) {
        return std::optional<prometheus::Client>();
    }
    EndpointDefaults defaults;
    defaults.timeout = std::chrono::seconds(15);
    defaults.log = log;
    auto client = make_endpoint_client("prometheus", endpoint, defaults, context.kubernetes);
    if (!client) {
        return std::move(client).error();
    }
    return std::optional<prometheus::Client>(
        prometheus::Client(std::move(client->client), client->urls.front()));
}

registry::RegistryClient make_registry_client(const config::Context& context, const LogSink& log) {
    return registry::RegistryClient(context.registry, log);
}

} // namespace oncall::backends
