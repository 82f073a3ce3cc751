/*
 * gts_accept: let a worker pause accepting on a listening socket it shares with its siblings.
 *
 * Node has no public way to stop polling a listening socket, so a busy worker keeps accepting
 * connections that an idle sibling could serve. This addon polls the inherited listening fd
 * with uv_poll on the caller's own event loop (main thread or worker thread), accept4()s only
 * while started, and hands each connection's raw fd to JavaScript, which wraps it in a
 * net.Socket (or passes it to a worker thread). Stopping the poll leaves pending connections
 * in the kernel queue for another process.
 *
 * Exports:
 *   create(fd, callback, batch) -> acceptor   callback(fd, address, port) gets a connection fd
 *                                              and its peer (from accept4: no getpeername()
 *                                              later; address undefined for a unix socket), or
 *                                              callback(-errno)
 *   start(acceptor), stop(acceptor), close(acceptor)
 *   acceptNow(acceptor) -> fd | -errno         one accept4() now, whether polling or not; a
 *                                              connection goes to the callback before it
 *                                              returns (-EAGAIN: nothing waiting)
 *   setCork(fd, on) -> boolean                 TCP_CORK on a connection (see response-cork.ts);
 *                                              false if not TCP
 *   shutdownWrite(fd) -> boolean               shutdown(fd, SHUT_WR) now (libuv's comes a loop
 *                                              turn later); false on error
 *   inheritNoDelay(fd) -> boolean              TCP_NODELAY on a listening socket, which Linux
 *                                              copies to every connection accepted from it (as
 *                                              Gunicorn sets it); false if not TCP
 *   listen(fd, backlog)                        listen(2) without polling (the master)
 *   sockname(fd) -> {family: 4|6, address, port} | {family: 'unix', path}
 *   closeFd(fd)                                close(2) (a listening fd a worker inherited)
 *   getppid() -> number                        the current parent (process.ppid is cached)
 *   bindUnix(path) -> fd                       a bound AF_UNIX socket whose close() does not
 *                                              unlink the path (libuv's pipe close does)
 *   boardCreate(bytes) -> fd                   an anonymous shared-memory file (memfd) that the
 *                                              master passes to its workers
 *   boardMap(fd, bytes) -> ArrayBuffer         that memory, mapped shared: workers publish their
 *                                              connection counts in it (see load-board.ts)
 *   armQuickExit(graceMs)                      from now on a QUIT or INT ends the process
 *                                              graceMs later even if JavaScript cannot run (a
 *                                              handler blocking the event loop): a thread of
 *                                              ours with its own loop watches the two signals
 *                                              (libuv tells every loop that watches one)
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CHECK(env, call)                                   \
  do {                                                     \
    if ((call) != napi_ok) {                               \
      napi_throw_error((env), NULL, "gts_accept: " #call); \
      return NULL;                                         \
    }                                                      \
  } while (0)

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  int fd;
  int batch;
  int running;
  int closing;
  int handle_closed;
  int finalized;
} acceptor_t;

static void maybe_free(acceptor_t* a) {
  if (a->handle_closed && a->finalized) free(a);
}

static void on_handle_closed(uv_handle_t* handle) {
  acceptor_t* a = (acceptor_t*)handle->data;
  napi_delete_reference(a->env, a->callback);
  napi_async_destroy(a->env, a->async);
  a->handle_closed = 1;
  maybe_free(a);
}

static void begin_close(acceptor_t* a) {
  if (a->closing) return;
  a->closing = 1;
  a->running = 0;
  uv_poll_stop(&a->poll);
  uv_close((uv_handle_t*)&a->poll, on_handle_closed);
}

/* An IPv4 or IPv6 address as text (into `text`) with its port and family (4 or 6); NULL for any
 * other family. */
static const char* inet_text(const struct sockaddr_storage* ss, char text[INET6_ADDRSTRLEN], int* port, int* family) {
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in* sin = (const struct sockaddr_in*)ss;
    *port = ntohs(sin->sin_port);
    *family = 4;
    return inet_ntop(AF_INET, &sin->sin_addr, text, INET6_ADDRSTRLEN);
  }
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6* sin6 = (const struct sockaddr_in6*)ss;
    *port = ntohs(sin6->sin6_port);
    *family = 6;
    return inet_ntop(AF_INET6, &sin6->sin6_addr, text, INET6_ADDRSTRLEN);
  }
  return NULL;
}

/* The callback's arguments: fd or -errno, then the peer's address and port (undefined when
 * there is none: an error, a unix socket). */
static int peer_args(napi_env env, int value, const struct sockaddr_storage* peer, napi_value argv[3]) {
  char text[INET6_ADDRSTRLEN];
  int port = 0, family = 0;
  const char* address = value >= 0 ? inet_text(peer, text, &port, &family) : NULL;
  if (napi_create_int32(env, value, &argv[0]) != napi_ok) return 0;
  if (address == NULL) {
    if (napi_get_undefined(env, &argv[1]) != napi_ok) return 0;
    argv[2] = argv[1];
    return 1;
  }
  return napi_create_string_latin1(env, address, NAPI_AUTO_LENGTH, &argv[1]) == napi_ok &&
         napi_create_int32(env, port, &argv[2]) == napi_ok;
}

static void deliver(acceptor_t* a, int value, const struct sockaddr_storage* peer) {
  napi_env env = a->env;
  napi_handle_scope scope;
  napi_value cb, recv, argv[3], result;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_get_reference_value(env, a->callback, &cb) == napi_ok && cb != NULL &&
      napi_get_global(env, &recv) == napi_ok && peer_args(env, value, peer, argv)) {
    /* make_callback drains process.nextTick and microtasks afterwards, as for any libuv event. */
    napi_status status = napi_make_callback(env, a->async, recv, cb, 3, argv, &result);
    if (status == napi_pending_exception) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
      napi_fatal_exception(env, exc);
    }
  }
  napi_close_handle_scope(env, scope);
}

/* accept4(), retried on the errors that concern only the connection that went away. */
static int accept_one(int listen_fd, struct sockaddr_storage* peer) {
  int fd;
  do {
    socklen_t len = sizeof *peer;
    peer->ss_family = AF_UNSPEC;
    fd = accept4(listen_fd, (struct sockaddr*)peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } while (fd < 0 && (errno == EINTR || errno == ECONNABORTED || errno == EPROTO));
  if (fd >= 0) return fd;
  return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static void on_readable(uv_poll_t* handle, int status, int events) {
  acceptor_t* a = (acceptor_t*)handle->data;
  struct sockaddr_storage peer;
  if (status < 0) {
    deliver(a, status, NULL);
    return;
  }
  /* Accept at most `batch` per wake-up, and stop at once if the callback paused us. */
  for (int i = 0; i < a->batch && a->running && !a->closing; i++) {
    int fd = accept_one(a->fd, &peer);
    if (fd == -EAGAIN) return; /* a sibling won the race */
    deliver(a, fd, &peer); /* -EMFILE and friends: JS decides whether to back off */
    if (fd < 0) return;
  }
}

static acceptor_t* unwrap(napi_env env, napi_value value) {
  void* data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "gts_accept: not an acceptor");
    return NULL;
  }
  return (acceptor_t*)data;
}

static void finalize_acceptor(napi_env env, void* data, void* hint) {
  acceptor_t* a = (acceptor_t*)data;
  a->finalized = 1;
  if (!a->closing) {
    begin_close(a);
    return;
  }
  maybe_free(a);
}

/* The first `n` arguments as int32s; false (with a JavaScript exception pending) if one is not. */
static int int_args(napi_env env, napi_callback_info info, int32_t* out, size_t n) {
  napi_value argv[4];
  size_t argc = n;
  if (n > 4 || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  for (size_t i = 0; i < n; i++) {
    if (i >= argc || napi_get_value_int32(env, argv[i], &out[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "gts_accept: expected integer arguments");
      return 0;
    }
  }
  return 1;
}

static napi_value boolean(napi_env env, int value) {
  napi_value result;
  return napi_get_boolean(env, value, &result) == napi_ok ? result : NULL;
}

static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result, resource_name;
  int32_t fd, batch = 1;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "create(fd, callback[, batch])");
    return NULL;
  }
  CHECK(env, napi_get_value_int32(env, argv[0], &fd));
  if (argc >= 3) CHECK(env, napi_get_value_int32(env, argv[2], &batch));
  if (batch < 1) batch = 1;

  uv_loop_t* loop;
  CHECK(env, napi_get_uv_event_loop(env, &loop));
  acceptor_t* a = (acceptor_t*)calloc(1, sizeof(acceptor_t));
  if (a == NULL) {
    napi_throw_error(env, NULL, "gts_accept: out of memory");
    return NULL;
  }
  a->env = env;
  a->fd = fd;
  a->batch = batch;
  int err = uv_poll_init(loop, &a->poll, fd);
  if (err != 0) {
    free(a);
    napi_throw_error(env, uv_err_name(err), uv_strerror(err));
    return NULL;
  }
  a->poll.data = a;
  CHECK(env, napi_create_reference(env, argv[1], 1, &a->callback));
  CHECK(env, napi_create_string_utf8(env, "gts_accept", NAPI_AUTO_LENGTH, &resource_name));
  CHECK(env, napi_async_init(env, NULL, resource_name, &a->async));
  CHECK(env, napi_create_external(env, a, finalize_acceptor, NULL, &result));
  return result;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  acceptor_t* a = unwrap(env, argv[0]);
  if (a == NULL || a->closing || a->running) return NULL;
  int err = uv_poll_start(&a->poll, UV_READABLE, on_readable);
  if (err != 0) {
    napi_throw_error(env, uv_err_name(err), uv_strerror(err));
    return NULL;
  }
  a->running = 1;
  return NULL;
}

static napi_value js_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  acceptor_t* a = unwrap(env, argv[0]);
  if (a == NULL || a->closing || !a->running) return NULL;
  uv_poll_stop(&a->poll);
  a->running = 0;
  return NULL;
}

/* A worker that just finished a connection takes the next one at once if one is waiting, as
 * Gunicorn's sync worker does, instead of re-arming the poll and waiting for a loop turn. The
 * connection goes to the callback (a plain call: JavaScript is already running) before this
 * returns; an exception it throws propagates to acceptNow's caller. */
static napi_value js_accept_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  acceptor_t* a = unwrap(env, argv[0]);
  if (a == NULL) return NULL;
  int value = -EBADF;
  if (!a->closing) {
    struct sockaddr_storage peer;
    value = accept_one(a->fd, &peer);
    if (value >= 0) {
      napi_value cb, recv, args[3], ignored;
      if (napi_get_reference_value(env, a->callback, &cb) != napi_ok || cb == NULL || napi_get_global(env, &recv) != napi_ok ||
          !peer_args(env, value, &peer, args)) {
        close(value);
        napi_throw_error(env, NULL, "gts_accept: cannot deliver an accepted connection");
        return NULL;
      }
      if (napi_call_function(env, recv, cb, 3, args, &ignored) != napi_ok) return NULL;
    }
  }
  CHECK(env, napi_create_int32(env, value, &result));
  return result;
}

static napi_value js_set_cork(napi_env env, napi_callback_info info) {
  int32_t args[2]; /* fd, on */
  if (!int_args(env, info, args, 2)) return NULL;
  int on = args[1];
  return boolean(env, setsockopt(args[0], IPPROTO_TCP, TCP_CORK, &on, sizeof on) == 0);
}

static napi_value js_inherit_no_delay(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!int_args(env, info, &fd, 1)) return NULL;
  int on = 1;
  return boolean(env, setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  acceptor_t* a = unwrap(env, argv[0]);
  if (a != NULL) begin_close(a);
  return NULL;
}

static napi_value throw_errno(napi_env env, const char* syscall, int err) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", syscall, strerror(err));
  napi_value code, msg, error;
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_value errno_value;
  napi_create_int32(env, -err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
  return NULL;
}

static napi_value js_listen(napi_env env, napi_callback_info info) {
  int32_t args[2]; /* fd, backlog */
  if (!int_args(env, info, args, 2)) return NULL;
  if (listen(args[0], args[1]) != 0) return throw_errno(env, "listen", errno);
  return NULL;
}

static napi_value js_shutdown_write(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!int_args(env, info, &fd, 1)) return NULL;
  return boolean(env, shutdown(fd, SHUT_WR) == 0);
}

static napi_value js_close_fd(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!int_args(env, info, &fd, 1)) return NULL;
  if (close(fd) != 0 && errno != EINTR) return throw_errno(env, "close", errno);
  return NULL;
}

static napi_value js_getppid(napi_env env, napi_callback_info info) {
  napi_value result;
  CHECK(env, napi_create_int32(env, (int32_t)getppid(), &result));
  return result;
}

static napi_value js_bind_unix(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  struct sockaddr_un sun;
  size_t len = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  CHECK(env, napi_get_value_string_utf8(env, argv[0], sun.sun_path, sizeof sun.sun_path, &len));
  if (len == 0 || len >= sizeof sun.sun_path - 1) return throw_errno(env, "bind", ENAMETOOLONG);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (bind(fd, (struct sockaddr*)&sun, sizeof sun) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }
  CHECK(env, napi_create_int32(env, fd, &result));
  return result;
}

static napi_value js_board_create(napi_env env, napi_callback_info info) {
  napi_value result;
  int32_t bytes;
  if (!int_args(env, info, &bytes, 1)) return NULL;
  if (bytes <= 0) return throw_errno(env, "boardCreate", EINVAL);
  int fd = memfd_create("gunicorn-ts-load-board", MFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, "memfd_create", errno);
  if (ftruncate(fd, bytes) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "ftruncate", err);
  }
  CHECK(env, napi_create_int32(env, fd, &result));
  return result;
}

static void unmap_board(napi_env env, void* data, void* hint) {
  munmap(data, (size_t)(uintptr_t)hint);
}

static napi_value js_board_map(napi_env env, napi_callback_info info) {
  napi_value result;
  int32_t args[2]; /* fd, bytes */
  if (!int_args(env, info, args, 2)) return NULL;
  int32_t fd = args[0], bytes = args[1];
  if (bytes <= 0) return throw_errno(env, "boardMap", EINVAL);
  void* memory = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (memory == MAP_FAILED) return throw_errno(env, "mmap", errno);
  if (napi_create_external_arraybuffer(env, memory, (size_t)bytes, unmap_board, (void*)(uintptr_t)bytes, &result) != napi_ok) {
    munmap(memory, (size_t)bytes);
    napi_throw_error(env, NULL, "gts_accept: napi_create_external_arraybuffer");
    return NULL;
  }
  return result;
}

static napi_value set_string(napi_env env, napi_value obj, const char* key, const char* value) {
  napi_value v;
  if (napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) != napi_ok) return NULL;
  napi_set_named_property(env, obj, key, v);
  return obj;
}

static napi_value set_int(napi_env env, napi_value obj, const char* key, int value) {
  napi_value v;
  if (napi_create_int32(env, value, &v) != napi_ok) return NULL;
  napi_set_named_property(env, obj, key, v);
  return obj;
}

static napi_value js_sockname(napi_env env, napi_callback_info info) {
  napi_value result;
  int32_t fd;
  if (!int_args(env, info, &fd, 1)) return NULL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (getsockname(fd, (struct sockaddr*)&ss, &len) != 0) return throw_errno(env, "getsockname", errno);
  CHECK(env, napi_create_object(env, &result));
  char text[INET6_ADDRSTRLEN];
  int port = 0, family = 0;
  const char* address = inet_text(&ss, text, &port, &family);
  if (address != NULL) {
    set_int(env, result, "family", family);
    set_string(env, result, "address", address);
    set_int(env, result, "port", port);
  } else if (ss.ss_family == AF_UNIX) {
    struct sockaddr_un* sun = (struct sockaddr_un*)&ss;
    size_t max = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
    char path[sizeof sun->sun_path + 1];
    if (max > sizeof sun->sun_path) max = sizeof sun->sun_path;
    memcpy(path, sun->sun_path, max);
    path[max] = '\0';
    set_string(env, result, "family", "unix");
    set_string(env, result, "path", path);
  } else {
    return throw_errno(env, "getsockname", EAFNOSUPPORT);
  }
  return result;
}

/* ------------------------------------------------------------------ quick exit watchdog */

static uv_once_t quick_exit_once = UV_ONCE_INIT;
static uint64_t quick_exit_grace_ms = 1000;
static int quick_exit_armed = 0;
static int quick_exit_error = 0;
static uv_thread_t quick_exit_thread_id;
static uv_loop_t quick_exit_loop;
static uv_timer_t quick_exit_timer;
static uv_signal_t quick_exit_quit;
static uv_signal_t quick_exit_int;

static void on_quick_exit_due(uv_timer_t* timer) {
  /* JavaScript had graceMs to run worker_int and exit, and did not: its loop is blocked. Exit
   * as the worker's own QUIT handler would (status 0); in-flight requests are cut either way. */
  _exit(0);
}

static void on_quick_exit_signal(uv_signal_t* handle, int signum) {
  if (!uv_is_active((uv_handle_t*)&quick_exit_timer)) uv_timer_start(&quick_exit_timer, on_quick_exit_due, quick_exit_grace_ms, 0);
}

static void run_quick_exit_loop(void* arg) {
  uv_run(&quick_exit_loop, UV_RUN_DEFAULT);
}

static void start_quick_exit_watchdog(void) {
  int err = uv_loop_init(&quick_exit_loop);
  if (err == 0) err = uv_timer_init(&quick_exit_loop, &quick_exit_timer);
  if (err == 0) err = uv_signal_init(&quick_exit_loop, &quick_exit_quit);
  if (err == 0) err = uv_signal_init(&quick_exit_loop, &quick_exit_int);
  if (err == 0) err = uv_signal_start(&quick_exit_quit, on_quick_exit_signal, SIGQUIT);
  if (err == 0) err = uv_signal_start(&quick_exit_int, on_quick_exit_signal, SIGINT);
  if (err == 0) err = uv_thread_create(&quick_exit_thread_id, run_quick_exit_loop, NULL);
  quick_exit_error = err;
}

static napi_value js_arm_quick_exit(napi_env env, napi_callback_info info) {
  int32_t grace_ms;
  if (!int_args(env, info, &grace_ms, 1)) return NULL;
  if (grace_ms < 0) return throw_errno(env, "armQuickExit", EINVAL);
  /* Only a worker's main thread arms it, once: the grace is set before the thread exists. */
  if (!quick_exit_armed) quick_exit_grace_ms = (uint64_t)grace_ms;
  quick_exit_armed = 1;
  uv_once(&quick_exit_once, start_quick_exit_watchdog);
  if (quick_exit_error != 0) return throw_errno(env, "armQuickExit", -quick_exit_error);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"create", NULL, js_create, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, js_stop, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"acceptNow", NULL, js_accept_now, NULL, NULL, NULL, napi_default, NULL},
      {"setCork", NULL, js_set_cork, NULL, NULL, NULL, napi_default, NULL},
      {"inheritNoDelay", NULL, js_inherit_no_delay, NULL, NULL, NULL, napi_default, NULL},
      {"listen", NULL, js_listen, NULL, NULL, NULL, napi_default, NULL},
      {"shutdownWrite", NULL, js_shutdown_write, NULL, NULL, NULL, napi_default, NULL},
      {"closeFd", NULL, js_close_fd, NULL, NULL, NULL, napi_default, NULL},
      {"sockname", NULL, js_sockname, NULL, NULL, NULL, napi_default, NULL},
      {"getppid", NULL, js_getppid, NULL, NULL, NULL, napi_default, NULL},
      {"bindUnix", NULL, js_bind_unix, NULL, NULL, NULL, napi_default, NULL},
      {"boardCreate", NULL, js_board_create, NULL, NULL, NULL, napi_default, NULL},
      {"boardMap", NULL, js_board_map, NULL, NULL, NULL, napi_default, NULL},
      {"armQuickExit", NULL, js_arm_quick_exit, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
