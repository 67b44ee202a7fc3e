#pragma once
// The default scenario (examples/sandbox/scenarios/bad-deploy.yaml), with the digests that seeding
// a registry gives its images, and scenario files written on the fly for error cases.

#include "image_content.h"
#include "scenario.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace sandbox::test {

/// Path of a file under examples/sandbox/.
inline std::string example_path(const std::string& relative) {
    return (std::filesystem::path(ONCALL_FIXTURES_DIR) / ".." / ".." / "examples" / "sandbox" /
            relative)
        .lexically_normal()
        .string();
}

/// bad-deploy.yaml with every image's digest filled in as seed_registry() would.
inline Scenario default_scenario() {
    auto loaded = load_scenario(example_path("scenarios/bad-deploy.yaml"));
    if (!loaded) {
        throw std::runtime_error(loaded.error().message);
    }
    auto scenario = std::move(loaded).value();
    for (auto& [key, image] : scenario.images) {
        image.digest = build_image(image.repository, image.tag).manifest_digest;
    }
    return scenario;
}

/// Writes `text` to a scenario file in a fresh temporary directory; removed on destruction.
class ScenarioFile {
public:
    explicit ScenarioFile(const std::string& text) {
        std::string templ =
            (std::filesystem::temp_directory_path() / "oncall-scenario-XXXXXX").string();
        if (mkdtemp(templ.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        m_dir = templ;
        m_path = m_dir + "/scenario.yaml";
        std::ofstream(m_path) << text;
    }
    ~ScenarioFile() {
        std::error_code ec;
        std::filesystem::remove_all(m_dir, ec);
    }
    ScenarioFile(const ScenarioFile&) = delete;
    ScenarioFile& operator=(const ScenarioFile&) = delete;
    const std::string& path() const { return m_path; }

private:
    std::string m_dir;
    std::string m_path;
};

} // namespace sandbox::test
