#pragma once
// Files written whole: the one atomic write every store uses, and `~` in configured paths.

#include "oncall/core/result.h"

#include <string>
#include <string_view>

namespace oncall {

/// Replaces `path` with `content` so that a reader sees the old file or the new one, never a mix,
/// and the new one survives a crash once this returns: a temporary file is created next to the
/// target with O_EXCL (a planted file or symlink at its name is never followed) and the final
/// `mode` from the start, written, fsync'd, renamed over the target, and the folder fsync'd.
/// When `path` is a symlink, the file it points to is replaced and the link stays a link.
/// Errc::io (naming the file and the reason) on failure; the target is then unchanged.
Result<void> write_file_atomic(const std::string& path, std::string_view content, unsigned mode);

/// `path` with a leading "~" or "~/" replaced by the home folder ($HOME, else the user's passwd
/// entry); any other path is returned unchanged.
std::string expand_home(std::string_view path);

} // namespace oncall
