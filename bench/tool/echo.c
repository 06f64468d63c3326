/*
 * echo.c - `akavs-bench echo`: the physical baseline for `load`. An io_uring
 * server set up exactly like the akavs front end (see bring.h) that answers
 * each request frame with a frame of the requested size and does nothing
 * else, so the load generator can measure what the kernel's TCP path and
 * io_uring cost by themselves, at akavs' message sizes.
 */
#include "echo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "bring.h"
#include "err.h"
#include "mem.h"
#include "proto/bytes.h"

enum { OP_ACCEPT = 1, OP_RECV, OP_SEND };

#define ECHO_TX_MAX (8u << 20) /* a client that never reads is cut off here */

struct echo_conn {
	int fd;
	uint16_t gen;
	uint8_t used, closing, recv_armed, dirty;
	struct akv_bring_rx rx;
	struct akv_bring_tx tx;
	struct echo_thread *t;
};

struct echo_thread {
	struct akv_echo *e;
	pthread_t tid;
	unsigned idx;
	int lfd, started, rc;
	struct akv_bring b;
	struct echo_conn *conns;
	uint32_t *dirty;
	unsigned ndirty, nfree_hint;
	struct akv_echo_stats st;
	/* set by the thread once its ring exists, so start() can report failures */
	atomic_int ready;
};

struct akv_echo {
	struct akv_echo_cfg cfg;
	atomic_int stop;
	struct echo_thread *t;
};

/* see echo.h */
int
akv_echo_frame_len(const uint8_t *buf, size_t len)
{
	uint32_t fl;

	if (len < 4)
		return AKV_EPARTIAL;
	fl = akv_get_be32(buf);
	if (fl < AKV_ECHO_HDR_LEN || fl > AKV_ECHO_FRAME_MAX)
		return AKV_EPROTO;
	return (int)fl;
}

/* see echo.h */
int
akv_echo_req_encode(uint8_t *out, size_t req_len, uint64_t id, size_t reply_len)
{
	if (req_len < AKV_ECHO_REQ_MIN || req_len > AKV_ECHO_FRAME_MAX ||
	    reply_len < AKV_ECHO_HDR_LEN || reply_len > AKV_ECHO_FRAME_MAX)
		return AKV_EINVAL;
	akv_put_be32(out, (uint32_t)req_len);
	out[4] = 1;
	out[5] = AKV_ECHO_OP_REQ;
	out[6] = out[7] = 0;
	akv_put_be32(out + 8, (uint32_t)(id >> 32));
	akv_put_be32(out + 12, (uint32_t)id);
	akv_put_be32(out + 16, (uint32_t)reply_len);
	memset(out + 20, 0, req_len - 20);
	return (int)req_len;
}

/* One request frame: append the answer (same id, requested size) to tx. */
static int
on_frame(void *arg, const uint8_t *f, size_t len)
{
	struct echo_conn *c = arg;
	uint32_t want;
	uint8_t *o;

	if (len < AKV_ECHO_REQ_MIN || f[4] != 1 || f[5] != AKV_ECHO_OP_REQ)
		return AKV_EPROTO;
	want = akv_get_be32(f + 16);
	if (want < AKV_ECHO_HDR_LEN || want > AKV_ECHO_FRAME_MAX)
		return AKV_EPROTO;
	o = akv_bring_tx_room(&c->tx, want, ECHO_TX_MAX);
	if (!o)
		return AKV_ELIMIT;
	akv_put_be32(o, want);
	o[4] = 1;
	o[5] = AKV_ECHO_OP_ANS;
	o[6] = o[7] = 0;
	memcpy(o + 8, f + 8, 8);
	memset(o + 16, 0, want - 16);
	c->tx.len[c->tx.fill] += want;
	c->t->st.requests++;
	c->t->st.bytes_out += want;
	return 0;
}

static void
mark_dirty(struct echo_thread *t, struct echo_conn *c)
{
	if (!c->dirty) {
		c->dirty = 1;
		t->dirty[t->ndirty++] = (uint32_t)(c - t->conns);
	}
}

/* Starts closing: shutdown makes the multishot recv end; the slot is freed
 * once neither recv nor send is in flight. */
static void
conn_close(struct echo_thread *t, struct echo_conn *c)
{
	if (!c->closing) {
		c->closing = 1;
		shutdown(c->fd, SHUT_RDWR);
	}
	if (c->recv_armed || c->tx.inflight)
		return;
	close(c->fd);
	akv_bring_rx_free(&c->rx);
	akv_bring_tx_free(&c->tx);
	c->used = 0;
	c->gen++;
	(void)t;
}

static int
arm_accept(struct echo_thread *t)
{
	struct io_uring_sqe *sqe = akv_bring_sqe(&t->b);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_multishot_accept(sqe, t->lfd, NULL, NULL, 0);
	io_uring_sqe_set_data64(sqe, akv_bring_ud(0, 0, OP_ACCEPT));
	return 0;
}

static void
on_accept(struct echo_thread *t, int res, unsigned flags)
{
	unsigned n = t->e->cfg.max_conns;
	struct echo_conn *c = NULL;

	if (!(flags & IORING_CQE_F_MORE) && !atomic_load(&t->e->stop))
		arm_accept(t);
	if (res < 0)
		return;
	for (unsigned i = 0; i < n && !c; i++) {
		unsigned k = (t->nfree_hint + i) % n;

		if (!t->conns[k].used)
			c = &t->conns[k];
	}
	if (!c) {
		t->st.refused++;
		close(res);
		return;
	}
	t->nfree_hint = (unsigned)(c - t->conns) + 1;
	c->fd = res;
	setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	c->used = 1;
	c->closing = 0;
	c->t = t;
	t->st.conns++;
	c->recv_armed =
	    akv_bring_recv(&t->b, res, akv_bring_ud((uint32_t)(c - t->conns), c->gen, OP_RECV)) ==
	    0;
	if (!c->recv_armed)
		conn_close(t, c);
}

static void
on_recv(struct echo_thread *t, struct echo_conn *c, int res, unsigned flags)
{
	uint64_t ud = akv_bring_ud((uint32_t)(c - t->conns), c->gen, OP_RECV);

	if (flags & IORING_CQE_F_BUFFER) {
		unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;

		if (res > 0 && !c->closing) {
			int rc =
			    akv_bring_feed(&c->rx, akv_bring_buf(&t->b, bid), (size_t)res,
					   akv_echo_frame_len, on_frame, c, AKV_ECHO_FRAME_MAX);

			t->st.bytes_in += (uint64_t)res;
			/* a frame we cannot delimit or answer: count it, drop the conn */
			if (rc == AKV_EPROTO || rc == AKV_ETOOBIG)
				t->st.bad_frames++;
			if (rc)
				conn_close(t, c);
			else
				mark_dirty(t, c);
		}
		akv_bring_recycle(&t->b, bid);
	}
	if (flags & IORING_CQE_F_MORE)
		return;
	c->recv_armed = 0;
	/* out of buffers: the multishot ended, start another */
	if ((res == -ENOBUFS || res > 0) && !c->closing)
		c->recv_armed = akv_bring_recv(&t->b, c->fd, ud) == 0;
	if (!c->recv_armed)
		conn_close(t, c);
}

static void
handle_cqe(struct echo_thread *t, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	uint32_t slot = akv_bring_ud_slot(ud);
	struct echo_conn *c;

	if (akv_bring_ud_op(ud) == OP_ACCEPT) {
		on_accept(t, cqe->res, cqe->flags);
		return;
	}
	if (slot >= t->e->cfg.max_conns)
		return;
	c = &t->conns[slot];
	if (!c->used || c->gen != akv_bring_ud_gen(ud)) {
		/* stale: a buffer still has to go back to the ring */
		if (cqe->flags & IORING_CQE_F_BUFFER)
			akv_bring_recycle(&t->b, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		return;
	}
	if (akv_bring_ud_op(ud) == OP_RECV) {
		on_recv(t, c, cqe->res, cqe->flags);
	} else if (akv_bring_tx_done(&t->b, &c->tx, c->fd, ud, cqe->res) < 0) {
		conn_close(t, c);
	} else {
		if (c->closing)
			conn_close(t, c);
		else
			mark_dirty(t, c);
	}
}

/* After a batch of completions: one send per connection with new answers. */
static void
flush_dirty(struct echo_thread *t)
{
	for (unsigned i = 0; i < t->ndirty; i++) {
		struct echo_conn *c = &t->conns[t->dirty[i]];

		c->dirty = 0;
		if (c->used && !c->closing &&
		    akv_bring_tx_flush(&t->b, &c->tx, c->fd,
				       akv_bring_ud(t->dirty[i], c->gen, OP_SEND)) < 0)
			conn_close(t, c);
	}
	t->ndirty = 0;
}

static int
listen_socket(const struct sockaddr_in *sa)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) || listen(fd, 1024)) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

static void *
echo_thread_main(void *arg)
{
	struct echo_thread *t = arg;
	struct akv_echo *e = t->e;
	struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000};

	if (e->cfg.cpu >= 0)
		akv_bench_pin(e->cfg.cpu + (int)t->idx);
	t->rc = akv_bring_init(&t->b, 4096, 1024, 16384);
	if (!t->rc)
		t->rc = arm_accept(t);
	atomic_store(&t->ready, t->rc ? -1 : 1);
	if (t->rc)
		return NULL;
	while (!atomic_load(&e->stop)) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		int rc = io_uring_submit_and_wait_timeout(&t->b.ring, &cqe, 1, &ts, NULL);

		if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) {
			t->rc = rc;
			break;
		}
		io_uring_for_each_cqe(&t->b.ring, head, cqe)
		{
			handle_cqe(t, cqe);
			n++;
		}
		io_uring_cq_advance(&t->b.ring, n);
		flush_dirty(t);
	}
	return NULL;
}

static void
thread_cleanup(struct echo_thread *t)
{
	for (unsigned i = 0; i < t->e->cfg.max_conns; i++) {
		struct echo_conn *c = &t->conns[i];

		if (!c->used)
			continue;
		close(c->fd);
		akv_bring_rx_free(&c->rx);
		akv_bring_tx_free(&c->tx);
	}
	if (t->started == 1)
		akv_bring_fini(&t->b);
	if (t->lfd >= 0)
		close(t->lfd);
	akv_free(t->conns);
	akv_free(t->dirty);
}

/* see echo.h */
int
akv_echo_start(const struct akv_echo_cfg *cfg, struct akv_echo **out, uint16_t *port)
{
	struct akv_echo *e = akv_calloc(1, sizeof(*e));
	struct sockaddr_in sa = cfg->addr;
	socklen_t sl = sizeof(sa);
	int rc = 0;

	e->cfg = *cfg;
	if (!e->cfg.threads)
		e->cfg.threads = 1;
	if (!e->cfg.max_conns)
		e->cfg.max_conns = 1024;
	e->t = akv_calloc(e->cfg.threads, sizeof(*e->t));
	for (unsigned i = 0; i < e->cfg.threads; i++)
		e->t[i].lfd = -1;
	for (unsigned i = 0; i < e->cfg.threads && !rc; i++) {
		struct echo_thread *t = &e->t[i];

		t->e = e;
		t->idx = i;
		t->lfd = listen_socket(&sa);
		if (t->lfd < 0) {
			rc = t->lfd;
			break;
		}
		/* the first listener picks the port, the others share it (SO_REUSEPORT) */
		if (i == 0 && !getsockname(t->lfd, (struct sockaddr *)&sa, &sl))
			*port = ntohs(sa.sin_port);
		t->conns = akv_calloc(e->cfg.max_conns, sizeof(*t->conns));
		t->dirty = akv_calloc(e->cfg.max_conns, sizeof(*t->dirty));
		if (pthread_create(&t->tid, NULL, echo_thread_main, t)) {
			rc = -EAGAIN;
			break;
		}
		t->started = 1;
		while (!atomic_load(&t->ready))
			usleep(1000);
		if (t->rc)
			rc = t->rc;
	}
	if (rc) {
		akv_echo_stop(e, NULL);
		return rc;
	}
	*out = e;
	return 0;
}

/* see echo.h */
void
akv_echo_stop(struct akv_echo *e, struct akv_echo_stats *st)
{
	if (st)
		memset(st, 0, sizeof(*st));
	atomic_store(&e->stop, 1);
	for (unsigned i = 0; i < e->cfg.threads; i++) {
		struct echo_thread *t = &e->t[i];

		if (t->started)
			pthread_join(t->tid, NULL);
		if (st) {
			st->requests += t->st.requests;
			st->bytes_in += t->st.bytes_in;
			st->bytes_out += t->st.bytes_out;
			st->conns += t->st.conns;
			st->refused += t->st.refused;
			st->bad_frames += t->st.bad_frames;
		}
		thread_cleanup(t);
	}
	akv_free(e->t);
	akv_free(e);
}

static void
usage(FILE *f)
{
	fprintf(
	    f, "usage: akavs-bench echo [--listen HOST:PORT] [--threads N] [--seconds S]\n"
	       "                        [--max-conns N] [--cpu N]\n"
	       "  Answers each request frame (see bench/tool/echo.h) with a frame of the size\n"
	       "  the request asks for. Default 127.0.0.1:7431, 1 thread, until SIGTERM/SIGINT.\n");
}

/* see bench.h */
int
akv_bench_echo(int argc, char **argv)
{
	struct akv_echo_cfg cfg = {.threads = 1, .max_conns = 1024, .cpu = -1};
	struct akv_echo_stats st;
	struct akv_echo *e;
	double seconds = 0, v;
	volatile int stop = 0;
	uint64_t t0, deadline;
	uint16_t port = 0;
	int rc;

	akv_bench_parse_hostport("127.0.0.1:7431", &cfg.addr);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--listen") && i + 1 < argc) {
			if (akv_bench_parse_hostport(argv[++i], &cfg.addr)) {
				fprintf(stderr, "echo: bad --listen '%s' (want IPv4:PORT)\n",
					argv[i]);
				return 2;
			}
		} else if (i + 1 < argc && (!strcmp(a, "--threads") || !strcmp(a, "--seconds") ||
					    !strcmp(a, "--max-conns") || !strcmp(a, "--cpu"))) {
			if (akv_bench_parse_num(argv[++i], &v) ||
			    (strcmp(a, "--seconds") && strcmp(a, "--cpu") && v < 1) || v > 1e6) {
				fprintf(stderr, "echo: bad value '%s' for %s\n", argv[i], a);
				return 2;
			}
			if (!strcmp(a, "--threads"))
				cfg.threads = (unsigned)v;
			else if (!strcmp(a, "--seconds"))
				seconds = v;
			else if (!strcmp(a, "--max-conns"))
				cfg.max_conns = (unsigned)v;
			else
				cfg.cpu = (int)v;
		} else {
			fprintf(stderr, "echo: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (cfg.threads > 64) {
		fprintf(stderr, "echo: at most 64 threads\n");
		return 2;
	}
	akv_bench_catch_signals(&stop);
	rc = akv_echo_start(&cfg, &e, &port);
	if (rc) {
		fprintf(stderr, "echo: cannot start: %s\n",
			rc > -4096 ? strerror(-rc) : "bad setup");
		return 1;
	}
	{
		char host[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &cfg.addr.sin_addr, host, sizeof(host));
		printf("echo: listening on %s:%u, %u thread(s)\n", host, port, cfg.threads);
		fflush(stdout);
	}
	t0 = akv_bench_now_ns();
	deadline = seconds > 0 ? t0 + (uint64_t)(seconds * 1e9) : UINT64_MAX;
	while (!stop && akv_bench_now_ns() < deadline)
		usleep(20000);
	akv_echo_stop(e, &st);
	printf("echo: stopped after %.1f s: %llu requests, %llu connections (%llu refused), "
	       "%llu bad frames\n",
	       (double)(akv_bench_now_ns() - t0) / 1e9, (unsigned long long)st.requests,
	       (unsigned long long)st.conns, (unsigned long long)st.refused,
	       (unsigned long long)st.bad_frames);
	return 0;
}
