module libsse.dev/sse

go 1.19
