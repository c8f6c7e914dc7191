// A short C++17 consumer using include/sse.hpp (RAII over sse.h):
//
//   sse-cpp-example URL [COUNT]
//
// Prints COUNT (default 10) message events as "id: data", then closes.
// Errors arrive as sse::error exceptions carrying the libsse status.
// Build: c++ -std=c++17 -Iinclude examples/cpp/events.cpp -Ltarget/release -lsse
// (or `make build/sse-cpp-example`).
#include <cstdlib>
#include <iostream>
#include <string>

#include "sse.hpp"

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        std::cerr << "usage: " << argv[0] << " URL [COUNT]\n";
        return 2;
    }
    const long wanted = argc == 3 ? std::strtol(argv[2], nullptr, 10) : 10;
    try {
        sse::config cfg(argv[1]);
        cfg.header("User-Agent", std::string("sse-cpp-example/") + std::string(sse::version()))
            .messages_only(true)   // skip open/comment/error/reconnecting items
            .max_retries(5);       // give up after 5 failed reconnections in a row
        sse::client client(cfg);   // starts the background thread
        long seen = 0;
        for (const sse::event &ev : client) {    // blocks for each event
            std::cout << (ev.id().empty() ? "-" : ev.id()) << ": " << ev.data() << '\n';
            if (++seen == wanted) break;         // the destructor closes the stream
        }
        std::cout << "received " << seen << " events (last id: " << client.last_event_id() << ")\n";
        return 0;
    } catch (const sse::error &e) {
        std::cerr << "sse-cpp-example: " << e.what() << '\n';
        return 1;
    }
}
