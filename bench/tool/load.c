/*
 * load.c - `akavs-bench load`: an io_uring load generator. C connections x
 * D requests in flight, spread over client threads (one ring each, set up
 * like the server's front end, see bring.h). It speaks AVS/1 to akavs (or the
 * echo baseline's frames, see echo.h), knows every subscriber's keys from the
 * provisioning CSV, answers challenges with the right RES and checks every
 * vector it receives. With --vs-echo it first runs the same load against an
 * in-process echo server at the same message sizes, then against akavs, and
 * prints the ratio: the share of the machine's raw TCP/io_uring capacity
 * that akavs delivers.
 */
#include "load.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "client/client.h"
#include "echo.h"
#include "err.h"
#include "load_tls.h"
#include "mem.h"

enum { OP_RECV = 1, OP_SEND };

#define LOAD_TX_MAX (16u << 20)
#define LOAD_FRAME_MAX 65536u
#define DRAIN_NS 2000000000ull /* after the deadline, wait this long for answers */

static const char *const op_names[LOAD_OP_NUM] = {"challenge", "verify",  "wrong",
						  "resync",    "vectors", "mix", "register"};

/* Shared by the threads of one run. */
struct load_run_ctx {
	const struct load_cfg *cfg;
	const struct load_proto *proto;
	pthread_barrier_t ready;
	uint64_t start, end; /* set by thread 0 after the barrier */
	pthread_barrier_t go;
};

struct load_thread_arg {
	struct load_thread t;
	struct load_run_ctx *run;
	pthread_t tid;
	struct load_counters snap; /* counters at the deadline */
	uint64_t end_ns;	   /* touch_all: when this thread finished */
};

static uint64_t
make_id(unsigned conn, unsigned slot, uint16_t seq)
{
	return (uint64_t)conn << 32 | (uint64_t)slot << 16 | seq;
}

/* A subscriber rank: Zipf, or uniform by multiply-shift (Lemire) rather
 * than `%`: the same spread (bias below nsubs / 2^64), without a 64-bit
 * division that the prefetch address waited for. */
static size_t
draw_rank(struct load_thread *t)
{
	if (t->cfg->zipf > 0)
		return load_zipf_pick(&t->zipf, &t->rng);
	return (size_t)(((unsigned __int128)akv_bench_rand64(&t->rng) * t->nsubs) >> 64);
}

/* Prefetches subscriber `rank`'s record (strings 0) or, the record being
 * cached by then, its identities (strings 1) when they are not inline. */
static void
prefetch_sub(const struct load_thread *t, size_t rank, int strings)
{
	const struct load_subs *subs = t->cfg->subs;
	const struct load_sub *sub = &subs->v[rank * t->cfg->threads + t->idx];

	if (!strings) {
		/* what a request reads: the first line, and the second unless
		 * every identity is inline within the first (load_subs.c) and
		 * the protocol finds the IMPU there (load_proto.impu_line0) */
		__builtin_prefetch(sub);
		if (!subs->ids_line0 || !t->proto->impu_line0)
			__builtin_prefetch((const char *)sub + 64);
		return;
	}
	if (sub->impi == sub->inl)
		return; /* both inline (load_subs.c): the record's lines, asked for already */
	__builtin_prefetch(sub->impi);
	if (sub->impu)
		__builtin_prefetch(sub->impu);
}

/* The first LOAD_AHEAD draws of a thread (see load_pick); out of line, so
 * that its loop does not weigh on every pick. */
static __attribute__((noinline)) void
ahead_fill(struct load_thread *t)
{
	for (unsigned i = 0; i < LOAD_AHEAD; i++)
		t->ahead[i] = draw_rank(t);
	t->ahead_init = 1;
}

/* see load.h */
int
load_pick(struct load_thread *t, struct load_slot *s)
{
	const struct load_cfg *cfg = t->cfg;
	size_t rank, next;
	unsigned pos;

	if (!t->nsubs)
		return -1;
	if (cfg->touch_all) {
		if (t->touch_pos >= t->nsubs)
			return -1;
		rank = t->touch_pos++;
		goto picked;
	}
	/* the draws run LOAD_AHEAD picks ahead so that a subscriber's record,
	 * then its identities, are in cache by the time its request is written
	 * (they are spread over the heap: the misses cost more than encoding) */
	if (!t->ahead_init)
		ahead_fill(t);
	/* drawn first: only t and s are live across the PRNG's call */
	next = draw_rank(t);
	pos = t->ahead_pos;
	rank = t->ahead[pos];
	t->ahead[pos] = next;
	t->ahead_pos = (pos + 1) % LOAD_AHEAD;
	prefetch_sub(t, next, 0);
	if (!cfg->subs->ids_inline)
		prefetch_sub(t, t->ahead[(pos + LOAD_AHEAD / 2) % LOAD_AHEAD], 1);
	/* a subscriber runs one transaction at a time (its pending challenge
	 * would otherwise be replaced under us): probe for a free one */
	for (size_t i = 0; i < t->nsubs && t->busy[rank]; i++)
		rank = rank + 1 == t->nsubs ? 0 : rank + 1;
	if (t->busy[rank])
		return -1;
picked:
	t->busy[rank] = 1;
	s->rank = (uint32_t)rank;
	s->sub = (uint32_t)(rank * cfg->threads + t->idx);
	s->op = (uint8_t)cfg->op;
	if (cfg->op == LOAD_OP_MIX) {
		unsigned p = (unsigned)(akv_bench_rand64(&t->rng) % 100);

		s->op = p < 50	 ? LOAD_OP_CHALLENGE
			: p < 80 ? LOAD_OP_VERIFY
			: p < 85 ? LOAD_OP_WRONG
			: p < 90 ? LOAD_OP_RESYNC
				 : LOAD_OP_VECTORS;
	}
	s->step = 0;
	return 0;
}

static void
slot_release(struct load_thread *t, struct load_slot *s)
{
	/* the rank load_pick() kept: no division by the thread count */
	if (t->cfg->subs && s->rank < t->nsubs)
		t->busy[s->rank] = 0;
	/* RES, CK, IK stay until the slot's next transaction overwrites
	 * them: the slots are wiped once in thread_teardown (a byte-wise wipe
	 * per transaction cost ~200 instructions, and the keys they derive
	 * from stay in the subscriber table for the whole run anyway) */
	s->active = 0;
	t->inflight--;
}

static void
mark_dirty(struct load_thread *t, struct load_conn *c)
{
	if (!c->dirty) {
		c->dirty = 1;
		t->dirty[t->ndirty++] = (uint32_t)(c - t->conns);
	}
}

static void slot_start(struct load_thread *t, struct load_conn *c, unsigned si);

/* Restarts idle slots while subscribers are free (a slot that still finds
 * none goes back to the list, and the rest wait for the next batch). */
static void
restart_idle(struct load_thread *t)
{
	while (t->nidle && !t->stopping) {
		uint32_t v = t->idle[--t->nidle];
		unsigned before = t->nidle;

		slot_start(t, &t->conns[v >> 16], v & 0xffff);
		if (t->nidle > before)
			break;
	}
}

/* Starts a new transaction on slot `si` of conn c (unless stopping). */
static void
slot_start(struct load_thread *t, struct load_conn *c, unsigned si)
{
	struct load_slot *s = &c->slots[si];
	uint8_t *room;
	int len;

	if (t->stopping || c->closed)
		return;
	room = akv_bring_tx_room(&c->tx, LOAD_FRAME_MAX, LOAD_TX_MAX);
	if (!room)
		return;
	s->seq++;
	s->active = 1;
	t->inflight++;
	len = t->proto->start(t, s, make_id((unsigned)(c - t->conns), si, s->seq), room,
			      LOAD_FRAME_MAX);
	if (len <= 0) {
		/* every subscriber busy (more slots than subscribers): the slot
		 * waits in the idle list until a transaction ends */
		s->active = 0;
		t->inflight--;
		t->idle[t->nidle++] = (uint32_t)(c - t->conns) << 16 | si;
		return;
	}
	c->tx.len[c->tx.fill] += (size_t)len;
	s->t_sent = t->now;
	mark_dirty(t, c);
}

static void
conn_close(struct load_thread *t, struct load_conn *c)
{
	if (!c->closed) {
		c->closed = 1;
		shutdown(c->fd, SHUT_RDWR);
		for (unsigned i = 0; i < t->cfg->depth; i++)
			if (c->slots[i].active)
				slot_release(t, &c->slots[i]);
		if (!t->stopping)
			t->c.conn_lost++;
	}
}

struct frame_arg {
	struct load_thread *t;
	struct load_conn *c;
};

static int
on_frame(void *arg, const uint8_t *f, size_t len)
{
	struct frame_arg *fa = arg;
	struct load_thread *t = fa->t;
	struct load_conn *c = fa->c;
	unsigned ci = (unsigned)(c - t->conns), si;
	struct load_slot *s;
	uint64_t id;
	uint8_t *room;
	int rc;

	rc = t->proto->answer_id(f, len, &id);
	if (rc < 0) {
		t->c.err_proto++;
		return AKV_EPROTO;
	}
	if (rc > 0)
		return 0;
	if (t->proto->id32)
		id = (uint64_t)ci << 32 | (uint32_t)id;
	si = (unsigned)(id >> 16) & 0xffff;
	if (id >> 32 != ci || si >= t->cfg->depth || !c->slots[si].active ||
	    c->slots[si].seq != (uint16_t)id) {
		t->c.err_proto++; /* an id we did not send, or answered twice */
		return 0;
	}
	s = &c->slots[si];
	if (!t->stopping) {
		akv_hist_add(&t->hist, t->now - s->t_sent);
		t->c.requests++;
	}
	room = akv_bring_tx_room(&c->tx, LOAD_FRAME_MAX, LOAD_TX_MAX);
	if (!room)
		return AKV_ELIMIT;
	s->seq++;
	rc = t->proto->answer(t, s, make_id(ci, si, s->seq), f, len, room, LOAD_FRAME_MAX);
	if (rc < 0) {
		t->c.err_proto++;
		return rc;
	}
	if (rc > 0 && !t->stopping) {
		c->tx.len[c->tx.fill] += (size_t)rc;
		s->t_sent = t->now;
		mark_dirty(t, c);
		return 0;
	}
	if (!rc && !t->stopping)
		t->c.transactions++;
	slot_release(t, s);
	slot_start(t, c, si);
	return 0;
}

/* Plaintext of a TLS conn: on into the frame splitter (load_tls_recv) */
static int
feed_plain(void *arg, const uint8_t *p, size_t n)
{
	struct frame_arg *fa = arg;

	return akv_bring_feed(&fa->c->rx, p, n, fa->t->proto->frame_len, on_frame, fa,
			      LOAD_FRAME_MAX);
}

static void
on_recv(struct load_thread *t, struct load_conn *c, int res, unsigned flags)
{
	if (flags & IORING_CQE_F_BUFFER) {
		unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
		const uint8_t *data = akv_bring_buf(&t->b, bid);
		struct frame_arg fa = {t, c};

		if (res > 0 && !c->closed &&
		    (c->tls ? load_tls_recv(c->tls, data, (size_t)res, feed_plain, &fa)
			    : akv_bring_feed(&c->rx, data, (size_t)res, t->proto->frame_len,
					     on_frame, &fa, LOAD_FRAME_MAX)))
			conn_close(t, c);
		else if (c->tls && !c->closed && load_tls_want_send(c->tls))
			mark_dirty(t, c); /* the session has records of its own to send */
		akv_bring_recycle(&t->b, bid);
	}
	if (flags & IORING_CQE_F_MORE)
		return;
	c->recv_armed = 0;
	if ((res == -ENOBUFS || res > 0) && !c->closed)
		c->recv_armed =
		    akv_bring_recv(&t->b, c->fd,
				   akv_bring_ud((uint32_t)(c - t->conns), c->gen, OP_RECV)) == 0;
	if (!c->recv_armed)
		conn_close(t, c);
}

static void
handle_cqe(struct load_thread *t, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	uint32_t ci = akv_bring_ud_slot(ud);
	struct load_conn *c;

	if (ci >= t->nconns) {
		if (cqe->flags & IORING_CQE_F_BUFFER)
			akv_bring_recycle(&t->b, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		return;
	}
	c = &t->conns[ci];
	if (akv_bring_ud_op(ud) == OP_RECV)
		on_recv(t, c, cqe->res, cqe->flags);
	else if (akv_bring_tx_done(&t->b, c->tls ? &c->tls->ctx : &c->tx, c->fd, ud, cqe->res) < 0)
		conn_close(t, c);
	else if (!c->closed)
		mark_dirty(t, c);
}

static void
flush_dirty(struct load_thread *t)
{
	for (unsigned i = 0; i < t->ndirty; i++) {
		struct load_conn *c = &t->conns[t->dirty[i]];
		uint64_t ud = akv_bring_ud(t->dirty[i], c->gen, OP_SEND);

		c->dirty = 0;
		if (!c->closed && (c->tls ? load_tls_flush(&t->b, c->tls, &c->tx, c->fd, ud)
					  : akv_bring_tx_flush(&t->b, &c->tx, c->fd, ud)) < 0)
			conn_close(t, c);
	}
	t->ndirty = 0;
}

/* see load.h */
ssize_t
load_conn_send_blocking(struct load_conn *c, const void *p, size_t n)
{
	return c->tls ? load_tls_send_blocking(c->tls, p, n) : send(c->fd, p, n, MSG_NOSIGNAL);
}

/* see load.h */
ssize_t
load_conn_recv_blocking(struct load_conn *c, void *p, size_t n)
{
	return c->tls ? load_tls_recv_blocking(c->tls, p, n) : recv(c->fd, p, n, 0);
}

static int
connect_one(const struct sockaddr_in *sa)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Connections and the ring; returns 0 or -errno. */
static int
thread_setup(struct load_thread *t, unsigned first_conn)
{
	const struct load_cfg *cfg = t->cfg;
	unsigned entries = 256, nbufs = 64;
	int rc;

	(void)first_conn;
	while (entries < 2 * t->nconns + 64 && entries < 32768)
		entries *= 2;
	/* receive buffers: four per connection (one multishot recv rarely
	 * holds more than one or two at a time; running short only costs an
	 * ENOBUFS and a re-arm), at least 64, at most 1024. Fewer buffers
	 * stay in cache: with 1024 x 16 KiB the kernel's copy into each
	 * buffer wrote cold lines (its copy cost halved from 1024 to 64) */
	while (nbufs < 4 * t->nconns && nbufs < 1024)
		nbufs *= 2;
	rc = akv_bring_init(&t->b, entries, nbufs, 16384);
	if (rc)
		return rc;
	t->conns = akv_calloc(t->nconns, sizeof(*t->conns));
	t->dirty = akv_calloc(t->nconns, sizeof(*t->dirty));
	t->idle = akv_calloc((size_t)t->nconns * cfg->depth, sizeof(*t->idle));
	load_check_init(t);
	if (t->proto->thread_init && (rc = t->proto->thread_init(t)) < 0)
		return rc;
	for (unsigned i = 0; i < t->nconns; i++) {
		struct load_conn *c = &t->conns[i];

		c->t = t;
		c->slots = akv_calloc(cfg->depth, sizeof(*c->slots));
		c->fd = connect_one(&cfg->addr);
		if (c->fd < 0) {
			c->closed = 1;
			return c->fd;
		}
		if (cfg->tls_ctx) {
			c->tls = akv_calloc(1, sizeof(*c->tls));
			if ((rc = load_tls_connect(cfg->tls_ctx, c->fd, cfg->tls_host, c->tls)) < 0)
				return rc;
		}
		if (t->proto->handshake && (rc = t->proto->handshake(t, c)) < 0)
			return rc;
		if (c->tls && (rc = load_tls_go_async(c->tls)) < 0)
			return rc;
		c->recv_armed = akv_bring_recv(&t->b, c->fd, akv_bring_ud(i, 0, OP_RECV)) == 0;
		if (!c->recv_armed)
			return -EBUSY;
	}
	if (cfg->subs) {
		const size_t n = cfg->subs->n;

		t->nsubs = n / cfg->threads + (t->idx < n % cfg->threads);
		t->busy = akv_calloc(t->nsubs ? t->nsubs : 1, 1);
		if (cfg->zipf > 0 && t->nsubs)
			load_zipf_init(&t->zipf, t->nsubs, cfg->zipf);
	}
	return 0;
}

static void
thread_teardown(struct load_thread *t)
{
	for (unsigned i = 0; t->conns && i < t->nconns; i++) {
		struct load_conn *c = &t->conns[i];

		if (c->fd > 0)
			close(c->fd);
		akv_bring_rx_free(&c->rx);
		akv_bring_tx_free(&c->tx);
		load_tls_conn_free(c->tls);
		if (c->slots)
			akv_wipe(c->slots, t->cfg->depth * sizeof(*c->slots));
		akv_free(c->slots);
	}
	akv_bring_fini(&t->b);
	akv_free(t->conns);
	akv_free(t->dirty);
	akv_free(t->idle);
	load_check_fini(t);
	if (t->proto->thread_fini)
		t->proto->thread_fini(t);
	akv_free(t->busy);
	load_zipf_free(&t->zipf);
}

static void
drive(struct load_thread_arg *ta)
{
	struct load_thread *t = &ta->t;
	struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
	uint64_t end = ta->run->end;

	t->now = akv_bench_now_ns();
	for (unsigned i = 0; i < t->nconns; i++)
		for (unsigned s = 0; s < t->cfg->depth; s++)
			slot_start(t, &t->conns[i], s);
	flush_dirty(t);
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		int rc = io_uring_submit_and_wait_timeout(&t->b.ring, &cqe, 1, &ts, NULL);

		if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) {
			t->rc = rc;
			break;
		}
		t->now = akv_bench_now_ns();
		if (!t->stopping && t->now >= end) {
			t->stopping = 1;
			ta->snap = t->c;
		}
		io_uring_for_each_cqe(&t->b.ring, head, cqe)
		{
			handle_cqe(t, cqe);
			n++;
		}
		io_uring_cq_advance(&t->b.ring, n);
		load_check_flush(t);
		restart_idle(t);
		flush_dirty(t);
		if (t->stopping && (!t->inflight || t->now >= end + DRAIN_NS))
			break;
		if (t->cfg->touch_all && t->touch_pos >= t->nsubs && !t->inflight) {
			/* every subscriber of this thread answered: done early */
			ta->snap = t->c;
			t->stopping = 1;
			ta->end_ns = t->now;
			break;
		}
	}
	if (!t->stopping)
		ta->snap = t->c;
}

static void *
thread_main(void *arg)
{
	struct load_thread_arg *ta = arg;
	struct load_thread *t = &ta->t;

	if (t->cfg->cpu >= 0)
		akv_bench_pin(t->cfg->cpu + (int)t->idx);
	t->rc = thread_setup(t, 0);
	pthread_barrier_wait(&ta->run->ready); /* every thread connected (or failed) */
	pthread_barrier_wait(&ta->run->go);    /* start and end times are set */
	if (!t->rc)
		drive(ta);
	thread_teardown(t);
	return NULL;
}

/* see load.h */
int
load_run(const struct load_cfg *cfg, const struct load_proto *proto, struct load_result *r)
{
	struct load_run_ctx run = {.cfg = cfg, .proto = proto};
	uint64_t end_touch = 0;
	struct load_thread_arg *ta = akv_calloc(cfg->threads, sizeof(*ta));
	unsigned started = 0;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	akv_hist_init(&r->hist);
	akv_hist_init(&r->txn_hist);
	pthread_barrier_init(&run.ready, NULL, cfg->threads + 1);
	pthread_barrier_init(&run.go, NULL, cfg->threads + 1);
	for (unsigned i = 0; i < cfg->threads; i++) {
		struct load_thread *t = &ta[i].t;

		t->cfg = cfg;
		t->proto = proto;
		t->idx = i;
		t->nconns = cfg->conns / cfg->threads + (i < cfg->conns % cfg->threads);
		t->rng = 0x6c6f6164ull + i * 0x9e3779b97f4a7c15ull;
		t->mil = akv_mil_best();
		akv_hist_init(&t->hist);
		akv_hist_init(&t->txn_hist);
		ta[i].run = &run;
		if (pthread_create(&ta[i].tid, NULL, thread_main, &ta[i]))
			break;
		started++;
	}
	if (started < cfg->threads) {
		/* cannot happen short of resource exhaustion; threads would wait forever */
		fprintf(stderr, "load: cannot start client threads\n");
		exit(1);
	}
	pthread_barrier_wait(&run.ready);
	for (unsigned i = 0; i < cfg->threads; i++)
		if (ta[i].t.rc) {
			fprintf(stderr, "load: thread %u: cannot connect or set up its ring: %s\n",
				i, ta[i].t.rc > -4096 ? strerror(-ta[i].t.rc) : "error");
			rc = -1;
		}
	run.start = akv_bench_now_ns();
	run.end = rc ? run.start : run.start + (uint64_t)(cfg->seconds * 1e9);
	pthread_barrier_wait(&run.go);
	for (unsigned i = 0; i < cfg->threads; i++) {
		struct load_counters *s = &ta[i].snap;

		pthread_join(ta[i].tid, NULL);
		/* touch_all: the run lasted until the slowest thread was done */
		if (cfg->touch_all && ta[i].end_ns > end_touch)
			end_touch = ta[i].end_ns;
		if (ta[i].t.rc && !rc) {
			fprintf(stderr, "load: thread %u failed: %s\n", i,
				ta[i].t.rc > -4096 ? strerror(-ta[i].t.rc) : "error");
			rc = -1;
		}
		r->c.requests += s->requests;
		r->c.transactions += s->transactions;
		r->c.vectors += s->vectors;
		r->c.err_answers += s->err_answers;
		r->c.err_check += s->err_check;
		r->c.err_verdict += s->err_verdict;
		r->c.err_proto += s->err_proto;
		r->c.conn_lost += s->conn_lost;
		r->c.sars += s->sars;
		r->c.registered += s->registered;
		r->c.registered_first += s->registered_first;
		r->c.deregistered += s->deregistered;
		akv_hist_merge(&r->hist, &ta[i].t.hist);
		akv_hist_merge(&r->txn_hist, &ta[i].t.txn_hist);
	}
	pthread_barrier_destroy(&run.ready);
	pthread_barrier_destroy(&run.go);
	akv_free(ta);
	if (cfg->touch_all && end_touch && end_touch < run.end)
		run.end = end_touch;
	r->seconds = (double)(run.end - run.start) / 1e9;
	if (r->seconds > 0) {
		r->requests_per_s = (double)r->c.requests / r->seconds;
		r->vectors_per_s = (double)r->c.vectors / r->seconds;
	}
	r->errors =
	    r->c.err_answers + r->c.err_check + r->c.err_verdict + r->c.err_proto + r->c.conn_lost;
	return rc;
}

/* ==== Command line ==== */

struct load_opts {
	struct load_cfg cfg;
	const char *connect, *subs_path, *sweep, *sweep_out;
	int json, vs_echo, echo_target, diameter;
	struct akv_client_tls tls;
};

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: akavs-bench load --connect HOST:PORT --subs FILE.csv [options]\n"
	    "  --conns C          connections (default 16)\n"
	    "  --depth D          requests in flight per connection (default 32)\n"
	    "  --seconds S        measured time (default 5)\n"
	    "  --threads T        client threads, one io_uring each (default 1)\n"
	    "  --op OP            challenge (default) | verify | wrong | resync | vectors | mix\n"
	    "                     (mix: 50%% challenge, 30 verify, 5 wrong, 5 resync, 10 vectors)\n"
	    "                     | register (Diameter only)\n"
	    "  --n N              vectors per VECTORS request (default 5)\n"
	    "  --zipf S           subscriber choice Zipf(S) instead of uniform\n"
	    "  --no-check         do not recompute vectors (default: every vector is checked)\n"
	    "  --vs-echo          first run the same load against an in-process echo server\n"
	    "                     with the same message sizes; report pct_of_echo\n"
	    "  --touch-all        warm-up: one transaction per subscriber, in order, then\n"
	    "                     stop (--seconds is then an upper bound)\n"
	    "  --www              AVS/1: ask for the WWW-Authenticate value with each\n"
	    "                     challenge and check it (realm: --realm, else IMPI's domain)\n"
	    "  --diameter         speak Diameter Cx: one CER per connection, then MARs\n"
	    "                     (ops challenge, vectors, resync); --realm R sets the\n"
	    "                     Destination-Realm (default bench.akavs). --op register:\n"
	    "                     a registration as an S-CSCF runs it, MAR then SAR\n"
	    "                     (REGISTRATION the first time in the run, then\n"
	    "                     RE_REGISTRATION); reports registrations/s, MAR/s, SAR/s\n"
	    "  --deregister       with --op register: after each registration the UE\n"
	    "                     de-registers (SAR USER_DEREGISTRATION), so every\n"
	    "                     registration is a first one that the server must store\n"
	    "                     (a storm after a mass de-registration)\n"
	    "  --echo             the target is `akavs-bench echo` (no --subs needed)\n"
	    "  --req-size B --reply-size B   echo message sizes (default 300 / 400)\n"
	    "  --sweep D1,D2,...  run once per depth; with --sweep-out FILE write\n"
	    "                     'depth requests_per_s p99_us' lines for `plan --plot`\n"
	    "  --cpu N            pin client threads from CPU N on\n"
	    "  --tls-ca FILE      TLS (docs/TLS.md) on every connection; the server's\n"
	    "                     certificate must chain to FILE and hold the --connect\n"
	    "                     address. --tls-cert F --tls-key F: our certificate\n"
	    "  --json             one JSON object on stdout\n");
}

static int
parse_op(const char *s, enum load_op *op)
{
	for (int i = 0; i < LOAD_OP_NUM; i++)
		if (!strcmp(s, op_names[i])) {
			*op = (enum load_op)i;
			return 0;
		}
	return -1;
}

static int
parse_opts(int argc, char **argv, struct load_opts *o)
{
	static const char *const numeric[] = {"--conns",    "--depth",	    "--seconds",
					      "--threads",  "--n",	    "--zipf",
					      "--req-size", "--reply-size", "--cpu"};

	memset(o, 0, sizeof(*o));
	o->cfg.conns = 16;
	o->cfg.depth = 32;
	o->cfg.seconds = 5;
	o->cfg.threads = 1;
	o->cfg.nvec = 5;
	o->cfg.check = 1;
	o->cfg.req_size = 300;
	o->cfg.reply_size = 400;
	o->cfg.cpu = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int is_num = 0;

		for (size_t k = 0; k < sizeof(numeric) / sizeof(numeric[0]); k++)
			is_num |= !strcmp(a, numeric[k]);
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--json")) {
			o->json = 1;
		} else if (!strcmp(a, "--vs-echo")) {
			o->vs_echo = 1;
		} else if (!strcmp(a, "--echo")) {
			o->echo_target = 1;
		} else if (!strcmp(a, "--diameter")) {
			o->diameter = 1;
		} else if (!strcmp(a, "--www")) {
			o->cfg.www = 1;
		} else if (!strcmp(a, "--touch-all")) {
			o->cfg.touch_all = 1;
		} else if (!strcmp(a, "--deregister")) {
			o->cfg.deregister = 1;
		} else if (i + 1 < argc && !strcmp(a, "--realm")) {
			o->cfg.dia_realm = argv[++i];
		} else if (!strcmp(a, "--no-check")) {
			o->cfg.check = 0;
		} else if (i + 1 < argc && !strcmp(a, "--connect")) {
			o->connect = argv[++i];
		} else if (i + 1 < argc && !strcmp(a, "--tls-ca")) {
			o->tls.ca = argv[++i];
		} else if (i + 1 < argc && !strcmp(a, "--tls-cert")) {
			o->tls.cert = argv[++i];
		} else if (i + 1 < argc && !strcmp(a, "--tls-key")) {
			o->tls.key = argv[++i];
		} else if (i + 1 < argc && !strcmp(a, "--subs")) {
			o->subs_path = argv[++i];
		} else if (i + 1 < argc && !strcmp(a, "--sweep")) {
			o->sweep = argv[++i];
		} else if (i + 1 < argc && !strcmp(a, "--sweep-out")) {
			o->sweep_out = argv[++i];
		} else if (i + 1 < argc && !strcmp(a, "--op")) {
			if (parse_op(argv[++i], &o->cfg.op)) {
				fprintf(stderr, "load: unknown --op '%s'\n", argv[i]);
				return -1;
			}
		} else if (i + 1 < argc && is_num) {
			double v;

			if (akv_bench_parse_num(argv[++i], &v)) {
				fprintf(stderr, "load: bad value '%s' for %s\n", argv[i], a);
				return -1;
			}
			if (!strcmp(a, "--conns") && v >= 1 && v <= 65536)
				o->cfg.conns = (unsigned)v;
			else if (!strcmp(a, "--depth") && v >= 1 && v <= 4096)
				o->cfg.depth = (unsigned)v;
			else if (!strcmp(a, "--seconds") && v >= 0.05 && v <= 86400)
				o->cfg.seconds = v;
			else if (!strcmp(a, "--threads") && v >= 1 && v <= 64)
				o->cfg.threads = (unsigned)v;
			else if (!strcmp(a, "--n") && v >= 1 && v <= 32)
				o->cfg.nvec = (unsigned)v;
			else if (!strcmp(a, "--zipf") && v >= 0 && v <= 10)
				o->cfg.zipf = v;
			else if (!strcmp(a, "--req-size") && v >= AKV_ECHO_REQ_MIN &&
				 v <= AKV_ECHO_FRAME_MAX)
				o->cfg.req_size = (unsigned)v;
			else if (!strcmp(a, "--reply-size") && v >= AKV_ECHO_HDR_LEN &&
				 v <= AKV_ECHO_FRAME_MAX)
				o->cfg.reply_size = (unsigned)v;
			else if (!strcmp(a, "--cpu") && v < 4096)
				o->cfg.cpu = (int)v;
			else {
				fprintf(stderr, "load: %s %s out of range\n", a, argv[i]);
				return -1;
			}
		} else {
			fprintf(stderr, "load: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return -1;
		}
	}
	if (!o->connect || (!o->subs_path && !o->echo_target)) {
		fprintf(stderr, "load: --connect and --subs (or --echo) are required\n");
		usage(stderr);
		return -1;
	}
	if (akv_bench_parse_hostport(o->connect, &o->cfg.addr)) {
		fprintf(stderr, "load: bad --connect '%s' (want IPv4:PORT)\n", o->connect);
		return -1;
	}
	if (o->diameter && o->cfg.op != LOAD_OP_CHALLENGE && o->cfg.op != LOAD_OP_VECTORS &&
	    o->cfg.op != LOAD_OP_RESYNC && o->cfg.op != LOAD_OP_REGISTER) {
		/* Cx has no verify: the S-CSCF compares RES with the XRES it got */
		fprintf(stderr,
			"load: --diameter supports --op challenge, vectors, resync, register\n");
		return -1;
	}
	if (!o->diameter && o->cfg.op == LOAD_OP_REGISTER) {
		fprintf(stderr, "load: --op register is a Cx registration: it needs --diameter\n");
		return -1;
	}
	if (o->cfg.deregister && o->cfg.op != LOAD_OP_REGISTER) {
		fprintf(stderr, "load: --deregister belongs to --op register\n");
		return -1;
	}
	if (o->diameter && o->echo_target) {
		fprintf(stderr, "load: --diameter and --echo exclude each other\n");
		return -1;
	}
	if (!o->tls.ca && (o->tls.cert || o->tls.key)) {
		fprintf(stderr, "load: --tls-cert/--tls-key need --tls-ca (the server's "
				"certificate is always verified)\n");
		return -1;
	}
	if (!o->tls.cert != !o->tls.key) {
		fprintf(stderr, "load: --tls-cert and --tls-key go together\n");
		return -1;
	}
	if (o->tls.ca && (o->echo_target || o->vs_echo)) {
		/* the echo baseline is plain TCP: compare a TLS run with a plain one */
		fprintf(stderr, "load: --tls-ca excludes --echo and --vs-echo\n");
		return -1;
	}
	if (o->cfg.threads > o->cfg.conns)
		o->cfg.threads = o->cfg.conns;
	return 0;
}

static double
us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void
json_result(FILE *f, const struct load_result *r)
{
	fprintf(
	    f,
	    "\"seconds\":%.3f,\"requests\":%llu,\"requests_per_s\":%.0f,"
	    "\"transactions_per_s\":%.0f,\"vectors_per_s\":%.0f,\"errors\":%llu,"
	    "\"error_detail\":{\"error_answers\":%llu,\"bad_vectors\":%llu,"
	    "\"bad_verdicts\":%llu,\"protocol\":%llu,\"conns_lost\":%llu},"
	    "\"latency_us\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"mean\":%.1f,\"max\":%.1f}",
	    r->seconds, (unsigned long long)r->c.requests, r->requests_per_s,
	    r->seconds > 0 ? (double)r->c.transactions / r->seconds : 0, r->vectors_per_s,
	    (unsigned long long)r->errors, (unsigned long long)r->c.err_answers,
	    (unsigned long long)r->c.err_check, (unsigned long long)r->c.err_verdict,
	    (unsigned long long)r->c.err_proto, (unsigned long long)r->c.conn_lost,
	    us(akv_hist_quantile(&r->hist, 0.5)), us(akv_hist_quantile(&r->hist, 0.99)),
	    us(akv_hist_quantile(&r->hist, 0.999)), akv_hist_mean(&r->hist) / 1000.0,
	    us(r->hist.max));
}

static void
print_result(const char *what, const struct load_result *r)
{
	printf("%-7s %12.0f req/s %12.0f vectors/s  p50 %7.1f us  p99 %7.1f us  p99.9 %7.1f us"
	       "  errors %llu\n",
	       what, r->requests_per_s, r->vectors_per_s, us(akv_hist_quantile(&r->hist, 0.5)),
	       us(akv_hist_quantile(&r->hist, 0.99)), us(akv_hist_quantile(&r->hist, 0.999)),
	       (unsigned long long)r->errors);
	if (r->errors)
		printf("        errors: %llu error answers, %llu bad vectors, %llu bad verdicts, "
		       "%llu protocol, %llu connections lost\n",
		       (unsigned long long)r->c.err_answers, (unsigned long long)r->c.err_check,
		       (unsigned long long)r->c.err_verdict, (unsigned long long)r->c.err_proto,
		       (unsigned long long)r->c.conn_lost);
}

/* The echo baseline at the message sizes of the AVS/1 run. */
static int
run_echo_baseline(const struct load_opts *o, struct load_result *er, unsigned *req, unsigned *rep)
{
	struct akv_echo_cfg ecfg = {.threads = 1, .max_conns = o->cfg.conns + 16, .cpu = -1};
	struct load_cfg cfg = o->cfg;
	struct akv_echo_stats st;
	struct akv_echo *e;
	uint16_t port;
	int rc;

	if ((o->diameter ? load_dia_sizes : load_avs1_sizes)(&cfg, req, rep))
		return -1;
	cfg.req_size = *req;
	cfg.reply_size = *rep;
	cfg.subs = NULL;
	akv_bench_parse_hostport("127.0.0.1:0", &ecfg.addr);
	rc = akv_echo_start(&ecfg, &e, &port);
	if (rc) {
		fprintf(stderr, "load: cannot start the echo baseline: %s\n",
			rc > -4096 ? strerror(-rc) : "error");
		return -1;
	}
	cfg.addr = ecfg.addr;
	cfg.addr.sin_port = htons(port);
	rc = load_run(&cfg, &load_proto_echo, er);
	akv_echo_stop(e, &st);
	return rc;
}

static int
run_sweep(struct load_opts *o, const struct load_proto *proto)
{
	FILE *out = o->sweep_out ? fopen(o->sweep_out, "w") : NULL;
	char *list = akv_strndup(o->sweep, strlen(o->sweep)), *save = NULL;
	int rc = 0, n = 0;

	if (o->sweep_out && !out) {
		fprintf(stderr, "load: %s: %s\n", o->sweep_out, strerror(errno));
		akv_free(list);
		return 1;
	}
	if (out)
		fprintf(out, "# depth conns requests_per_s p50_us p99_us p999_us (akavs-bench load "
			     "--sweep)\n");
	if (o->json)
		printf("{\"sweep\":[");
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct load_result r;
		double d;

		if (akv_bench_parse_num(tok, &d) || d < 1 || d > 4096) {
			fprintf(stderr, "load: bad depth '%s' in --sweep\n", tok);
			rc = 1;
			break;
		}
		o->cfg.depth = (unsigned)d;
		if (load_run(&o->cfg, proto, &r)) {
			rc = 1;
			break;
		}
		if (out)
			fprintf(out, "%u %u %.0f %.1f %.1f %.1f\n", o->cfg.depth, o->cfg.conns,
				r.requests_per_s, us(akv_hist_quantile(&r.hist, 0.5)),
				us(akv_hist_quantile(&r.hist, 0.99)),
				us(akv_hist_quantile(&r.hist, 0.999)));
		if (o->json) {
			printf("%s{\"depth\":%u,\"conns\":%u,", n ? "," : "", o->cfg.depth,
			       o->cfg.conns);
			json_result(stdout, &r);
			printf("}");
		} else {
			char what[16];

			snprintf(what, sizeof(what), "d=%u", o->cfg.depth);
			print_result(what, &r);
		}
		n++;
	}
	if (o->json)
		printf("]}\n");
	if (out)
		fclose(out);
	akv_free(list);
	return rc;
}

/* see bench.h */
int
akv_bench_load(int argc, char **argv)
{
	struct load_opts o;
	struct load_subs subs = {0};
	struct load_result er, r;
	const struct load_proto *proto;
	unsigned req = 0, rep = 0;
	int rc = 1, have_echo = 0;

	if (parse_opts(argc, argv, &o))
		return 2;
	akv_crypto_init();
	if (o.subs_path) {
		if (load_subs_read(o.subs_path, &subs))
			return 1;
		o.cfg.subs = &subs;
	}
	proto = o.echo_target ? &load_proto_echo : o.diameter ? &load_proto_dia : &load_proto_avs1;
	if (o.tls.ca) {
		char why[256];

		if (akv_client_tls_ctx_new(&o.tls, &o.cfg.tls_ctx, why, sizeof(why))) {
			fprintf(stderr, "load: TLS: %s\n", why);
			goto out;
		}
		snprintf(o.cfg.tls_host, sizeof(o.cfg.tls_host), "%s",
			 inet_ntoa(o.cfg.addr.sin_addr));
	}
	if (o.echo_target)
		o.cfg.check = 0; /* echo answers carry no vectors: only their size is checked */
	/* schedules only for what checks vectors with a kernel that reads them */
	if (o.subs_path && o.cfg.check && akv_mil_best() != akv_mil_ref_get())
		load_subs_expand(&subs);
	if (o.sweep) {
		rc = run_sweep(&o, proto);
		goto out;
	}
	if (o.vs_echo && !o.echo_target) {
		if (run_echo_baseline(&o, &er, &req, &rep))
			goto out;
		have_echo = 1;
	}
	if (load_run(&o.cfg, proto, &r))
		goto out;
	if (o.json) {
		printf("{\"target\":\"%s\",\"connect\":", proto->name);
		akv_bench_json_str(stdout, o.connect);
		printf(
		    ",\"op\":\"%s\",\"conns\":%u,\"depth\":%u,\"threads\":%u,\"subscribers\":%zu,"
		    "\"zipf\":%g,\"checked\":%s,\"www\":%s,\"deregister\":%s,\"tls\":%s,",
		    o.echo_target ? "echo" : op_names[o.cfg.op], o.cfg.conns, o.cfg.depth,
		    o.cfg.threads, subs.n, o.cfg.zipf, o.cfg.check ? "true" : "false",
		    o.cfg.www ? "true" : "false", o.cfg.deregister ? "true" : "false",
		    o.cfg.tls_ctx ? "true" : "false");
		if (o.echo_target)
			printf("\"request_bytes\":%u,\"reply_bytes\":%u,", o.cfg.req_size,
			       o.cfg.reply_size);
		json_result(stdout, &r);
		if (o.cfg.op == LOAD_OP_REGISTER)
			load_dia_report(stdout, &r, 1);
		if (have_echo) {
			printf(",\"echo\":{\"request_bytes\":%u,\"reply_bytes\":%u,", req, rep);
			json_result(stdout, &er);
			printf("},\"pct_of_echo\":%.1f,\"p50_minus_echo_us\":%.1f",
			       er.requests_per_s > 0 ? 100 * r.requests_per_s / er.requests_per_s
						     : 0,
			       us(akv_hist_quantile(&r.hist, 0.5)) -
				   us(akv_hist_quantile(&er.hist, 0.5)));
		}
		printf("}\n");
	} else if (o.echo_target) {
		printf("load: echo at %s, %u B requests / %u B answers, %u conns x %u in flight, "
		       "%u thread(s), %.1f s\n",
		       o.connect, o.cfg.req_size, o.cfg.reply_size, o.cfg.conns, o.cfg.depth,
		       o.cfg.threads, r.seconds);
		print_result(proto->name, &r);
	} else {
		printf("load: %s%s at %s, op %s, %u conns x %u in flight, %u thread(s), %.1f s, "
		       "%zu subscribers%s\n",
		       proto->name, o.cfg.tls_ctx ? " over TLS" : "", o.connect, op_names[o.cfg.op],
		       o.cfg.conns, o.cfg.depth, o.cfg.threads, r.seconds, subs.n,
		       o.cfg.check ? ", every vector checked" : "");
		if (have_echo) {
			printf("echo baseline at the same sizes (%u B requests, %u B answers):\n",
			       req, rep);
			print_result("echo", &er);
		}
		print_result(proto->name, &r);
		if (o.cfg.op == LOAD_OP_REGISTER)
			load_dia_report(stdout, &r, 0);
		if (have_echo && er.requests_per_s > 0)
			printf("akavs (%s) = %.1f%% of the echo baseline's request rate; p50 %+.1f "
			       "us\n",
			       proto->name, 100 * r.requests_per_s / er.requests_per_s,
			       us(akv_hist_quantile(&r.hist, 0.5)) -
				   us(akv_hist_quantile(&er.hist, 0.5)));
	}
	rc = 0;
out:
	SSL_CTX_free(o.cfg.tls_ctx);
	load_subs_free(&subs);
	return rc;
}
