package sse

// #include "gosse.h"
import "C"

// abiConstants pairs each exported constant (written as a literal, so
// that go doc shows its value) with the C enum value it must equal;
// TestConstantsMatchTheHeader checks them.
func abiConstants() []struct {
	value  int
	name   string
	cValue int
} {
	return []struct {
		value  int
		name   string
		cValue int
	}{
		{int(CodeOK), "SSE_OK", int(C.SSE_OK)},
		{int(CodeTimeout), "SSE_TIMEOUT", int(C.SSE_TIMEOUT)},
		{int(CodeClosed), "SSE_CLOSED", int(C.SSE_CLOSED)},
		{int(CodeArgument), "SSE_ERR_ARGUMENT", int(C.SSE_ERR_ARGUMENT)},
		{int(CodeURL), "SSE_ERR_URL", int(C.SSE_ERR_URL)},
		{int(CodeConnect), "SSE_ERR_CONNECT", int(C.SSE_ERR_CONNECT)},
		{int(CodeTLS), "SSE_ERR_TLS", int(C.SSE_ERR_TLS)},
		{int(CodeHTTPStatus), "SSE_ERR_HTTP_STATUS", int(C.SSE_ERR_HTTP_STATUS)},
		{int(CodeContentType), "SSE_ERR_CONTENT_TYPE", int(C.SSE_ERR_CONTENT_TYPE)},
		{int(CodeIO), "SSE_ERR_IO", int(C.SSE_ERR_IO)},
		{int(CodeTooLarge), "SSE_ERR_TOO_LARGE", int(C.SSE_ERR_TOO_LARGE)},
		{int(CodeRetriesExhausted), "SSE_ERR_RETRIES_EXHAUSTED", int(C.SSE_ERR_RETRIES_EXHAUSTED)},
		{int(CodeInternal), "SSE_ERR_INTERNAL", int(C.SSE_ERR_INTERNAL)},
		{int(CodeReadTimeout), "SSE_ERR_READ_TIMEOUT", int(C.SSE_ERR_READ_TIMEOUT)},
		{int(CodeRequestHook), "SSE_ERR_REQUEST_HOOK", int(C.SSE_ERR_REQUEST_HOOK)},
		{int(KindMessage), "SSE_KIND_MESSAGE", int(C.SSE_KIND_MESSAGE)},
		{int(KindComment), "SSE_KIND_COMMENT", int(C.SSE_KIND_COMMENT)},
		{int(KindOpen), "SSE_KIND_OPEN", int(C.SSE_KIND_OPEN)},
		{int(KindError), "SSE_KIND_ERROR", int(C.SSE_KIND_ERROR)},
		{int(KindReconnecting), "SSE_KIND_RECONNECTING", int(C.SSE_KIND_RECONNECTING)},
		{int(KindClosed), "SSE_KIND_CLOSED", int(C.SSE_KIND_CLOSED)},
		{int(CloseNone), "SSE_CLOSE_NONE", int(C.SSE_CLOSE_NONE)},
		{int(CloseNoContent), "SSE_CLOSE_NO_CONTENT", int(C.SSE_CLOSE_NO_CONTENT)},
		{int(CloseEndOfStream), "SSE_CLOSE_END_OF_STREAM", int(C.SSE_CLOSE_END_OF_STREAM)},
		{int(CloseByUser), "SSE_CLOSE_BY_USER", int(C.SSE_CLOSE_BY_USER)},
		{int(CloseError), "SSE_CLOSE_ERROR", int(C.SSE_CLOSE_ERROR)},
		{int(LogError), "SSE_LOG_ERROR", int(C.SSE_LOG_ERROR)},
		{int(LogWarn), "SSE_LOG_WARN", int(C.SSE_LOG_WARN)},
		{int(LogInfo), "SSE_LOG_INFO", int(C.SSE_LOG_INFO)},
		{int(LogDebug), "SSE_LOG_DEBUG", int(C.SSE_LOG_DEBUG)},
		{int(RetryDefault), "SSE_RETRY_DEFAULT", int(C.SSE_RETRY_DEFAULT)},
		{int(RetryAll), "SSE_RETRY_ALL", int(C.SSE_RETRY_ALL)},
		{int(RetryNever), "SSE_RETRY_NEVER", int(C.SSE_RETRY_NEVER)},
		{int(OnEndByMethod), "SSE_ON_END_BY_METHOD", int(C.SSE_ON_END_BY_METHOD)},
		{int(OnEndReconnect), "SSE_ON_END_RECONNECT", int(C.SSE_ON_END_RECONNECT)},
		{int(OnEndEnd), "SSE_ON_END_END", int(C.SSE_ON_END_END)},
	}
}
