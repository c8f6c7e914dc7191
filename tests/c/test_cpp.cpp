// include/sse.hpp (the C++17 RAII layer) against the demo server: the
// range-for over a client, next() with timeouts, exceptions with the
// status, callbacks as std::function, move-only ownership, the parser.
// Built with -Wall -Wextra -Werror, run under ASan+UBSan and valgrind.
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "harness.h"
#include "sse.hpp"

using namespace std::chrono_literals;

static harness_server server;

static sse::config config_for(const char *path) {
    sse::config cfg(harness_url(&server, path));
    cfg.proxy(std::string()).retry_min(10ms).retry_initial(50ms).retry_max(200ms);
    return cfg;
}

// Ownership is unique: handles move, never copy.
static_assert(!std::is_copy_constructible_v<sse::client>);
static_assert(std::is_move_constructible_v<sse::client>);
static_assert(!std::is_copy_constructible_v<sse::config>);
static_assert(!std::is_copy_constructible_v<sse::event>);
static_assert(std::is_move_constructible_v<sse::event>);
static_assert(!std::is_copy_constructible_v<sse::parser>);
static_assert(!std::is_copy_constructible_v<sse::batch>);
static_assert(std::is_move_constructible_v<sse::batch>);
static_assert(!std::is_copy_constructible_v<sse::event_loop>);
static_assert(std::is_move_constructible_v<sse::event_loop>);
static_assert(!std::is_copy_constructible_v<sse::wait_set>);

// next_batch(): one read's items per batch, NUL-safe types, per-event retry.
static void test_batches() {
    /* "retry: 250\nevent: a\0b\ndata: x\n\n" then 50 ticks */
    auto cfg = config_for("/raw?b64=cmV0cnk6IDI1MApldmVudDogYQBiCmRhdGE6IHgKCg%3D%3D");
    cfg.max_retries(0);
    sse::client client(cfg);
    int messages = 0, closed = 0;
    while (auto batch = client.next_batch(10s)) {
        CHECK(batch->size() >= 1);
        for (sse::event_view ev : *batch) {
            if (ev.kind() == SSE_KIND_CLOSED) closed++;
            if (!ev.is_message()) continue;
            messages++;
            CHECK(ev.type() == std::string_view("a\0b", 3));
            CHECK(ev.data() == "x");
            CHECK(ev.retry() == std::optional<std::chrono::milliseconds>(250ms));
        }
    }
    CHECK(client.ended());
    CHECK_INT(messages, 1);
    CHECK_INT(closed, 1);

    auto ticks = config_for("/ticker?count=50");
    ticks.max_retries(0);
    sse::client many(ticks);
    std::this_thread::sleep_for(200ms); // let several reads queue
    std::vector<std::string> data;
    while (auto batch = many.next_batch(10s)) {
        for (std::size_t i = 0; i < batch->size(); i++) {
            if ((*batch)[i].is_message()) {
                data.emplace_back((*batch)[i].data());
                CHECK(!(*batch)[i].retry());
            }
        }
    }
    CHECK_INT(data.size(), 50);
    CHECK(data.size() == 50 && data[0] == "tick 1" && data[49] == "tick 50");
}

static void test_range_for() {
    auto cfg = config_for("/ticker?count=4&event=tick");
    cfg.max_retries(0);
    sse::client client(cfg);
    std::vector<std::string> data, ids;
    int opens = 0, closed = 0;
    for (const sse::event &ev : client) {
        switch (ev.kind()) {
        case SSE_KIND_MESSAGE:
            CHECK(ev.type() == "tick");
            data.emplace_back(ev.data());
            ids.emplace_back(ev.id());
            break;
        case SSE_KIND_OPEN: opens++; CHECK_INT(ev.http_status(), 200); break;
        case SSE_KIND_CLOSED: closed++; CHECK_INT(ev.close_reason(), SSE_CLOSE_END_OF_STREAM); break;
        default: CHECK(false, "unexpected kind %d", (int)ev.kind());
        }
    }
    CHECK(client.ended());
    // finished() follows the end once the client's thread has exited.
    for (int i = 0; i < harness_ms(1000) && !client.finished(); i++) std::this_thread::sleep_for(1ms);
    CHECK(client.finished());
    CHECK_INT(data.size(), 4);
    CHECK_INT(opens, 1);
    CHECK_INT(closed, 1);
    CHECK(data.size() == 4 && data[3] == "tick 4" && ids[3] == "4");
    CHECK(client.last_event_id() == "4");
    // Iterating an ended client yields nothing.
    int more = 0;
    for (const sse::event &ev : client) {
        (void)ev;
        more++;
    }
    CHECK_INT(more, 0);
}

static void test_errors_throw() {
    // A fatal HTTP status ends the loop with an exception carrying it.
    auto cfg = config_for("/status/404");
    sse::client client(cfg);
    bool thrown = false;
    int items = 0;
    try {
        for (const sse::event &ev : client) {
            items++;
            if (ev.kind() == SSE_KIND_ERROR) {
                CHECK(ev.is_fatal());
                CHECK_INT(ev.http_status(), 404);
                CHECK_INT(ev.error_status(), SSE_ERR_HTTP_STATUS);
            }
        }
    } catch (const sse::error &e) {
        thrown = true;
        CHECK_INT(e.status(), SSE_ERR_HTTP_STATUS);
        CHECK(std::strstr(e.what(), "404") != nullptr, "what(): %s", e.what());
        CHECK(std::strstr(e.what(), "SSE_ERR_HTTP_STATUS") != nullptr, "what(): %s", e.what());
    }
    CHECK(thrown, "no sse::error");
    CHECK_INT(items, 2); // the fatal error item, the closed item

    // Refused settings throw at once, with the library's message.
    sse::config bad(harness_url(&server, "/"));
    thrown = false;
    try {
        bad.header("X-Evil", "a\r\nInjected: 1");
    } catch (const sse::error &e) {
        thrown = true;
        CHECK_INT(e.status(), SSE_ERR_ARGUMENT);
        CHECK(std::strstr(e.what(), "X-Evil") != nullptr, "what(): %s", e.what());
    }
    CHECK(thrown, "a CR/LF header value was accepted");
    thrown = false;
    try {
        sse::config invalid("ftp://example.com/");
        sse::client never(invalid);
    } catch (const sse::error &e) {
        thrown = true;
        CHECK_INT(e.status(), SSE_ERR_URL);
    }
    CHECK(thrown, "an ftp URL was accepted");
    thrown = false;
    try {
        sse::config zero_queue(harness_url(&server, "/"));
        zero_queue.queue_capacity(0).validate();
    } catch (const sse::error &e) {
        thrown = true;
        CHECK_INT(e.status(), SSE_ERR_ARGUMENT);
    }
    CHECK(thrown, "validate() accepted a zero queue");
}

static void test_next_timeout_and_close() {
    auto cfg = config_for("/silent");
    sse::client client(cfg);
    auto open = client.next(harness_ms(10000) * 1ms);
    CHECK(open && open->kind() == SSE_KIND_OPEN);
    auto t0 = std::chrono::steady_clock::now();
    auto nothing = client.next(100ms);
    auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(!nothing && !client.ended());
    CHECK(waited >= 90ms, "next(100ms) returned after %lld ms",
          (long long)std::chrono::duration_cast<std::chrono::milliseconds>(waited).count());
    // Close from another thread while this one waits forever.
    std::thread closer([&] {
        std::this_thread::sleep_for(100ms);
        client.close();
    });
    auto closed = client.next();
    CHECK(closed && closed->kind() == SSE_KIND_CLOSED && closed->close_reason() == SSE_CLOSE_BY_USER);
    CHECK(!client.next());
    CHECK(client.ended());
    closer.join();
}

static void test_callback_and_move() {
    auto cfg = config_for("/ticker?count=3&interval_ms=20");
    cfg.max_retries(0);
    std::mutex lock;
    std::condition_variable changed;
    std::vector<std::string> data;
    bool closed = false;
    auto owner = std::make_shared<int>(7); // released with the callback
    std::weak_ptr<int> watch = owner;
    {
        sse::client first(cfg);
        sse::client client(std::move(first)); // the handle moves, the stream goes on
        client.on_event([&, owner = std::move(owner)](sse::event_view ev) {
            std::lock_guard<std::mutex> guard(lock);
            if (ev.is_message()) data.emplace_back(ev.data());
            if (ev.kind() == SSE_KIND_CLOSED) closed = true;
            changed.notify_all();
        });
        std::unique_lock<std::mutex> guard(lock);
        CHECK(changed.wait_for(guard, harness_ms(10000) * 1ms, [&] { return closed; }),
              "no closed item");
        CHECK_INT(data.size(), 3);
        CHECK(!watch.expired()); // the callback is alive while the client is
    }
    CHECK(watch.expired(), "the callback was not released with the client");

    // An exception escaping the callback closes the client (never unwinds into C).
    auto cfg2 = config_for("/ticker?interval_ms=20");
    sse::client client(cfg2);
    std::atomic<int> calls{0};
    client.on_event([&](sse::event_view ev) {
        calls++;
        if (ev.is_message()) throw std::runtime_error("boom");
    });
    auto deadline = std::chrono::steady_clock::now() + harness_ms(10000) * 1ms;
    while (!client.finished() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    CHECK(client.finished(), "the client did not stop after the exception");
    client.clear_callback();
}

static void test_parser() {
    sse::parser p;
    p.feed("retry: 1500\nid: a\n");
    p.feed("data: x\n\n: note\n");
    auto first = p.next();
    CHECK(first && first->data() == "x" && first->id() == "a" && first->type() == "message");
    auto note = p.next();
    CHECK(note && note->kind() == SSE_KIND_COMMENT && note->data() == "note");
    CHECK(!p.next());
    p.feed(std::string_view("data: n\0l\n\n", 11)); // data with a NUL byte
    auto nul = p.next();
    CHECK(nul && nul->data() == std::string_view("n\0l", 3));
    p.feed("data: unterminated");
    p.finish();
    CHECK(!p.next());
    CHECK(p.last_event_id() == "a");
    CHECK(p.retry() == 1500ms);

    sse::parser small(8);
    bool thrown = false;
    try {
        small.feed("data: 0123456789\n\n");
    } catch (const sse::error &e) {
        thrown = true;
        CHECK_INT(e.status(), SSE_ERR_TOO_LARGE);
    }
    CHECK(thrown);
}

static void test_fd_and_interrupt() {
    auto cfg = config_for("/ticker?interval_ms=30");
    sse::client client(cfg);
    int fd = client.fd();
    CHECK(fd >= 0);
    std::vector<std::string> ids;
    bool interrupted = false;
    auto deadline = std::chrono::steady_clock::now() + harness_ms(10000) * 1ms;
    while (ids.size() < 6 && std::chrono::steady_clock::now() < deadline) {
        auto ev = client.next(harness_ms(5000) * 1ms);
        if (!ev) break;
        if (ev->is_message()) ids.emplace_back(ev->id());
        if (ids.size() == 3 && !interrupted) {
            client.interrupt();
            interrupted = true;
        }
    }
    REQUIRE(ids.size() == 6, "%zu events", ids.size());
    for (size_t i = 0; i < ids.size(); i++) CHECK(ids[i] == std::to_string(i + 1));
}

// last_event_id() and last_error() const from several threads while events
// flow and other threads' calls fail: each gets its own copy (issue 16,
// item 8: the wrapper used to return the library's shared pointer).
static void test_concurrent_getters() {
    sse::client client(config_for("/ticker?interval_ms=0"));
    // The readers start once an event has set an id (the first item may
    // be the open item, and under valgrind the next one comes much later).
    bool have_id = false;
    for (int i = 0; i < 10 && !have_id; i++) {
        auto ev = client.next(std::chrono::milliseconds(harness_ms(10000)));
        REQUIRE(ev.has_value());
        have_id = ev->is_message() && !ev->id().empty();
    }
    REQUIRE(have_id);
    std::atomic<bool> stop{false};
    std::atomic<long> bad{0}, reads{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; i++) {
        threads.emplace_back([&, i] {
            while (!stop) {
                if (i == 2) {
                    sse_next_event(client.get(), 0, nullptr); // fails: sets the last error
                    continue;
                }
                std::string id = client.last_event_id();
                std::string error = client.last_error();
                reads++;
                bool digits = !id.empty() && id.find_first_not_of("0123456789") == std::string::npos;
                if (!digits || (!error.empty() && error.find("NULL") == std::string::npos)) bad++;
            }
        });
    }
    double deadline = harness_now_ms() + harness_ms(300);
    while (harness_now_ms() < deadline) client.next_batch(100ms);
    stop = true;
    for (auto &t : threads) t.join();
    CHECK(reads > 0);
    CHECK(bad == 0, "%ld bad of %ld", bad.load(), reads.load());
}

// sse::event_loop and sse::wait_set: three clients read by this thread's
// poll(), in order, to their ends; then the loop handed to a thread.
static void test_event_loop() {
    REQUIRE(engine_threads_become(0) == 0, "a loop thread outlived its clients");
    sse::event_loop loop;
    sse::wait_set set;
    std::vector<sse::client> clients;
    for (std::uint64_t i = 0; i < 3; i++) {
        sse::config cfg = config_for("/ticker?count=4&interval_ms=2");
        cfg.max_retries(0).messages_only(true).on_loop(&loop);
        clients.emplace_back(cfg);
        clients.back().join(set, i);
    }
    std::vector<std::vector<std::string>> ids(3);
    int ended = 0;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (ended < 3 && std::chrono::steady_clock::now() < deadline) {
        struct pollfd fds[2] = {{loop.fd(), POLLIN, 0}, {set.fd(), POLLIN, 0}};
        auto wait = loop.timeout().value_or(1000ms);
        poll(fds, 2, static_cast<int>(std::min<long long>(wait.count(), 1000)));
        CHECK(loop.run(), "the loop moved to a thread");
        for (std::uint64_t token : set.ready()) {
            sse::client &c = clients.at(token);
            if (c.ended()) continue;
            while (auto ev = c.next(0ms)) ids[token].push_back(std::string(ev->id()));
            if (c.ended()) ended++;
        }
    }
    CHECK_INT(ended, 3);
    CHECK_INT(engine_threads(), 0); /* read by this thread alone */
    for (auto &got : ids) CHECK(got == (std::vector<std::string>{"1", "2", "3", "4"}), "%zu ids", got.size());
    loop.to_thread();
    CHECK(!loop.run(), "run after to_thread");
    CHECK(!loop.timeout().has_value(), "a timeout after to_thread");
    CHECK_INT(engine_threads_become(1), 1);
}

int main(int argc, char **argv) {
    static const harness_test tests[] = {
        {"range_for", test_range_for},
        {"batches", test_batches},
        {"errors_throw", test_errors_throw},
        {"next_timeout_and_close", test_next_timeout_and_close},
        {"callback_and_move", test_callback_and_move},
        {"parser", test_parser},
        {"fd_and_interrupt", test_fd_and_interrupt},
        {"concurrent_getters", test_concurrent_getters},
        {"event_loop", test_event_loop},
    };
    if (harness_server_start(&server, 0) != 0) return 1;
    int rc = harness_run("test_cpp", tests, sizeof tests / sizeof tests[0], argc, argv);
    harness_server_stop(&server);
    return rc;
}
