// oncall completion bash|zsh|fish: prints the completion script for a shell.
// oncall __complete [--no-descriptions] -- WORD... CURRENT: what the scripts call on TAB (hidden).
// oncall __man [FILE]: the manual page oncall(1), rendered from this command line (hidden).

#include "oncall/ops/completion.h"

#include "cli_model.h"
#include "commands.h"
#include "completion_scripts.h"
#include "oncall/cli/complete.h"
#include "oncall/cli/man.h"
#include "oncall/core/version.h"

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

namespace oncall::app {
namespace {

// A cluster look-up running on its own thread, so that waiting for it can be abandoned.
struct PendingLookup {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    Result<std::vector<cli::Candidate>> result = make_error(Errc::timeout, "not finished");
};

// Set when a look-up was abandoned: its thread may still be inside libcurl, so the process must
// end without running destructors.
bool g_abandoned_lookup = false;

std::vector<cli::Candidate> cluster_candidates(const ops::CompletionLookup& lookup,
                                               cli::ValueKind kind,
                                               const cli::CompletionContext& ctx) {
    const auto key = lookup.cluster_key(kind, ctx);
    if (!key) {
        return {};
    }
    // Silence ids change with every create and expire: only a failure to reach Alertmanager is
    // remembered for them, so a fresh silence can be expired with TAB at once.
    const bool keep_answers = kind != cli::ValueKind::silence;
    if (auto hit = lookup.cached(*key); hit && (keep_answers || !hit->ok)) {
        return hit->candidates;
    }
    auto pending = std::make_shared<PendingLookup>();
    auto lookup_copy = std::make_shared<ops::CompletionLookup>(lookup);
    std::thread worker([pending, lookup_copy, kind, ctx] {
        auto r = lookup_copy->fetch(kind, ctx);
        const std::lock_guard<std::mutex> lock(pending->mutex);
        pending->result = std::move(r);
        pending->done = true;
        pending->done_cv.notify_all();
    });
    {
        std::unique_lock<std::mutex> lock(pending->mutex);
        // Whatever the cluster does, the TAB is answered by the deadline.
        if (!pending->done_cv.wait_for(lock, lookup.sources().deadline,
                                       [&] { return pending->done; })) {
            lock.unlock();
            worker.detach();
            g_abandoned_lookup = true;
            lookup.remember(*key, cli::CacheEntry{false, {}});
            return {};
        }
    }
    worker.join();
    if (!pending->result) {
        lookup.remember(*key, cli::CacheEntry{false, {}});
        return {};
    }
    if (keep_answers) {
        lookup.remember(*key, cli::CacheEntry{true, *pending->result});
    }
    return *pending->result;
}

void run_complete(const CLI::App& root, const std::vector<std::string>& words, bool descriptions) {
    const auto spec = describe_cli(root);

    std::unique_ptr<ops::CompletionLookup> lookup;
    const cli::Resolver resolver = [&](cli::ValueKind kind, const cli::CompletionContext& ctx) {
        if (!lookup) {
            lookup = std::make_unique<ops::CompletionLookup>(ops::sources_from_line(ctx));
        }
        auto out = lookup->local(kind, ctx);
        auto more = cluster_candidates(*lookup, kind, ctx);
        out.insert(out.end(), more.begin(), more.end());
        return out;
    };
    const auto completion = cli::complete(spec, words, resolver);
    std::fputs(cli::format_completion(completion, descriptions).c_str(), stdout);
    std::fflush(stdout);
    if (g_abandoned_lookup) {
        std::_Exit(0);
    }
}

} // namespace

void register_completion(CLI::App& app, AppContext& ctx) {
    auto* cmd =
        app.add_subcommand("completion", "Print the completion script for bash, zsh or fish");
    auto shell = std::make_shared<std::string>();
    cmd->add_option("SHELL", *shell, "Shell to print the script for")
        ->required()
        ->check(CLI::IsMember({"bash", "zsh", "fish"}));
    cmd->footer("Enable it in bash with: source <(oncall completion bash)\n"
                "zsh: oncall completion zsh > \"${fpath[1]}/_oncall\"\n"
                "fish: oncall completion fish > ~/.config/fish/completions/oncall.fish");
    cmd->callback([shell] { std::fputs(std::string(completion_script(*shell)).c_str(), stdout); });

    // Every word after "--" is data, even when it looks like an option of oncall.
    auto* complete = app.add_subcommand("__complete", "");
    complete->group("");
    complete->fallthrough(false);
    auto no_descriptions = std::make_shared<bool>(false);
    auto words = std::make_shared<std::vector<std::string>>();
    complete->add_flag("--no-descriptions", *no_descriptions, "Print values only");
    complete->add_option("WORDS", *words,
                         "The words after the program name; the last is the current one");
    complete->callback(
        [&app, words, no_descriptions] { run_complete(app, *words, !*no_descriptions); });

    auto* man = app.add_subcommand("__man", "");
    man->group("");
    auto path = std::make_shared<std::string>();
    man->add_option("FILE", *path, "Write the page here instead of stdout");
    man->callback([&app, &ctx, path] {
        const auto page = cli::render_man_page(describe_cli(app), version());
        if (path->empty()) {
            std::fputs(page.c_str(), stdout);
            return;
        }
        std::ofstream out(*path, std::ios::binary | std::ios::trunc);
        out << page;
        out.close();
        if (!out) {
            fail(make_error(Errc::io, fmt::format("cannot write the manual page to {}", *path)));
        }
        ctx.debug(fmt::format("wrote {}", *path));
    });
}

} // namespace oncall::app
