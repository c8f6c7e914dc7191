// The C++ wrapper of an installed libsse, through libsse::sse: reads the
// demo server's finite stream (argv[1]) and prints "id data" per message.
#include <sse.hpp>

#include <iostream>

int main(int argc, char **argv) {
    if (argc != 2) {
        std::cerr << "usage: consumer_cpp URL\n";
        return 2;
    }
    try {
        sse::config cfg(argv[1]);
        cfg.max_retries(0).messages_only(true);
        sse::client client(cfg);
        for (const sse::event &ev : client) std::cout << ev.id() << ' ' << ev.data() << '\n';
        return 0;
    } catch (const sse::error &e) {
        std::cerr << "consumer_cpp: " << e.what() << '\n';
        return 1;
    }
}
