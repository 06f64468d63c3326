/*
 * fe_setup.c - creating, configuring and freeing the io_uring front end
 * (fe.h); the loop and the per-request paths are in fe.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <liburing.h>

#include "fe_int.h"
#include "listen.h"
#include "mem.h"
#include "tls.h"

static int
bufring_init(struct akv_fe *fe)
{
	struct io_uring_buf_reg reg = {0};
	int r;

	fe->nbufs = fe->cfg->rx_buffers;
	/* liburing 2.3 has no io_uring_setup_buf_ring: map the ring ourselves */
	fe->br_size = fe->nbufs * sizeof(struct io_uring_buf);
	fe->br =
	    mmap(NULL, fe->br_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (fe->br == MAP_FAILED) {
		fe->br = NULL;
		return -errno;
	}
	reg.ring_addr = (uint64_t)(uintptr_t)fe->br;
	reg.ring_entries = fe->nbufs;
	reg.bgid = BGID;
	r = io_uring_register_buf_ring(&fe->ring, &reg, 0);
	if (r)
		return r;
	/* touched in turn by the kernel and this thread for every request,
	 * 8 MiB by default: with 4 KiB pages they also missed the TLB */
	fe->bufs = akv_malloc_huge((size_t)fe->nbufs * AKV_FE_BUF_SIZE);
	fe->held_next = akv_calloc(fe->nbufs, sizeof(*fe->held_next));
	fe->held_len = akv_calloc(fe->nbufs, sizeof(*fe->held_len));
	io_uring_buf_ring_init(fe->br);
	for (unsigned i = 0; i < fe->nbufs; i++)
		io_uring_buf_ring_add(fe->br, fe->bufs + (size_t)i * AKV_FE_BUF_SIZE,
				      AKV_FE_BUF_SIZE, (unsigned short)i,
				      io_uring_buf_ring_mask(fe->nbufs), (int)i);
	io_uring_buf_ring_advance(fe->br, (int)fe->nbufs);
	return 0;
}

/* Once per slot: the pointers into the slot never change, so the lines
 * that hold them are never written again and stay shared by both cores. */
static void
slot_init(struct akv_fe_slot *s)
{
	s->req.vec = s->vec;
	s->req.digest = &s->digest;
	s->req.cx = &s->cx;
	s->ps = (struct akv_proto_slot){&s->req, s->vec, &s->digest, &s->cx, s->ctx};
}

/* see fe.h */
size_t
akv_fe_ring_cap(const struct akv_cfg *cfg)
{
	size_t cap = 2;

	while (cap < cfg->max_inflight)
		cap <<= 1;
	return cap;
}

static int
ring_init(struct akv_fe *fe)
{
	struct io_uring_params p = {0};
	int r;

	/* TASKRUN_FLAG: liburing then enters the kernel to run deferred
	 * completions even when it has nothing to submit and does not wait */
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		  IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_CQSIZE;
	p.cq_entries = RING_ENTRIES * 4;
	r = io_uring_queue_init_params(RING_ENTRIES, &fe->ring, &p);
	if (r == -EINVAL) {
		/* kernels before 6.1: the same loop works without these flags */
		p = (struct io_uring_params){.flags = IORING_SETUP_CQSIZE,
					     .cq_entries = RING_ENTRIES * 4};
		r = io_uring_queue_init_params(RING_ENTRIES, &fe->ring, &p);
	}
	if (r)
		return r;
	io_uring_register_ring_fd(&fe->ring);
	return 0;
}

/* see fe.h */
struct akv_fe *
akv_fe_new(const struct akv_cfg *cfg, int *err, char *errbuf, size_t errcap)
{
	struct akv_fe *fe = akv_calloc(1, sizeof(*fe));
	int r;

	fe->cfg = cfg;
	fe->dirty_head = fe->starved_head = fe->starved_tail = AKV_CONN_NONE;
	r = akv_spsc_wake_init(&fe->wake);
	if (r) {
		snprintf(errbuf, errcap, "eventfd: %s", strerror(-r));
		akv_free(fe);
		*err = r;
		return NULL;
	}
	r = ring_init(fe);
	if (r) {
		snprintf(errbuf, errcap, "io_uring setup: %s", strerror(-r));
		goto fail_ring;
	}
	r = bufring_init(fe);
	if (r) {
		snprintf(errbuf, errcap, "io_uring provided buffers: %s", strerror(-r));
		goto fail;
	}
	fe->conns = akv_calloc(cfg->max_conns, sizeof(*fe->conns));
	for (unsigned i = 0; i < cfg->max_conns; i++) {
		fe->conns[i].idx = i;
		fe->conns[i].fd = -1;
		fe->conns[i].held_head = fe->conns[i].held_tail = -1;
		fe->conns[i].next = i + 1 < cfg->max_conns ? i + 1 : AKV_CONN_NONE;
	}
	fe->free_conn = 0;
	fe->nslots = cfg->max_inflight;
	/* touched at random by this thread and the workers, 17 MiB at
	 * max_inflight 2048 (the STLB's 2048 entries cover 8 MiB of 4 KiB pages) */
	fe->slots = akv_malloc_huge((size_t)fe->nslots * sizeof(*fe->slots));
	memset(fe->slots, 0, (size_t)fe->nslots * sizeof(*fe->slots));
	fe->free_stk = akv_calloc(fe->nslots, sizeof(*fe->free_stk));
	for (unsigned i = fe->nslots; i-- > 0;) { /* slots[0] on top */
		slot_init(&fe->slots[i]);
		slot_put(fe, &fe->slots[i]);
	}
	return fe;
fail:
	io_uring_queue_exit(&fe->ring);
fail_ring:
	if (fe->br)
		munmap(fe->br, fe->br_size);
	akv_spsc_wake_fini(&fe->wake);
	akv_free(fe->bufs);
	akv_free(fe->held_next);
	akv_free(fe->held_len);
	akv_free(fe);
	*err = r;
	return NULL;
}

/* see fe.h */
int
akv_fe_listen(struct akv_fe *fe, const char *addr, const struct akv_proto_ops *ops, char *bound,
	      size_t boundcap, char *errbuf, size_t errcap)
{
	return akv_fe_listen_tls(fe, addr, ops, NULL, bound, boundcap, errbuf, errcap);
}

/* see fe.h */
int
akv_fe_listen_tls(struct akv_fe *fe, const char *addr, const struct akv_proto_ops *ops,
		  struct akv_tls *tls, char *bound, size_t boundcap, char *errbuf, size_t errcap)
{
	struct fe_listener *l;
	int fd;

	if (fe->nlis >= AKV_FE_LISTENERS_MAX) {
		snprintf(errbuf, errcap, "listen %s: more than %d listeners", addr,
			 AKV_FE_LISTENERS_MAX);
		return AKV_ELIMIT;
	}
	fd = akv_listen_open(addr, 1024, bound, boundcap, errbuf, errcap);
	if (fd < 0)
		return fd;
	/* every conn gets room for the largest protocol state in use */
	if (ops->conn_state_size > fe->pst_size) {
		fe->pst_size = ops->conn_state_size;
		akv_free(fe->pst_mem);
		fe->pst_mem = akv_calloc(fe->cfg->max_conns, fe->pst_size);
		for (unsigned i = 0; i < fe->cfg->max_conns; i++)
			fe->conns[i].pst = fe->pst_mem + (size_t)i * fe->pst_size;
	}
	l = &fe->lis[fe->nlis++];
	l->fd = fd;
	l->ops = ops;
	l->tls = tls;
	snprintf(l->addr, sizeof(l->addr), "%s", bound);
	return 0;
}

/* see fe.h */
struct akv_spsc_wake *
akv_fe_wake(struct akv_fe *fe)
{
	return &fe->wake;
}

/* see fe.h */
void
akv_fe_set_workers(struct akv_fe *fe, struct akv_wrk *const *wrk, unsigned nshards,
		   int with_registrar)
{
	unsigned n = nshards + (with_registrar ? 1 : 0);

	fe->wrk = wrk;
	fe->nwrk = n;
	fe->nshard = nshards;
	fe->stage = akv_calloc((size_t)n * STAGE_MAX, sizeof(void *));
#ifdef AKV_PASS_THROUGH_ENGINE
	fe->pass_fe = getenv("AKAVS_PASS_THROUGH_FE") != NULL;
#endif
	fe->nstage = akv_calloc(n, sizeof(unsigned));
}

/* see fe.h */
void
akv_fe_free(struct akv_fe *fe)
{
	if (!fe)
		return;
	for (unsigned i = 0; i < fe->cfg->max_conns; i++) {
		struct akv_conn *c = &fe->conns[i];

		if (c->state != AKV_CONN_DEAD)
			close(c->fd);
		if (c->proto_ready && c->ops->conn_fini)
			c->ops->conn_fini(c->pst);
		akv_conn_bufs_free(c);	/* and the TLS session */
	}
	for (unsigned i = 0; i < fe->nlis; i++)
		if (fe->lis[i].fd >= 0)
			close(fe->lis[i].fd);
	io_uring_unregister_buf_ring(&fe->ring, BGID);
	io_uring_queue_exit(&fe->ring);
	munmap(fe->br, fe->br_size);
	akv_spsc_wake_fini(&fe->wake);
	/* request slots held keys (CK/IK/XRES) of answered requests */
	akv_wipe(fe->slots, (size_t)fe->nslots * sizeof(*fe->slots));
	akv_free(fe->slots);
	akv_free(fe->free_stk);
	akv_free(fe->conns);
	akv_free(fe->pst_mem);
	akv_free(fe->bufs);
	akv_free(fe->held_next);
	akv_free(fe->held_len);
	akv_free(fe->stage);
	akv_free(fe->nstage);
	akv_free(fe);
}

/* see fe.h */
void
akv_fe_stats(const struct akv_fe *fe, struct akv_fe_stats *out)
{
	*out = fe->st;
	out->conns_open = fe->nlive;
}
