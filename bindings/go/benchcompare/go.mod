module libsse.dev/sse/benchcompare

go 1.26

require (
	github.com/tmaxmax/go-sse v0.12.0
	libsse.dev/sse v0.0.0
)

replace libsse.dev/sse => ../
