#include "oncall/core/files.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace oncall {
namespace {

Error io_error(const std::string& what, const std::string& path, int err) {
    return make_error(Errc::io, fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

std::string dirname_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) {
        return ".";
    }
    return slash == 0 ? "/" : path.substr(0, slash);
}

// The file a chain of symlinks at `path` ends in (which need not exist yet).
Result<std::string> final_target(std::string path) {
    for (int hops = 0; hops < 40; ++hops) {
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
            return path;
        }
        char buf[PATH_MAX];
        const auto n = ::readlink(path.c_str(), buf, sizeof buf - 1);
        if (n < 0) {
            return io_error("cannot read the link", path, errno);
        }
        const std::string link(buf, static_cast<std::size_t>(n));
        path = link.front() == '/' ? link : dirname_of(path) + "/" + link;
    }
    return make_error(Errc::io,
                      fmt::format("cannot write {}: too many levels of symbolic links", path));
}

} // namespace

Result<void> write_file_atomic(const std::string& path, std::string_view content, unsigned mode) {
    auto target = final_target(path);
    if (!target) {
        return target.error();
    }
    const std::string dir = dirname_of(*target);
    const auto slash = target->rfind('/');
    const std::string base = slash == std::string::npos ? *target : target->substr(slash + 1);
    std::random_device entropy;
    std::string tmp;
    int fd = -1;
    for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
        tmp = fmt::format("{}/.{}.{:08x}.tmp", dir, base, entropy());
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    static_cast<mode_t>(mode));
        if (fd < 0 && errno != EEXIST) {
            return io_error("cannot create a temporary file for", *target, errno);
        }
    }
    if (fd < 0) {
        return make_error(Errc::io, fmt::format("cannot create a temporary file for {}", *target));
    }
    const auto fail = [&](const char* what) {
        const Error e = io_error(what, *target, errno);
        ::close(fd);
        ::unlink(tmp.c_str());
        return e;
    };
    // The umask may have narrowed the mode; never widened it, so no moment is more open than asked.
    if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
        return fail("cannot set the mode of");
    }
    std::size_t written = 0;
    while (written < content.size()) {
        const auto n = ::write(fd, content.data() + written, content.size() - written);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail("cannot write");
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        return fail("cannot flush");
    }
    if (::close(fd) != 0) {
        const Error e = io_error("cannot write", *target, errno);
        ::unlink(tmp.c_str());
        return e;
    }
    if (::rename(tmp.c_str(), target->c_str()) != 0) {
        const Error e = io_error("cannot replace", *target, errno);
        ::unlink(tmp.c_str());
        return e;
    }
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return ok_result();
}

std::string expand_home(std::string_view path) {
    if (path != "~" && path.rfind("~/", 0) != 0) {
        return std::string(path);
    }
    std::string home;
    if (const char* env = std::getenv("HOME"); env != nullptr && *env != '\0') {
        home = env;
    } else if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr) {
        home = pw->pw_dir;
    } else {
        return std::string(path);
    }
    return home + std::string(path.substr(1));
}

} // namespace oncall
