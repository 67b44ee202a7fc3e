#pragma once
// Reading local files that someone else may have planted (a FIFO, /dev/zero, a 100 MB file) and
// creating private state folders: the one bounded reader every reader of local files uses, and
// mkdir -p with mode 0700 that never follows or chmods through a symlink.

#include "oncall/core/result.h"

#include <cstddef>
#include <string>

namespace oncall {

/// Size caps of the local files oncall reads.
inline constexpr std::size_t k_max_config_bytes = std::size_t{1} << 20;     // oncall config
inline constexpr std::size_t k_max_kubeconfig_bytes = std::size_t{4} << 20; // kubeconfig, CA bundle
inline constexpr std::size_t k_max_token_bytes = std::size_t{64} << 10;     // token, password file

/// What a bounded read found out about the file besides its bytes.
struct LocalFile {
    std::string text;
    unsigned mode = 0; // permission bits (07777)
    unsigned uid = 0;  // owner
};

/// Reads `path` (`what` names it in errors: "token file", "configuration"): opened non-blocking
/// (a FIFO never hangs), refused unless a regular file, refused when larger than `max_bytes`
/// (checked before and while reading). Failures are Errc::config errors naming the file and the
/// fix. Symlinks are followed (a kubeconfig or token may be one) unless `no_follow`.
Result<LocalFile> read_local_file(const std::string& path, const char* what, std::size_t max_bytes,
                                  bool no_follow = false);

/// Creates `dir` and its missing parents with mode 0700 (exactly, whatever the umask) and leaves
/// existing folders alone: nothing is ever chmod'ed through a symlink. Errc::io on failure.
Result<void> make_private_dirs(const std::string& dir);

} // namespace oncall
