"""The C declarations of libsse, as cffi's ``cdef`` reads them.

cffi cannot parse ``include/sse.h`` as cbindgen writes it (comments,
preprocessor lines, the ``extern "C"`` block), so the declarations are kept
here, copied from the header without comments. ``tests/test_abi.py`` checks
that every prototype here matches the header exactly, so a change of the
C ABI fails the test suite instead of corrupting memory at run time.
"""

TYPES = """
typedef enum sse_status {
  SSE_OK = 0,
  SSE_TIMEOUT = 1,
  SSE_CLOSED = 2,
  SSE_ERR_ARGUMENT = 3,
  SSE_ERR_URL = 4,
  SSE_ERR_CONNECT = 5,
  SSE_ERR_TLS = 6,
  SSE_ERR_HTTP_STATUS = 7,
  SSE_ERR_CONTENT_TYPE = 8,
  SSE_ERR_IO = 9,
  SSE_ERR_TOO_LARGE = 10,
  SSE_ERR_RETRIES_EXHAUSTED = 11,
  SSE_ERR_INTERNAL = 12,
  SSE_ERR_READ_TIMEOUT = 13,
  SSE_ERR_REQUEST_HOOK = 14,
} sse_status;

typedef enum sse_kind {
  SSE_KIND_MESSAGE = 0,
  SSE_KIND_COMMENT = 1,
  SSE_KIND_OPEN = 2,
  SSE_KIND_ERROR = 3,
  SSE_KIND_RECONNECTING = 4,
  SSE_KIND_CLOSED = 5,
} sse_kind;

typedef enum sse_close_reason {
  SSE_CLOSE_NONE = 0,
  SSE_CLOSE_NO_CONTENT = 1,
  SSE_CLOSE_END_OF_STREAM = 2,
  SSE_CLOSE_BY_USER = 3,
  SSE_CLOSE_ERROR = 4,
} sse_close_reason;

typedef enum sse_log_level {
  SSE_LOG_ERROR = 1,
  SSE_LOG_WARN = 2,
  SSE_LOG_INFO = 3,
  SSE_LOG_DEBUG = 4,
} sse_log_level;

typedef enum sse_error_policy {
  SSE_RETRY_DEFAULT = 0,
  SSE_RETRY_ALL = 1,
  SSE_RETRY_NEVER = 2,
} sse_error_policy;

typedef enum sse_on_end {
  SSE_ON_END_BY_METHOD = 0,
  SSE_ON_END_RECONNECT = 1,
  SSE_ON_END_END = 2,
} sse_on_end;

typedef struct sse_client sse_client;
typedef struct sse_config sse_config;
typedef struct sse_event sse_event;
typedef struct sse_parser sse_parser;
typedef struct sse_batch sse_batch;
typedef struct sse_request sse_request;
typedef struct sse_waitset sse_waitset;
typedef struct sse_loop sse_loop;

#define SSE_STATS_STATUS_SLOTS 32
#define SSE_STATS_MESSAGE_BYTES 256

typedef struct sse_item_view {
  const struct sse_event *event;
  enum sse_kind kind;
  const char *event_type;
  uintptr_t event_type_len;
  const char *data;
  uintptr_t data_len;
  const char *id;
  uintptr_t id_len;
  int64_t retry_ms;
} sse_item_view;

typedef struct sse_stats {
  uintptr_t size;
  uint64_t events;
  uint64_t data_bytes;
  uint64_t wire_bytes;
  uint64_t connections;
  uint64_t reconnects;
  uint64_t errors;
  uint64_t errors_by_status[SSE_STATS_STATUS_SLOTS];
  uint64_t queue_depth;
  uint64_t queue_peak;
  uint64_t connected_ms;
  uint64_t last_event_unix_ms;
  uint64_t last_error_unix_ms;
  int32_t last_error_status;
  bool connected;
  char last_error[SSE_STATS_MESSAGE_BYTES];
} sse_stats;

typedef void (*sse_callback)(void *userdata, const struct sse_event *event);
typedef void (*sse_userdata_free)(void *userdata);
typedef void (*sse_log_callback)(void *userdata, enum sse_log_level level, const char *message);
typedef enum sse_status (*sse_request_hook)(void *userdata, struct sse_request *request);
"""

FUNCTIONS = """
const char *sse_version(void);
enum sse_status sse_client_start(const struct sse_config *config, struct sse_client **out);
enum sse_status sse_next_event(struct sse_client *client, int32_t timeout_ms, struct sse_event **out);
enum sse_status sse_next_events(struct sse_client *client, struct sse_event **events, uintptr_t max, int32_t timeout_ms, uintptr_t *count);
enum sse_status sse_next_batch(struct sse_client *client, int32_t timeout_ms, struct sse_batch **out);
uintptr_t sse_batch_len(const struct sse_batch *batch);
const struct sse_event *sse_batch_event(const struct sse_batch *batch, uintptr_t index);
uintptr_t sse_batch_views(const struct sse_batch *batch, uintptr_t first, struct sse_item_view *out, uintptr_t max);
void sse_batch_free(struct sse_batch *batch);
enum sse_status sse_client_set_callback(struct sse_client *client, sse_callback callback, void *userdata, sse_userdata_free userdata_free);
int32_t sse_client_fd(const struct sse_client *client);
enum sse_status sse_client_interrupt(struct sse_client *client);
enum sse_status sse_client_close(struct sse_client *client);
void sse_client_free(struct sse_client *client);
const char *sse_client_last_error(const struct sse_client *client);
const char *sse_client_last_event_id(const struct sse_client *client);
enum sse_status sse_client_copy_last_error(const struct sse_client *client, char *buf, uintptr_t cap, uintptr_t *needed);
enum sse_status sse_client_copy_last_event_id(const struct sse_client *client, char *buf, uintptr_t cap, uintptr_t *needed);
bool sse_client_is_finished(const struct sse_client *client);
enum sse_status sse_client_stats(const struct sse_client *client, struct sse_stats *out);
enum sse_status sse_client_join_waitset(struct sse_client *client, const struct sse_waitset *set, uint64_t token);
struct sse_waitset *sse_waitset_new(void);
int32_t sse_waitset_fd(const struct sse_waitset *set);
uintptr_t sse_waitset_ready(struct sse_waitset *set, uint64_t *tokens, uintptr_t cap);
void sse_waitset_free(struct sse_waitset *set);
struct sse_loop *sse_loop_new(void);
int32_t sse_loop_fd(const struct sse_loop *event_loop);
int32_t sse_loop_timeout_ms(const struct sse_loop *event_loop);
enum sse_status sse_loop_run(const struct sse_loop *event_loop, int32_t timeout_ms);
enum sse_status sse_loop_to_thread(const struct sse_loop *event_loop);
void sse_loop_free(struct sse_loop *event_loop);
struct sse_config *sse_config_new(const char *url);
void sse_config_free(struct sse_config *config);
const char *sse_config_last_error(const struct sse_config *config);
enum sse_status sse_config_copy_last_error(const struct sse_config *config, char *buf, uintptr_t cap, uintptr_t *needed);
enum sse_status sse_config_set_url(struct sse_config *config, const char *value);
enum sse_status sse_config_set_method(struct sse_config *config, const char *value);
enum sse_status sse_config_set_last_event_id(struct sse_config *config, const char *value);
enum sse_status sse_config_add_header(struct sse_config *config, const char *name, const char *value);
enum sse_status sse_config_set_body(struct sse_config *config, const uint8_t *body, uintptr_t len);
enum sse_status sse_config_set_connect_timeout_ms(struct sse_config *config, uint64_t millis);
enum sse_status sse_config_set_read_timeout_ms(struct sse_config *config, uint64_t millis);
enum sse_status sse_config_set_retry_initial_ms(struct sse_config *config, uint64_t millis);
enum sse_status sse_config_set_retry_max_ms(struct sse_config *config, uint64_t millis);
enum sse_status sse_config_set_retry_min_ms(struct sse_config *config, uint64_t millis);
enum sse_status sse_config_set_retry_reset_ms(struct sse_config *config, uint64_t millis);
enum sse_status sse_config_set_max_retry_elapsed_ms(struct sse_config *config, uint64_t millis);
enum sse_status sse_config_set_retry_multiplier(struct sse_config *config, double multiplier);
enum sse_status sse_config_set_retry_jitter(struct sse_config *config, double jitter);
enum sse_status sse_config_set_max_retries(struct sse_config *config, int64_t attempts);
enum sse_status sse_config_set_retry_first_connect(struct sse_config *config, bool retry);
enum sse_status sse_config_set_error_policy(struct sse_config *config, int32_t policy);
enum sse_status sse_config_set_max_event_bytes(struct sse_config *config, uintptr_t bytes);
enum sse_status sse_config_set_queue_capacity(struct sse_config *config, uintptr_t items);
enum sse_status sse_config_set_ca_file(struct sse_config *config, const char *path);
enum sse_status sse_config_set_client_cert_file(struct sse_config *config, const char *cert_path, const char *key_path);
enum sse_status sse_config_set_client_cert_pem(struct sse_config *config, const uint8_t *cert_pem, uintptr_t cert_len, const uint8_t *key_pem, uintptr_t key_len);
enum sse_status sse_config_set_ca_pem(struct sse_config *config, const uint8_t *pem, uintptr_t len);
enum sse_status sse_config_set_insecure(struct sse_config *config, bool insecure);
enum sse_status sse_config_set_proxy(struct sse_config *config, const char *proxy_url);
enum sse_status sse_config_set_max_redirects(struct sse_config *config, uint32_t count);
enum sse_status sse_config_add_sensitive_header(struct sse_config *config, const char *name);
enum sse_status sse_config_add_event_type(struct sse_config *config, const char *event_type);
enum sse_status sse_config_set_allow_https_downgrade(struct sse_config *config, bool allow);
enum sse_status sse_config_set_max_response_head_bytes(struct sse_config *config, uintptr_t bytes);
enum sse_status sse_config_set_max_retry_after_ms(struct sse_config *config, uint64_t millis);
enum sse_status sse_config_set_messages_only(struct sse_config *config, bool only);
enum sse_status sse_config_set_own_thread(struct sse_config *config, bool own);
enum sse_status sse_config_set_driven_by_caller(struct sse_config *config, bool driven);
enum sse_status sse_config_set_loop(struct sse_config *config, const struct sse_loop *event_loop);
enum sse_status sse_config_set_on_end(struct sse_config *config, int32_t on_end);
enum sse_status sse_config_validate(const struct sse_config *config);
const char *sse_status_name(int32_t status);
enum sse_kind sse_event_kind(const struct sse_event *event);
const char *sse_event_type(const struct sse_event *event);
const char *sse_event_data(const struct sse_event *event, uintptr_t *len);
const char *sse_event_id(const struct sse_event *event);
uintptr_t sse_event_type_len(const struct sse_event *event);
uintptr_t sse_event_id_len(const struct sse_event *event);
uint16_t sse_event_http_status(const struct sse_event *event);
enum sse_status sse_event_error_status(const struct sse_event *event);
const char *sse_event_error_body(const struct sse_event *event, uintptr_t *len);
bool sse_event_is_fatal(const struct sse_event *event);
int64_t sse_event_retry_after_ms(const struct sse_event *event);
int64_t sse_event_retry_ms(const struct sse_event *event);
uint64_t sse_event_delay_ms(const struct sse_event *event);
uint32_t sse_event_attempt(const struct sse_event *event);
enum sse_close_reason sse_event_close_reason(const struct sse_event *event);
uintptr_t sse_event_header_count(const struct sse_event *event);
enum sse_status sse_event_header(const struct sse_event *event, uintptr_t index, const char **name, const char **value);
const char *sse_event_header_value(const struct sse_event *event, const char *name);
void sse_event_free(struct sse_event *event);
void sse_set_log_callback(sse_log_callback callback, void *userdata, int32_t max_level);
struct sse_parser *sse_parser_new(uintptr_t max_event_bytes);
enum sse_status sse_parser_feed(struct sse_parser *parser, const uint8_t *bytes, uintptr_t len);
enum sse_status sse_parser_next(struct sse_parser *parser, struct sse_event **out);
enum sse_status sse_parser_finish(struct sse_parser *parser);
const char *sse_parser_last_event_id(struct sse_parser *parser);
int64_t sse_parser_retry_ms(const struct sse_parser *parser);
void sse_parser_free(struct sse_parser *parser);
enum sse_status sse_config_set_request_hook(struct sse_config *config, sse_request_hook hook, void *userdata, sse_userdata_free userdata_free);
const char *sse_request_url(const struct sse_request *request);
enum sse_status sse_request_set_header(struct sse_request *request, const char *name, const char *value);
enum sse_status sse_request_remove_header(struct sse_request *request, const char *name);
enum sse_status sse_request_set_query(struct sse_request *request, const char *query);
enum sse_status sse_request_fail(struct sse_request *request, const char *message);
"""

CDEF = TYPES + FUNCTIONS
