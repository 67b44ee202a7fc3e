// Golden files of the silence views (tests/golden/silence_*): the commands' text and JSON and
// triage's silences block, on fixed silences and a fixed clock.

#include "golden.h"
#include "oncall/views/silence.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>
#include <fstream>

using namespace oncall;
using oncall::test::check_golden;

namespace {

const TimePoint k_silence_now = *parse_rfc3339("2026-11-29T15:30:00Z");

alertmanager::Silence make_silence(const std::string& id, const std::string& by,
                                   const std::string& comment, const std::string& ends,
                                   const std::string& state = "active") {
    alertmanager::Silence s;
    s.id = id;
    s.created_by = by;
    s.comment = comment;
    s.matchers = {{"service", "checkout", false, true},
                  {"alertname", "HighErrorRatio|HighLatencyP99", true, true}};
    s.starts_at = *parse_rfc3339("2026-11-29T15:00:00Z");
    s.ends_at = *parse_rfc3339(ends);
    s.state = state;
    return s;
}

const auto k_silence_one =
    make_silence("28a5518c-4db1-4144-bcb4-52f3694c1551", "alice",
                 "rolling back 1.2.2 [ticket INC-4711]", "2026-11-29T16:00:00Z");
// Text another person wrote, with a terminal escape in it.
const auto k_silence_two = make_silence("fa69d306-df11-4848-8255-29090f70c12c", "mallory\x1b[2J",
                                        "provider maintenance\x07", "2026-11-29T15:35:00Z");

} // namespace

TEST_CASE("silence view: created", "[views][golden][silence]") {
    ::setenv("TZ", "UTC", 1); // the end time is shown in local time
    ::tzset();
    ops::CreatedSilenceResult created;
    created.service = "checkout";
    created.silence = k_silence_one;
    created.alertmanager = "http://127.0.0.1:9093";
    check_golden("silence_created.txt", views::created_silence_text(created, k_silence_now));
    auto j = views::silence_json(created.silence, created.service);
    check_golden("silence_created.json", j.dump(2) + "\n");
    for (const char* key :
         {"id", "service", "matchers", "starts_at", "ends_at", "created_by", "comment"}) {
        CHECK(j.contains(key));
    }
}

TEST_CASE("silence view: list", "[views][golden][silence]") {
    const std::vector<ops::SilenceView> list = {{k_silence_two, ""}, {k_silence_one, ""}};
    render::Style style;
    style.width = 160;
    check_golden("silence_list.txt", views::silence_list_text(list, k_silence_now, style));
    const auto j = views::silence_list_json(list, k_silence_now);
    check_golden("silence_list.json", j.dump(2) + "\n");
    CHECK(j.at("silences")[0].at("created_by") == "mallory\x1b[2J"); // JSON keeps the bytes
    CHECK(views::silence_list_text({}, k_silence_now, style) == "No active or pending silences.\n");
}

TEST_CASE("silence view: expired", "[views][golden][silence]") {
    ops::ExpiredSilenceResult expired;
    expired.silence = k_silence_one;
    expired.silence.state = "expired";
    expired.alertmanager = "http://127.0.0.1:9094";
    check_golden("silence_expired.txt", views::expired_silence_text(expired));
    check_golden("silence_expired.json", views::expired_silence_json(expired).dump(2) + "\n");
    ops::ExpiredSilenceResult already = expired;
    already.already_expired = true;
    CHECK_THAT(views::expired_silence_text(already), Catch::Contains("had already ended"));
}

TEST_CASE("silence view: triage's block", "[views][golden][silence]") {
    render::Style style;
    std::string text;
    for (const auto& line :
         views::triage_silences_lines({k_silence_one, k_silence_two}, k_silence_now, style)) {
        text += line + "\n";
    }
    check_golden("silence_triage_block.txt", text);
    check_golden(
        "silence_triage_block.json",
        views::triage_silences_json({k_silence_one, k_silence_two}, k_silence_now).dump(2) + "\n");
    CHECK(views::triage_silences_lines({}, k_silence_now, style).empty());
}
