#include "oncall/core/local_file.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace oncall {
namespace {

std::string size_text(std::size_t bytes) {
    if (bytes >= (std::size_t{1} << 20)) {
        return fmt::format("{} MiB", bytes >> 20);
    }
    return fmt::format("{} KiB", bytes >> 10);
}

} // namespace

Result<LocalFile> read_local_file(const std::string& path, const char* what, std::size_t max_bytes,
                                  bool no_follow) {
    // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one.
    const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (no_follow ? O_NOFOLLOW : 0);
    const int fd = ::open(path.c_str(), flags);
    if (fd < 0) {
        const int err = errno;
        if (no_follow && err == ELOOP) {
            return make_error(Errc::config, fmt::format("{} {} is a symbolic link; refusing to "
                                                        "follow it; replace it with the file",
                                                        what, path));
        }
        return make_error(Errc::config,
                          fmt::format("cannot read {} {}: {}", what, path, std::strerror(err)));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        return make_error(Errc::config,
                          fmt::format("cannot read {} {}: {}", what, path, std::strerror(err)));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return make_error(Errc::config,
                          fmt::format("{} {} is not a regular file (a pipe, device or directory); "
                                      "point oncall at a file",
                                      what, path));
    }
    auto too_large = [&] {
        return make_error(Errc::config,
                          fmt::format("{} {} is larger than {}; refusing to read it; check that "
                                      "it is the right file",
                                      what, path, size_text(max_bytes)));
    };
    if (static_cast<std::size_t>(st.st_size) > max_bytes) {
        ::close(fd);
        return too_large();
    }
    // Back to blocking reads: a regular file never blocks, and EAGAIN must not look like an end.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    LocalFile file;
    file.mode = static_cast<unsigned>(st.st_mode & 07777);
    file.uid = static_cast<unsigned>(st.st_uid);
    std::array<char, 16384> buf{};
    for (;;) {
        const auto n = ::read(fd, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            const int err = errno;
            ::close(fd);
            return make_error(Errc::config,
                              fmt::format("cannot read {} {}: {}", what, path, std::strerror(err)));
        }
        if (n == 0) {
            break;
        }
        file.text.append(buf.data(), static_cast<std::size_t>(n));
        if (file.text.size() > max_bytes) { // grew while we read it
            ::close(fd);
            return too_large();
        }
    }
    ::close(fd);
    return file;
}

Result<void> make_private_dirs(const std::string& dir) {
    if (dir.empty()) {
        return ok_result();
    }
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        pos = dir.find('/', pos + 1);
        const std::string part = dir.substr(0, pos);
        if (part.empty() || part == "/") {
            continue;
        }
        struct stat st {};
        if (::stat(part.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                return make_error(Errc::io, fmt::format("cannot create folder {}: {} is not a "
                                                        "folder",
                                                        dir, part));
            }
            continue; // exists: never touched, even when its mode is loose
        }
        if (::mkdir(part.c_str(), 0700) != 0) {
            if (errno == EEXIST) {
                continue; // created meanwhile by someone else: left alone
            }
            return make_error(
                Errc::io, fmt::format("cannot create folder {}: {}", part, std::strerror(errno)));
        }
        // mkdir's mode went through the umask; set exactly 0700 on the folder we just made,
        // through a descriptor that refuses a symlink swapped in meanwhile.
        const int fd = ::open(part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || ::fchmod(fd, 0700) != 0) {
            const int err = errno;
            if (fd >= 0) {
                ::close(fd);
            }
            return make_error(Errc::io, fmt::format("cannot make folder {} private: {}", part,
                                                    std::strerror(err)));
        }
        ::close(fd);
    }
    return ok_result();
}

} // namespace oncall
