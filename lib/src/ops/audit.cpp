#include "oncall/ops/audit.h"

#include "oncall/config/config.h"
#include "oncall/core/local_file.h"
#include "oncall/core/time.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace oncall::ops {
namespace {

bool credential_like(const std::string& key) {
    std::string k = key;
    std::transform(k.begin(), k.end(), k.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return k == "token" || k == "password" || k == "secret" || k == "authorization" ||
           k == "bearer_token";
}

bool holds_credential(const nlohmann::json& j) {
    if (j.is_object()) {
        for (const auto& [key, value] : j.items()) {
            if (credential_like(key) || holds_credential(value)) {
                return true;
            }
        }
    } else if (j.is_array()) {
        for (const auto& value : j) {
            if (holds_credential(value)) {
                return true;
            }
        }
    }
    return false;
}

} // namespace

std::string default_audit_path() {
    return config::state_dir() + "/audit.jsonl";
}

Result<void> append_audit(const std::string& path, nlohmann::json record) {
    if (!record.is_object()) {
        return make_error(Errc::internal, "audit record must be a JSON object");
    }
    if (holds_credential(record)) {
        return make_error(Errc::internal, "refusing to write a credential into the audit log");
    }
    if (!record.contains("time")) {
        record["time"] = format_rfc3339(now());
    }
    // A new state folder is private (0700 whatever the umask); an existing one, or a symlink to
    // one, is left as it is.
    if (auto made = make_private_dirs(std::filesystem::path(path).parent_path().string()); !made) {
        return std::move(made).error();
    }
    const std::string line =
        record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    // O_NOFOLLOW: a symlink planted at the log's name is refused, not followed. O_NONBLOCK: opening
    // a FIFO with no reader fails at once instead of hanging the command.
    const int fd = ::open(
        path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    if (fd < 0) {
        const int err = errno;
        const char* why = err == ELOOP   ? "it is a symbolic link"
                          : err == ENXIO ? "it is a FIFO"
                                         : std::strerror(err);
        return make_error(Errc::io, fmt::format("cannot open audit log {}: {}", path, why));
    }
    struct stat kind {};
    if (::fstat(fd, &kind) != 0 || !S_ISREG(kind.st_mode)) {
        ::close(fd);
        return make_error(Errc::io,
                          fmt::format("cannot use audit log {}: it is not a regular file", path));
    }
    // One write(2) of the whole line under O_APPEND: concurrent writers never interleave inside a
    // line, and a crash leaves either the whole line or none of it (a short write is truncated away
    // below).
    struct stat st {};
    const off_t before = ::fstat(fd, &st) == 0 ? st.st_size : -1;
    const ssize_t written = ::write(fd, line.data(), line.size());
    if (written != static_cast<ssize_t>(line.size())) {
        const int err = written < 0 ? errno : ENOSPC;
        if (before >= 0 && written > 0) {
            (void)::ftruncate(fd, before);
        }
        ::close(fd);
        return make_error(
            Errc::io, fmt::format("cannot append to audit log {}: {}", path, std::strerror(err)));
    }
    if (::fsync(fd) != 0) {
        const int err = errno;
        ::close(fd);
        return make_error(Errc::io,
                          fmt::format("cannot sync audit log {}: {}", path, std::strerror(err)));
    }
    if (::close(fd) != 0) {
        return make_error(Errc::io,
                          fmt::format("cannot close audit log {}: {}", path, std::strerror(errno)));
    }
    return ok_result();
}

std::string new_attempt_id() {
    std::random_device device;
    std::uniform_int_distribution<std::uint64_t> pick;
    const std::uint64_t high = device();
    return fmt::format("{:016x}", (high << 32U) ^ pick(device));
}

Result<void> audit_intent(const std::string& path, nlohmann::json record,
                          const std::string& attempt) {
    record["phase"] = "intent";
    record["attempt"] = attempt;
    if (auto written = append_audit(path, std::move(record)); !written) {
        auto e = std::move(written).error();
        e.message = fmt::format(
            "{}; the audit line must be on disk before the change is made, so nothing was "
            "changed (fix the audit log, or point XDG_STATE_HOME at a writable folder)",
            e.message);
        return e;
    }
    return ok_result();
}

Result<void> audit_result(const std::string& path, nlohmann::json record,
                          const std::string& attempt) {
    record["phase"] = "result";
    record["attempt"] = attempt;
    return append_audit(path, std::move(record));
}

} // namespace oncall::ops
