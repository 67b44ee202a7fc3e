// Fuzzes the configuration loader (parse_config on arbitrary YAML text), then everything a command
// derives from an accepted configuration: context selection and each service with its defaults.
#include "fuzz_support.h"
#include "oncall/config/config.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const auto config = oncall::config::parse_config(text, "fuzz.yaml");
    if (!config) {
        if (config.error().message.empty()) {
            oncall::fuzz::fail("every refusal says why");
        }
        return 0;
    }
    for (const auto& [name, context] : config->contexts) {
        (void)oncall::config::select_context(*config, name);
        for (const auto& [service, settings] : config->services) {
            (void)oncall::config::service_for(*config, context, service);
        }
        (void)oncall::config::service_for(*config, context, "checkout");
    }
    (void)oncall::config::select_context(*config, std::nullopt);
    return 0;
}
