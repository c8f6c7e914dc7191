// sse.hpp: a small C++17 RAII layer over libsse's C API (sse.h).
//
// Header-only; link with -lsse. Every handle is owned by exactly one
// object (move-only, freed by its destructor, unique_ptr-style), failures
// throw sse::error (which carries the sse_status and the library's
// message), and a client is a range of events:
//
//     sse::config cfg("https://example.com/stream");
//     cfg.header("Authorization", "Bearer ...").max_retries(5);
//     sse::client client(cfg);
//     for (const sse::event& ev : client) {          // blocks per event
//         if (ev.is_message()) std::cout << ev.data() << '\n';
//     }                                              // ends when the stream ends
//
// The loop ends when the stream ended normally (204, close(), one-shot
// end of stream) and throws sse::error when it ended with an error.
// String views returned by an event live as long as that event.
#ifndef LIBSSE_SSE_HPP
#define LIBSSE_SSE_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
#include <utility>

#include "sse.h"

namespace sse {

// A failed libsse call: `status()` says which kind of failure, `what()`
// the library's message.
class error : public std::runtime_error {
  public:
    error(sse_status status, const std::string &message)
        : std::runtime_error(message.empty() ? std::string(sse_status_name(status))
                                             : message + " (" + sse_status_name(status) + ")"),
          status_(status) {}
    sse_status status() const noexcept { return status_; }

  private:
    sse_status status_;
};

inline std::string_view version() noexcept { return sse_version(); }
inline std::string_view status_name(sse_status status) noexcept {
    return sse_status_name(static_cast<int32_t>(status));
}

namespace detail {
struct config_free {
    void operator()(sse_config *p) const noexcept { sse_config_free(p); }
};
struct client_free {
    void operator()(sse_client *p) const noexcept { sse_client_free(p); }
};
struct event_free {
    void operator()(sse_event *p) const noexcept { sse_event_free(p); }
};
struct batch_free {
    void operator()(sse_batch *p) const noexcept { sse_batch_free(p); }
};
struct parser_free {
    void operator()(sse_parser *p) const noexcept { sse_parser_free(p); }
};
struct waitset_free {
    void operator()(sse_waitset *p) const noexcept { sse_waitset_free(p); }
};
struct loop_free {
    void operator()(sse_loop *p) const noexcept { sse_loop_free(p); }
};
inline std::string_view view(const char *s) { return s ? std::string_view(s) : std::string_view(); }

// A string the library copies out with an sse_*_copy_* function (safe
// while other threads' calls change it): sized by the library, retried if
// it grew between the two calls.
template <class Handle>
std::string copied(sse_status (*copy)(const Handle *, char *, std::size_t, std::size_t *),
                   const Handle *handle) {
    std::string out(64, '\0');
    for (;;) {
        std::size_t needed = 0;
        sse_status status = copy(handle, out.data(), out.size(), &needed);
        if (status == SSE_OK) {
            out.resize(needed - 1);
            return out;
        }
        if (status != SSE_ERR_TOO_LARGE) return std::string();
        out.assign(needed, '\0');
    }
}
inline std::string last_error(const sse_config *c) { return copied(sse_config_copy_last_error, c); }
inline std::string last_error(const sse_client *c) { return copied(sse_client_copy_last_error, c); }

// The read-only accessors shared by an owned event and a borrowed one.
template <class Self> class event_accessors {
  public:
    sse_kind kind() const noexcept { return sse_event_kind(raw()); }
    bool is_message() const noexcept { return kind() == SSE_KIND_MESSAGE; }
    // Message type ("message" unless the server set one); may contain NUL bytes.
    std::string_view type() const noexcept {
        return std::string_view(sse_event_type(raw()), static_cast<std::size_t>(sse_event_type_len(raw())));
    }
    // Message data, comment text or error message; may contain NUL bytes.
    std::string_view data() const noexcept {
        uintptr_t len = 0;
        const char *p = sse_event_data(raw(), &len);
        return std::string_view(p, static_cast<std::size_t>(len));
    }
    // The last event id in force for a message.
    std::string_view id() const noexcept {
        return std::string_view(sse_event_id(raw()), static_cast<std::size_t>(sse_event_id_len(raw())));
    }
    // The `retry:` value given in a message's own block of lines, if any.
    std::optional<std::chrono::milliseconds> retry() const noexcept {
        std::int64_t ms = sse_event_retry_ms(raw());
        if (ms < 0) return std::nullopt;
        return std::chrono::milliseconds(ms);
    }
    // HTTP status of an open item, or of an error item when the server answered; 0 otherwise.
    std::uint16_t http_status() const noexcept { return sse_event_http_status(raw()); }
    sse_status error_status() const noexcept { return sse_event_error_status(raw()); }
    bool is_fatal() const noexcept { return sse_event_is_fatal(raw()); }
    std::optional<std::chrono::milliseconds> retry_after() const noexcept {
        std::int64_t ms = sse_event_retry_after_ms(raw());
        if (ms < 0) return std::nullopt;
        return std::chrono::milliseconds(ms);
    }
    std::chrono::milliseconds delay() const noexcept {
        return std::chrono::milliseconds(sse_event_delay_ms(raw()));
    }
    std::uint32_t attempt() const noexcept { return sse_event_attempt(raw()); }
    sse_close_reason close_reason() const noexcept { return sse_event_close_reason(raw()); }
    std::size_t header_count() const noexcept { return sse_event_header_count(raw()); }
    // Header number `index`: (lowercased name, value).
    std::pair<std::string_view, std::string_view> header(std::size_t index) const {
        const char *name = nullptr, *value = nullptr;
        if (sse_event_header(raw(), index, &name, &value) != SSE_OK) {
            throw std::out_of_range("sse::event::header: no header at this index");
        }
        return {name, value};
    }
    // The value of the first header named `name` (any case).
    std::optional<std::string_view> header(const std::string &name) const {
        const char *value = sse_event_header_value(raw(), name.c_str());
        if (value == nullptr) return std::nullopt;
        return std::string_view(value);
    }

  private:
    const sse_event *raw() const noexcept { return static_cast<const Self *>(this)->get(); }
};
} // namespace detail

// An event borrowed for the duration of a callback; do not keep it.
class event_view : public detail::event_accessors<event_view> {
  public:
    explicit event_view(const sse_event *ev) noexcept : ev_(ev) {}
    const sse_event *get() const noexcept { return ev_; }

  private:
    const sse_event *ev_;
};

// An owned event (frees itself).
class event : public detail::event_accessors<event> {
  public:
    explicit event(sse_event *ev) noexcept : ev_(ev) {}
    const sse_event *get() const noexcept { return ev_.get(); }
    sse_event *release() noexcept { return ev_.release(); }
    operator event_view() const noexcept { return event_view(ev_.get()); }

  private:
    std::unique_ptr<sse_event, detail::event_free> ev_;
};

// The items of one network read, taken together by client::next_batch();
// its events are views valid while the batch lives.
class batch {
  public:
    explicit batch(sse_batch *b) noexcept : b_(b) {}
    sse_batch *get() const noexcept { return b_.get(); }
    std::size_t size() const noexcept { return sse_batch_len(get()); }
    event_view operator[](std::size_t index) const noexcept { return event_view(sse_batch_event(get(), index)); }

    class iterator {
      public:
        using iterator_category = std::input_iterator_tag;
        using value_type = event_view;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = event_view;
        iterator(const batch *owner, std::size_t index) noexcept : owner_(owner), index_(index) {}
        event_view operator*() const noexcept { return (*owner_)[index_]; }
        iterator &operator++() noexcept {
            ++index_;
            return *this;
        }
        friend bool operator==(const iterator &a, const iterator &b) noexcept { return a.index_ == b.index_; }
        friend bool operator!=(const iterator &a, const iterator &b) noexcept { return !(a == b); }

      private:
        const batch *owner_;
        std::size_t index_;
    };
    iterator begin() const noexcept { return iterator(this, 0); }
    iterator end() const noexcept { return iterator(this, size()); }

  private:
    std::unique_ptr<sse_batch, detail::batch_free> b_;
};

// The settings of a client (copied by the client at start). Setters
// return *this for chaining and throw sse::error on a refused value.
// One descriptor for many clients (sse_waitset): readable while some
// member has news; ready() gives their tokens. Move-only.
class wait_set {
  public:
    wait_set() : set_(sse_waitset_new()) {
        if (!set_) throw error(SSE_ERR_INTERNAL, "sse_waitset_new failed");
    }
    sse_waitset *get() const noexcept { return set_.get(); }
    int fd() const noexcept { return sse_waitset_fd(get()); }
    // The tokens of the members with news (oldest first), at most `max`.
    std::vector<std::uint64_t> ready(std::size_t max = 256) {
        std::vector<std::uint64_t> tokens(max);
        tokens.resize(sse_waitset_ready(get(), tokens.data(), tokens.size()));
        return tokens;
    }

  private:
    std::unique_ptr<sse_waitset, detail::waitset_free> set_;
};

// A loop for many clients that the program's own event loop runs on its
// thread (sse_loop): watch fd(), wait at most timeout(), then run(). No
// libsse thread. Move-only; its clients outlive it on a thread of their
// own.
class event_loop {
  public:
    event_loop() : loop_(sse_loop_new()) {
        if (!loop_) throw error(SSE_ERR_INTERNAL, "sse_loop_new failed");
    }
    sse_loop *get() const noexcept { return loop_.get(); }
    int fd() const noexcept { return sse_loop_fd(get()); }
    // How long the program may wait on fd() before run() is due:
    // std::nullopt when only readiness matters.
    std::optional<std::chrono::milliseconds> timeout() const noexcept {
        std::int32_t ms = sse_loop_timeout_ms(get());
        if (ms < 0) return std::nullopt;
        return std::chrono::milliseconds(ms);
    }
    // Runs the loop once, waiting at most `wait` for readiness. False once
    // the loop has moved to a thread of its own for good (a backlog, or
    // to_thread()): stop watching fd(). Throws from inside the loop.
    bool run(std::chrono::milliseconds wait = std::chrono::milliseconds(0)) {
        auto ms = wait.count() < 0 ? -1 : wait.count() > INT32_MAX ? INT32_MAX : wait.count();
        sse_status status = sse_loop_run(get(), static_cast<std::int32_t>(ms));
        if (status == SSE_ERR_ARGUMENT)
            throw error(status, "sse_loop_run from inside the loop (a callback or request hook)");
        return status != SSE_CLOSED;
    }
    // Hands the loop to a thread of its own for good; from any thread.
    void to_thread() {
        sse_status status = sse_loop_to_thread(get());
        if (status != SSE_OK) throw error(status, "sse_loop_to_thread failed");
    }

  private:
    std::unique_ptr<sse_loop, detail::loop_free> loop_;
};

class config {
  public:
    explicit config(const std::string &url) : cfg_(sse_config_new(url.c_str())) {
        if (!cfg_) throw error(SSE_ERR_URL, "invalid URL (not UTF-8)");
    }
    sse_config *get() const noexcept { return cfg_.get(); }

    config &url(const std::string &v) { return check(sse_config_set_url(get(), v.c_str())); }
    config &method(const std::string &v) { return check(sse_config_set_method(get(), v.c_str())); }
    config &header(const std::string &name, const std::string &value) {
        return check(sse_config_add_header(get(), name.c_str(), value.c_str()));
    }
    config &body(std::string_view v) {
        return check(sse_config_set_body(get(), reinterpret_cast<const std::uint8_t *>(v.data()),
                                         v.size()));
    }
    config &last_event_id(const std::string &v) {
        return check(sse_config_set_last_event_id(get(), v.c_str()));
    }
    config &connect_timeout(std::chrono::milliseconds v) {
        return check(sse_config_set_connect_timeout_ms(get(), ms(v)));
    }
    // 0 disables the read (idle) timeout.
    config &read_timeout(std::chrono::milliseconds v) {
        return check(sse_config_set_read_timeout_ms(get(), ms(v)));
    }
    config &retry_initial(std::chrono::milliseconds v) {
        return check(sse_config_set_retry_initial_ms(get(), ms(v)));
    }
    config &retry_max(std::chrono::milliseconds v) {
        return check(sse_config_set_retry_max_ms(get(), ms(v)));
    }
    config &retry_min(std::chrono::milliseconds v) {
        return check(sse_config_set_retry_min_ms(get(), ms(v)));
    }
    config &retry_jitter(double v) { return check(sse_config_set_retry_jitter(get(), v)); }
    config &retry_multiplier(double v) { return check(sse_config_set_retry_multiplier(get(), v)); }
    // -1: never give up; 0: never reconnect; N: give up after N attempts in a row.
    config &max_retries(std::int64_t v) { return check(sse_config_set_max_retries(get(), v)); }
    config &error_policy(sse_error_policy v) {
        return check(sse_config_set_error_policy(get(), static_cast<int32_t>(v)));
    }
    config &max_event_bytes(std::size_t v) {
        return check(sse_config_set_max_event_bytes(get(), v));
    }
    config &queue_capacity(std::size_t v) { return check(sse_config_set_queue_capacity(get(), v)); }
    config &ca_file(const std::string &path) {
        return check(sse_config_set_ca_file(get(), path.c_str()));
    }
    config &ca_pem(std::string_view pem) {
        return check(sse_config_set_ca_pem(
            get(), reinterpret_cast<const std::uint8_t *>(pem.data()), pem.size()));
    }
    config &insecure(bool v) { return check(sse_config_set_insecure(get(), v)); }
    // std::nullopt: the proxy environment variables; "": direct.
    config &proxy(const std::optional<std::string> &v) {
        return check(sse_config_set_proxy(get(), v ? v->c_str() : nullptr));
    }
    config &max_redirects(std::uint32_t v) { return check(sse_config_set_max_redirects(get(), v)); }
    config &messages_only(bool v) { return check(sse_config_set_messages_only(get(), v)); }
    // Clients of this config run on `l`, which the program runs (nullptr:
    // the shared background thread). The config keeps the loop alive.
    config &on_loop(const event_loop *l) {
        return check(sse_config_set_loop(get(), l ? l->get() : nullptr));
    }
    // Checks every setting now; throws what the client's start would.
    const config &validate() const { return check(sse_config_validate(get())); }

  private:
    static std::uint64_t ms(std::chrono::milliseconds v) {
        return v.count() < 0 ? 0 : static_cast<std::uint64_t>(v.count());
    }
    config &check(sse_status status) {
        static_cast<const config *>(this)->check(status);
        return *this;
    }
    const config &check(sse_status status) const {
        if (status != SSE_OK) throw error(status, detail::last_error(get()));
        return *this;
    }
    std::unique_ptr<sse_config, detail::config_free> cfg_;
};

// A running stream (driven by libsse's engine loop). Move-only; the
// destructor closes it and waits for its end (sse_client_free).
class client {
  public:
    // Called on the client's background thread with a borrowed event. An
    // exception escaping it closes the client (it cannot cross into C).
    using callback = std::function<void(event_view)>;
    static constexpr std::chrono::milliseconds forever{-1};

    explicit client(const config &cfg) {
        sse_client *raw = nullptr;
        sse_status status = sse_client_start(cfg.get(), &raw);
        if (status != SSE_OK) throw error(status, detail::last_error(cfg.get()));
        client_.reset(raw);
    }
    sse_client *get() const noexcept { return client_.get(); }

    // The next item, waiting up to `timeout` (forever by default).
    // std::nullopt when the timeout passed, or when the stream ended
    // normally (then ended() is true); throws sse::error when it ended
    // with an error.
    std::optional<event> next(std::chrono::milliseconds timeout = forever) {
        return take<event, sse_event>(timeout, sse_next_event);
    }
    // What is left of the oldest network read's items (at least one), as
    // one batch: the fastest way to take many events. Ends like next().
    std::optional<batch> next_batch(std::chrono::milliseconds timeout = forever) {
        return take<batch, sse_batch>(timeout, sse_next_batch);
    }
    // Whether next() or next_batch() saw the end of the stream.
    bool ended() const noexcept { return ended_; }

    // From now on, items go to `fn` on the background thread (items
    // queued so far first, on this thread). Not from inside a callback.
    void on_event(callback fn) {
        auto *state = new callback_state{std::move(fn), get()};
        sse_status status =
            sse_client_set_callback(get(), &client::trampoline, state, &client::free_state);
        if (status != SSE_OK) {
            delete state;
            throw error(status, detail::last_error(get()));
        }
    }
    // Back to pulling with next().
    void clear_callback() { check(sse_client_set_callback(get(), nullptr, nullptr, nullptr)); }

    void close() { check(sse_client_close(get())); }
    void interrupt() { check(sse_client_interrupt(get())); }
    // Lists this client in `set` under `token` whenever it has news.
    void join(const wait_set &set, std::uint64_t token) {
        check(sse_client_join_waitset(get(), set.get(), token));
    }
    // Readable while items are queued or the stream has ended (for poll/epoll).
    int fd() const {
        int fd = sse_client_fd(get());
        if (fd < 0) throw error(SSE_ERR_INTERNAL, detail::last_error(get()));
        return fd;
    }
    // Both safe from any thread, also while other threads use the client.
    std::string last_event_id() const { return detail::copied(sse_client_copy_last_event_id, get()); }
    std::string last_error() const { return detail::last_error(get()); }
    bool finished() const noexcept { return sse_client_is_finished(get()); }

    // Iterating a client takes its items until the stream ends (see next()).
    // A single-pass, move-only input iterator: made for range-for.
    class iterator {
      public:
        using iterator_category = std::input_iterator_tag;
        using value_type = event;
        using difference_type = std::ptrdiff_t;
        using pointer = const event *;
        using reference = const event &;

        iterator() noexcept = default;
        reference operator*() const noexcept { return *current_; }
        pointer operator->() const noexcept { return &*current_; }
        iterator &operator++() {
            advance();
            return *this;
        }
        void operator++(int) { advance(); }
        friend bool operator==(const iterator &a, const iterator &b) noexcept {
            return a.owner_ == b.owner_;
        }
        friend bool operator!=(const iterator &a, const iterator &b) noexcept { return !(a == b); }

      private:
        friend class client;
        explicit iterator(client *owner) : owner_(owner) { advance(); }
        void advance() {
            current_.reset();
            while (owner_ != nullptr) {
                current_ = owner_->next(forever);
                if (current_) return;
                if (owner_->ended()) owner_ = nullptr;
            }
        }
        client *owner_ = nullptr;
        std::optional<event> current_;
    };
    iterator begin() { return iterator(this); }
    iterator end() noexcept { return iterator(); }

  private:
    // What next() and next_batch() share: the wait, and the end of the stream.
    template <class Owned, class Raw>
    std::optional<Owned> take(std::chrono::milliseconds timeout, sse_status (*pull)(sse_client *, std::int32_t, Raw **)) {
        Raw *raw = nullptr;
        auto ms = timeout.count() < 0 ? -1 : timeout.count() > INT32_MAX ? INT32_MAX : timeout.count();
        sse_status status = pull(get(), static_cast<std::int32_t>(ms), &raw);
        switch (status) {
        case SSE_OK: return Owned(raw);
        case SSE_TIMEOUT: return std::nullopt;
        case SSE_CLOSED: ended_ = true; return std::nullopt;
        default: ended_ = true; throw error(status, detail::last_error(get()));
        }
    }
    struct callback_state {
        callback fn;
        sse_client *client;
    };
    static void trampoline(void *userdata, const sse_event *ev) noexcept {
        auto *state = static_cast<callback_state *>(userdata);
        try {
            state->fn(event_view(ev));
        } catch (...) {
            sse_client_close(state->client);
        }
    }
    static void free_state(void *userdata) noexcept { delete static_cast<callback_state *>(userdata); }
    void check(sse_status status) const {
        if (status != SSE_OK) throw error(status, detail::last_error(get()));
    }
    std::unique_ptr<sse_client, detail::client_free> client_;
    bool ended_ = false;
};

// The standalone incremental parser, for users with their own HTTP stack.
class parser {
  public:
    explicit parser(std::size_t max_event_bytes = 0) : parser_(sse_parser_new(max_event_bytes)) {
        if (!parser_) throw error(SSE_ERR_INTERNAL, "sse_parser_new failed");
    }
    sse_parser *get() const noexcept { return parser_.get(); }
    // Parses more bytes; throws sse::error(SSE_ERR_TOO_LARGE) when an event
    // grew past the limit (it is dropped; the rest was parsed).
    void feed(std::string_view bytes) {
        sse_status status =
            sse_parser_feed(get(), reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size());
        if (status != SSE_OK) throw error(status, "");
    }
    // The next message or comment parsed so far, if any.
    std::optional<event> next() {
        sse_event *raw = nullptr;
        if (sse_parser_next(get(), &raw) != SSE_OK) return std::nullopt;
        return event(raw);
    }
    // End of stream: drops an unterminated event.
    void finish() { sse_parser_finish(get()); }
    std::string last_event_id() { return std::string(detail::view(sse_parser_last_event_id(get()))); }
    std::optional<std::chrono::milliseconds> retry() const noexcept {
        std::int64_t ms = sse_parser_retry_ms(get());
        if (ms < 0) return std::nullopt;
        return std::chrono::milliseconds(ms);
    }

  private:
    std::unique_ptr<sse_parser, detail::parser_free> parser_;
};

} // namespace sse

#endif // LIBSSE_SSE_HPP
