/* listen.c - listening sockets and address formatting (see listen.h). */
#include "listen.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "cfg.h"
#include "err.h"

/* see listen.h */
size_t
akv_listen_fmt_addr(const struct sockaddr *sa, int with_port, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	int n;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		n = with_port ? snprintf(out, cap, "%s:%u", host, port)
			      : snprintf(out, cap, "%s", host);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		n = with_port ? snprintf(out, cap, "[%s]:%u", host, port)
			      : snprintf(out, cap, "%s", host);
	} else {
		n = snprintf(out, cap, "?");
	}
	return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

/* see listen.h */
int
akv_listen_open(const char *addr, int backlog, char *bound, size_t boundcap, char *err,
		size_t errcap)
{
	char host[AKV_CFG_ADDR_MAX], portstr[8];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
	struct sockaddr_storage ss = {0};	/* getsockname fills it */
	socklen_t sl = sizeof(ss);
	uint16_t port;
	int fd = -1, one = 1, r;

	if (akv_cfg_split_addr(addr, host, sizeof(host), &port)) {
		snprintf(err, errcap, "listen %s: not HOST:PORT", addr);
		return AKV_EINVAL;
	}
	snprintf(portstr, sizeof(portstr), "%u", port);
	r = getaddrinfo(host, portstr, &hints, &ai);
	if (r) {
		snprintf(err, errcap, "listen %s: %s", addr, gai_strerror(r));
		return AKV_EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, backlog) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl))
		goto fail;
	freeaddrinfo(ai);
	akv_listen_fmt_addr((struct sockaddr *)&ss, 1, bound, boundcap);
	return fd;
fail:
	r = -errno;
	snprintf(err, errcap, "listen %s: %s", addr, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return r;
}
