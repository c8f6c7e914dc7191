module libsse.dev/sse/examples/ssetail

go 1.19

require libsse.dev/sse v0.0.0

replace libsse.dev/sse => ../../bindings/go
