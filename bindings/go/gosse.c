#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include "gosse.h"
#include "_cgo_export.h"

gosse_batch *gosse_batch_new(size_t cap) {
	gosse_batch *b = calloc(1, sizeof *b);
	if (b == NULL) return NULL;
	b->evs = calloc(cap, sizeof *b->evs);
	b->items = calloc(cap, sizeof *b->items);
	if (b->evs == NULL || b->items == NULL) {
		free(b->evs);
		free(b->items);
		free(b);
		return NULL;
	}
	b->cap = cap;
	b->items_cap = cap;
	return b;
}

gosse_batch *gosse_client_batch_new(size_t items_cap) {
	gosse_batch *b = calloc(1, sizeof *b);
	if (b == NULL) return NULL;
	if (items_cap < 1) items_cap = 1;
	b->items = calloc(items_cap, sizeof *b->items);
	if (b->items == NULL) {
		free(b);
		return NULL;
	}
	b->items_cap = items_cap;
	return b;
}

void gosse_batch_release(gosse_batch *b) {
	if (b->packed != NULL) {
		sse_batch_free(b->packed);
		b->packed = NULL;
	} else {
		for (size_t i = 0; i < b->n; i++) {
			sse_event_free(b->evs[i]);
			b->evs[i] = NULL;
		}
	}
	b->n = 0;
}

void gosse_batch_free(gosse_batch *b) {
	if (b == NULL) return;
	gosse_batch_release(b);
	free(b->evs);
	free(b->items);
	free(b);
}

/* A packed batch's items are read in one call (sse_batch_views) straight
 * into `items`: gosse_item has sse_item_view's layout, field for field. */
_Static_assert(sizeof(gosse_item) == sizeof(struct sse_item_view), "gosse_item size");
_Static_assert(offsetof(gosse_item, ev) == offsetof(struct sse_item_view, event), "ev");
_Static_assert(offsetof(gosse_item, kind) == offsetof(struct sse_item_view, kind), "kind");
_Static_assert(sizeof(((gosse_item *)0)->kind) == sizeof(enum sse_kind), "kind size");
_Static_assert(offsetof(gosse_item, type) == offsetof(struct sse_item_view, event_type), "type");
_Static_assert(offsetof(gosse_item, type_len) == offsetof(struct sse_item_view, event_type_len), "type_len");
_Static_assert(offsetof(gosse_item, data) == offsetof(struct sse_item_view, data), "data");
_Static_assert(offsetof(gosse_item, data_len) == offsetof(struct sse_item_view, data_len), "data_len");
_Static_assert(offsetof(gosse_item, id) == offsetof(struct sse_item_view, id), "id");
_Static_assert(offsetof(gosse_item, id_len) == offsetof(struct sse_item_view, id_len), "id_len");
_Static_assert(offsetof(gosse_item, retry_ms) == offsetof(struct sse_item_view, retry_ms), "retry_ms");

/* Parser pulls (owned events, one by one): each accessor is a call into
 * libsse; fill makes as few as it can per
 * message: an id never contains NUL (sse.h), so strlen gives its length;
 * a type at the same address as the previous message's (within one batch,
 * where every string lives until the batch is freed: the library's
 * "message" for events without `event:`) has its length. */
static void fill(gosse_batch *b) {
	const char *last_type = NULL;
	size_t last_type_len = 0;
	for (size_t i = 0; i < b->n; i++) {
		/* Events of a packed batch are only read, never freed one by one. */
		struct sse_event *e = b->packed != NULL ? (struct sse_event *)sse_batch_event(b->packed, i)
		                                        : b->evs[i];
		gosse_item *it = &b->items[i];
		it->ev = e;
		it->kind = (int32_t)sse_event_kind(e);
		it->type = NULL;
		it->type_len = 0;
		it->data = NULL;
		it->data_len = 0;
		it->id = NULL;
		it->id_len = 0;
		it->retry_ms = -1;
		switch (it->kind) {
		case SSE_KIND_MESSAGE:
			it->type = sse_event_type(e);
			if (it->type == NULL || it->type != last_type) {
				it->type_len = sse_event_type_len(e); /* a type may hold NUL */
				last_type = it->type;
				last_type_len = it->type_len;
			} else {
				it->type_len = last_type_len;
			}
			it->id = sse_event_id(e);
			it->id_len = it->id != NULL ? strlen(it->id) : 0;
			it->retry_ms = sse_event_retry_ms(e);
			/* fallthrough */
		case SSE_KIND_COMMENT:
		case SSE_KIND_ERROR: {
			uintptr_t len = 0;
			it->data = sse_event_data(e, &len);
			it->data_len = len;
			break;
		}
		default:
			break;
		}
	}
}

/* Takes one packed batch (n items) into `b`, growing `items` if needed. */
static enum sse_status take_packed(struct sse_client *c, gosse_batch *b, int32_t timeout_ms) {
	gosse_batch_release(b);
	struct sse_batch *packed = NULL;
	enum sse_status st = sse_next_batch(c, timeout_ms, &packed);
	if (st != SSE_OK) return st;
	size_t n = sse_batch_len(packed);
	if (n > b->items_cap) {
		gosse_item *grown = realloc(b->items, n * sizeof *grown);
		if (grown == NULL) {
			sse_batch_free(packed);
			return SSE_ERR_INTERNAL;
		}
		b->items = grown;
		b->items_cap = n;
	}
	b->packed = packed;
	b->n = n;
	return SSE_OK;
}

enum sse_status gosse_client_pull(struct sse_client *c, gosse_batch *b, int32_t timeout_ms) {
	enum sse_status st = take_packed(c, b, timeout_ms);
	if (st != SSE_OK) return st;
	sse_batch_views(b->packed, 0, (struct sse_item_view *)(void *)b->items, b->n);
	return SSE_OK;
}

static int64_t now_ms(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

enum sse_status gosse_client_drain(struct sse_client *c, gosse_batch *b, int32_t max_ms) {
	int64_t deadline = now_ms() + max_ms;
	enum sse_status st;
	for (;;) {
		st = take_packed(c, b, 50);
		if (st != SSE_OK && st != SSE_TIMEOUT) break;
		if (now_ms() >= deadline) break;
	}
	gosse_batch_release(b);
	return st;
}

enum sse_status gosse_client_discard(struct sse_client *c, gosse_batch *b) {
	enum sse_status st;
	do {
		st = take_packed(c, b, 0);
	} while (st == SSE_OK);
	gosse_batch_release(b);
	return st;
}

int gosse_dup_cloexec(int fd) {
	if (fd < 0) return -1;
	return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

void gosse_waitset_wait(struct sse_waitset *set) {
	struct pollfd p = {.fd = sse_waitset_fd(set), .events = POLLIN};
	while (poll(&p, 1, -1) < 0 && errno == EINTR) {
	}
}

void gosse_parser_feed_take(struct sse_parser *p, const uint8_t *bytes, size_t len,
                            gosse_batch *b, enum sse_status *feed_status) {
	gosse_batch_release(b);
	*feed_status = SSE_OK;
	if (len > 0) *feed_status = sse_parser_feed(p, bytes, len);
	while (b->n < b->cap && sse_parser_next(p, &b->evs[b->n]) == SSE_OK) b->n++;
	fill(b);
}

static void gosse_log_trampoline(void *userdata, enum sse_log_level level, const char *message) {
	gosseLog((uintptr_t)userdata, (int32_t)level, (char *)message);
}

void gosse_set_log(int on, uintptr_t handle, int32_t max_level) {
	if (on) {
		sse_set_log_callback(gosse_log_trampoline, (void *)handle, max_level);
	} else {
		sse_set_log_callback(NULL, NULL, max_level);
	}
}

static enum sse_status gosse_request_hook_trampoline(void *userdata, struct sse_request *request) {
	return (enum sse_status)gosseRequestHook((uintptr_t)userdata, request);
}

static void gosse_request_hook_free(void *userdata) {
	gosseRequestHookFree((uintptr_t)userdata);
}

enum sse_status gosse_config_set_request_hook(struct sse_config *cfg, uintptr_t handle) {
	return sse_config_set_request_hook(cfg, gosse_request_hook_trampoline, (void *)handle,
	                                   gosse_request_hook_free);
}
