package sse

// LiveRequestHooks returns how many request-hook handles libsse has not
// released yet (each WithRequestHook in a Connect makes one).
func LiveRequestHooks() int64 { return liveHooks.Load() }
