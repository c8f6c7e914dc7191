package sse

// #include "gosse.h"
import "C"

// Version returns the version of the linked libsse, e.g. "0.1.0".
func Version() string { return C.GoString(C.sse_version()) }
