/*
 * listen.h - listening sockets for the front end, and address formatting.
 * A listener is an (address, protocol) pair: fe.c accepts on each socket
 * opened here and hands the connections to that protocol's ops.
 */
#ifndef AKV_SERVER_NET_LISTEN_H
#define AKV_SERVER_NET_LISTEN_H

#include <stddef.h>

#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opens a non-blocking, close-on-exec TCP listening socket on "host:port"
 * or "[v6]:port" (numeric or resolvable host; port 0 picks a free port),
 * with SO_REUSEADDR and the given backlog. On success returns the fd and
 * writes the bound address ("127.0.0.1:7430") to bound (boundcap bytes).
 * Returns -errno, or AKV_EINVAL for a malformed address, with a message
 * in err (errcap bytes). */
int akv_listen_open(const char *addr, int backlog, char *bound, size_t boundcap, char *err,
		    size_t errcap);

/* Formats a socket address as "a.b.c.d:port" / "[v6]:port" (port omitted
 * when with_port is 0). Returns the length written. */
size_t akv_listen_fmt_addr(const struct sockaddr *sa, int with_port, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
