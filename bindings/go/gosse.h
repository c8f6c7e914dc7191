/* Helpers of the Go binding: batch conversion so that Go crosses cgo once
 * per batch of items, not once per accessor call. Internal to the package. */
#ifndef LIBSSE_GOSSE_H
#define LIBSSE_GOSSE_H

#include <stdint.h>
#include <stdlib.h>
/* Every cgo file includes this: a missing header gets the readable message
 * in each of them, whichever the compiler reports first (check_link.go adds
 * the library file itself). */
#if defined(__has_include)
#if !__has_include("sse.h")
#error "libsse is not built: run `cargo build --release` (or `make`) in the libsse checkout (include/sse.h, target/release). Outside a checkout: install libsse (`make install`) and build with -tags libsse_pkgconfig."
#endif
#endif
#include "sse.h"

/* The strings of one item, borrowed from `ev` (valid until the batch is
 * released). */
typedef struct gosse_item {
	struct sse_event *ev;
	int32_t kind;
	const char *type;
	size_t type_len;
	const char *data;
	size_t data_len;
	const char *id;
	size_t id_len;
	int64_t retry_ms; /* a message's own retry: value; -1 if none */
} gosse_item;

/* A batch of items in C memory, reused for every pull. Client pulls take
 * a packed libsse batch (`packed`, which owns its events: one free for
 * all); parser pulls take owned events into `evs`. */
typedef struct gosse_batch {
	struct sse_batch *packed;
	struct sse_event **evs; /* cap slots */
	gosse_item *items;      /* items_cap slots (grows for large client batches) */
	size_t n;
	size_t cap;
	size_t items_cap;
} gosse_batch;

gosse_batch *gosse_batch_new(size_t cap);
/* A batch for client pulls only (packed batches: no `evs`), with room for
 * `items_cap` items to start with (it grows with the batches taken). */
gosse_batch *gosse_client_batch_new(size_t items_cap);
/* Frees the items of the last pull (n becomes 0). */
void gosse_batch_release(gosse_batch *b);
/* Frees the events and the batch. NULL is a no-op. */
void gosse_batch_free(gosse_batch *b);

/* Releases the previous batch, then sse_next_batch into `b`. */
enum sse_status gosse_client_pull(struct sse_client *c, gosse_batch *b, int32_t timeout_ms);

/* After sse_client_close: takes and frees queued items until the stream
 * reports its end or `max_ms` passed. Works around a libsse bug: a worker
 * blocked on a full queue when the client is closed waits for room to
 * queue its final "closed" item, so sse_client_free would wait 2 s and
 * then leave the thread parked for ever. Returns the last status. */
enum sse_status gosse_client_drain(struct sse_client *c, gosse_batch *b, int32_t max_ms);

/* Takes and frees every item queued now, without waiting; returns the
 * last status (SSE_TIMEOUT: nothing left for now; else the end). */
enum sse_status gosse_client_discard(struct sse_client *c, gosse_batch *b);

/* A close-on-exec duplicate of `fd` (-1 on failure). */
int gosse_dup_cloexec(int fd);

/* Waits (poll, no timeout) until the wait set's descriptor is readable. */
void gosse_waitset_wait(struct sse_waitset *set);

/* Releases the previous batch, feeds `len` bytes (when `len` > 0), then
 * takes up to b->cap parsed items into `b`. `*feed_status` receives the
 * status of the feed (SSE_OK when nothing was fed). */
void gosse_parser_feed_take(struct sse_parser *p, const uint8_t *bytes, size_t len,
                            gosse_batch *b, enum sse_status *feed_status);

/* Installs the Go log trampoline with a cgo.Handle as userdata; or
 * removes it when `on` is 0. */
void gosse_set_log(int on, uintptr_t handle, int32_t max_level);

/* Installs the Go request-hook trampoline on `cfg` with a cgo.Handle as
 * userdata; libsse deletes the handle (through the Go side) once neither
 * the config nor a client uses the hook. */
enum sse_status gosse_config_set_request_hook(struct sse_config *cfg, uintptr_t handle);

#endif
